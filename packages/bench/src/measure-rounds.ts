import type { BenchArgs } from './bench-args';
import { elapsedS, int, ms, say } from './bench-log';
import type { RunRecord } from './bench-summary';
import type { GeneratorInfo } from './generator-choice';
import { processTree, rssMiB } from './procs';
import { runLoad } from './run-load';
import { round } from './stats';
import type { Target } from './targets';

/** The balancer's RSS over the rounds (for the memory figures) and each target's peak. */
export interface RoundsOutcome {
  runs: RunRecord[];
  lbRss: { tS: number; mib: number; phase: string }[];
  lbRssIdleStart: number;
  lbRssAfterRounds: number;
}

/**
 * The throughput and latency rounds: every target in turn, a closed loop then a fixed rate, with
 * the order rotated each round so no target always runs first (or right after a heavy one).
 */
export async function measureRounds(args: BenchArgs, generator: GeneratorInfo, targets: Target[]): Promise<RoundsOutcome> {
  const lb = targets.find((t) => t.id === 'lb');
  const lbRss: { tS: number; mib: number; phase: string }[] = [];
  const peakRss = new Map<string, number>();
  let current: Target | undefined;
  let phase = 'idle';
  const sampleRss = () => {
    if (lb) lbRss.push({ tS: round(elapsedS(), 1), mib: round(rssMiB([lb.pid]), 1), phase: current?.id === 'lb' ? phase : 'idle' });
    if (current) peakRss.set(current.id, Math.max(peakRss.get(current.id) ?? 0, rssMiB(processTree(current.pid))));
  };
  sampleRss();
  const lbRssIdleStart = lbRss[0]?.mib ?? NaN;
  const sampler = setInterval(sampleRss, 1000);

  // ---- rounds ---------------------------------------------------------------------------------
  const runs: RunRecord[] = [];
  const durMs = args.durationS * 1000;
  for (let r = 1; r <= args.rounds; r++) {
    // Everything is warm after round 1: a short warm-up re-opens connections and settles the JIT.
    const warmMs = (r === 1 ? args.warmupS : Math.min(args.warmupS, 0.3)) * 1000;
    // Rotate the order each round, so no target always runs first (or right after a heavy one).
    const order = targets.map((_, i) => targets[(i + r - 1) % targets.length]);
    for (const t of order) {
      current = t;
      const rec: RunRecord = { round: r, target: t.id };
      phase = 'closed';
      const c = await runLoad(t, { kind: 'closed', url: t.url, connections: args.connections, durationMs: durMs, warmupMs: warmMs, generator: generator.closed }, durMs + warmMs + 60_000);
      sampleRss();
      if (c.result.kind === 'closed') {
        rec.closed = { ...c.result, cpuPct: c.cpuPct, usPerReq: ((c.cpuPct / 100) * 1e6) / c.result.rps, foreignCpuPct: c.foreignCpuPct, rssMiB: round(peakRss.get(t.id) ?? NaN, 1) };
      }
      phase = 'rate';
      // The closed loop just warmed this target up: the fixed-rate run only needs its connections.
      const rateWarmMs = Math.min(warmMs, 300);
      const f = await runLoad(t, { kind: 'rate', url: t.url, rate: args.rate, connections: 64, durationMs: durMs, warmupMs: rateWarmMs, timeoutMs: 10_000 }, durMs + rateWarmMs + 60_000);
      if (f.result.kind === 'rate') rec.rate = { ...f.result, cpuPct: f.cpuPct, foreignCpuPct: f.foreignCpuPct };
      current = undefined;
      runs.push(rec);
      const cl = rec.closed;
      const ra = rec.rate;
      say(
        `round ${r}/${args.rounds} ${t.id.padEnd(12)} ${args.connections} conn: ${int(cl?.rps ?? NaN).padStart(6)} req/s, p99 ${ms(cl?.latency.p99 ?? NaN).padStart(5)} ms, CPU ${int(cl?.cpuPct ?? NaN).padStart(3)}%, ${int(cl?.usPerReq ?? NaN).padStart(4)} µs/req` +
          ` | ${args.rate}/s: p99 ${ms(ra?.latency.p99 ?? NaN).padStart(5)} ms, p99.9 ${ms(ra?.latency.p999 ?? NaN).padStart(5)} ms` +
          `${(cl?.errors ?? 0) + (cl?.non2xx ?? 0) + (ra?.errors ?? 0) > 0 ? `, ERRORS ${(cl?.errors ?? 0) + (cl?.non2xx ?? 0)}/${ra?.errors ?? 0}` : ''}` +
          `${ra && !ra.keptRate ? ' (generator lagged)' : ''}${(cl?.foreignCpuPct ?? 0) > 25 ? ` (others used ${int(cl!.foreignCpuPct)}% CPU)` : ''}`,
      );
    }
  }
  const lbRssAfterRounds = lb ? round(rssMiB([lb.pid]), 1) : NaN;
  clearInterval(sampler);
  return { runs, lbRss, lbRssIdleStart, lbRssAfterRounds };
}
