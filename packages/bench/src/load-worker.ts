import os from 'node:os';
import autocannon from 'autocannon';
import { runFixedRate, type FixedRateOptions, type FixedRateResult } from './fixed-rate';
import { percentiles, type Percentiles } from './stats';
import { runWrk } from './wrk';

/**
 * Runs one load job in its own process (so the generator's event loop is not shared with the
 * orchestrator) and sends the result back over IPC. Forked by load.ts.
 */
export type ClosedGenerator = 'wrk' | 'autocannon';

export type LoadJob = (
  | { kind: 'closed'; url: string; connections: number; durationMs: number; warmupMs: number; /** default autocannon */ generator?: ClosedGenerator }
  | ({ kind: 'rate'; warmupMs: number } & FixedRateOptions)
) & {
  /** The generator's CPU priority (nice; below 0 needs root): an instrument on the machine it measures should not be starved by it. */
  nice?: number;
};

export interface ClosedResult {
  connections: number;
  durationMs: number;
  requests: number;
  ok: number;
  errors: number;
  non2xx: number;
  rps: number;
  latency: Percentiles;
}

export type LoadResult = ({ kind: 'closed' } & ClosedResult) | ({ kind: 'rate' } & FixedRateResult);

async function closedLoop(url: string, connections: number, durationMs: number, record: boolean): Promise<ClosedResult> {
  const lat: number[] = [];
  const began = performance.now();
  const r = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({ url, connections, pipelining: 1, duration: durationMs / 1000, timeout: 10 }, (err, result) =>
      err ? reject(err) : resolve(result),
    );
    if (record) instance.on('response', (_c, status, _b, ms) => status < 300 && lat.push(ms));
  });
  const elapsed = performance.now() - began;
  const ok = r['2xx'];
  return {
    connections,
    durationMs: elapsed,
    requests: r.requests.total,
    ok,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    // Successful responses over the wall time of the run (autocannon's own figure averages 1-s samples).
    rps: (ok / elapsed) * 1000,
    latency: record ? percentiles(lat) : percentiles([]),
  };
}

async function run(job: LoadJob): Promise<LoadResult> {
  if (job.nice !== undefined) os.setPriority(job.nice);
  if (job.kind === 'closed') {
    const once = (durationMs: number, record: boolean) =>
      job.generator === 'wrk' ? runWrk({ url: job.url, connections: job.connections, durationMs }) : closedLoop(job.url, job.connections, durationMs, record);
    if (job.warmupMs > 0) await once(job.warmupMs, false);
    process.send?.({ phase: 'measure' });
    return { kind: 'closed', ...(await once(job.durationMs, true)) };
  }
  const { warmupMs, kind: _k, nice: _n, ...o } = job;
  if (warmupMs > 0) await runFixedRate({ ...o, durationMs: warmupMs, windowMs: 0 });
  process.send?.({ phase: 'measure' });
  return { kind: 'rate', ...(await runFixedRate(o)) };
}

if (require.main === module) {
  const job = JSON.parse(process.argv[2] ?? '{}') as LoadJob;
  // Stay alive until the parent has read the result (and its CPU meters), then leave.
  process.once('disconnect', () => process.exit(0));
  setTimeout(() => process.exit(0), 60_000 + (job.durationMs ?? 0) + (job.warmupMs ?? 0)).unref();
  run(job).then(
    (r) => process.send!({ ok: true, result: r }),
    (err: Error) => process.send!({ ok: false, error: err.message }),
  );
}
