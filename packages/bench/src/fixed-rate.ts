import http from 'node:http';
import { percentiles, type Percentiles } from './stats';

export interface FixedRateOptions {
  url: string;
  /** Requests per second, on a fixed schedule whatever the latency. */
  rate: number;
  durationMs: number;
  /** Keep-alive connections at most; requests beyond wait in the agent's queue (and that wait counts). */
  connections: number;
  timeoutMs?: number;
  /** Buckets for the latency-over-time series (soak); 0 for none. */
  windowMs?: number;
}

export interface FixedRateResult {
  rate: number;
  durationMs: number;
  scheduled: number;
  sent: number;
  completed: number;
  ok: number;
  errors: number;
  errorCodes: Record<string, number>;
  /** Completed requests per second over the run. */
  achievedRate: number;
  /** Latency from each request's *intended* send time: what a user would see (coordinated-omission aware). */
  latency: Percentiles;
  /** Latency from the moment the generator actually issued the request (its own scheduling lag left out). */
  service: Percentiles;
  /** How late the generator itself sent requests against the schedule. */
  sendLag: Percentiles;
  maxInFlight: number;
  /** False when the generator could not keep its own schedule, so the run does not show the target's latency. */
  keptRate: boolean;
  note?: string;
  windows?: { tMs: number; count: number; errors: number; p50: number; p99: number }[];
}

/**
 * An open-loop generator: request i is due at start + i / rate, and its latency is measured from that
 * due time, so a stall in the target shows up as latency for every request that should have been sent
 * during it (instead of silently not being sent, as in closed-loop tools like autocannon or wrk).
 */
export function runFixedRate(o: FixedRateOptions): Promise<FixedRateResult> {
  const target = new URL(o.url);
  const total = Math.max(1, Math.round((o.rate * o.durationMs) / 1000));
  const interval = 1000 / o.rate;
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections, scheduling: 'lifo' });
  const latency = new Float64Array(total);
  const service = new Float64Array(total);
  const lag = new Float64Array(total);
  const failed = new Uint8Array(total);
  const errorCodes: Record<string, number> = {};
  const timeoutMs = o.timeoutMs ?? 10_000;
  let sent = 0;
  let completed = 0;
  let ok = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const start = performance.now() + 5;

  return new Promise((resolve) => {
    let finished = false;
    let giveUp: NodeJS.Timeout | undefined;
    const finish = () => {
      if (finished) return;
      finished = true;
      if (giveUp) clearTimeout(giveUp);
      agent.destroy();
      // Requests still unanswered when we gave up count as failures at their current latency.
      for (let i = 0; i < sent; i++) {
        if (latency[i] === 0) {
          latency[i] = performance.now() - (start + i * interval);
          failed[i] = 1;
          errorCodes.UNFINISHED = (errorCodes.UNFINISHED ?? 0) + 1;
        }
      }
      const elapsed = performance.now() - start;
      const lagP = percentiles(lag, sent);
      const windows: FixedRateResult['windows'] = [];
      if (o.windowMs) {
        const per = Math.max(1, Math.round((o.windowMs / 1000) * o.rate));
        for (let b = 0; b < completed && b < total; b += per) {
          const end = Math.min(total, b + per);
          const slice = latency.subarray(b, end);
          let errs = 0;
          for (let i = b; i < end; i++) errs += failed[i];
          const p = percentiles(slice);
          windows.push({ tMs: Math.round(b * interval), count: end - b, errors: errs, p50: p.p50, p99: p.p99 });
        }
      }
      const keptRate = sent === total && lagP.p99 <= 5 && lagP.p50 <= 2;
      resolve({
        rate: o.rate,
        durationMs: o.durationMs,
        scheduled: total,
        sent,
        completed,
        ok,
        errors: completed - ok + (sent - completed),
        errorCodes,
        achievedRate: (completed / Math.max(elapsed, o.durationMs)) * 1000,
        latency: percentiles(latency, sent),
        service: percentiles(service, sent),
        sendLag: lagP,
        maxInFlight,
        keptRate,
        note: keptRate ? undefined : `generator lagged its schedule: send lag p50 ${lagP.p50.toFixed(2)} ms, p99 ${lagP.p99.toFixed(2)} ms, sent ${sent}/${total}`,
        windows: o.windowMs ? windows : undefined,
      });
    };

    const done = (i: number, sentAt: number, status: number, code?: string) => {
      if (latency[i] !== 0) return;
      const now = performance.now();
      latency[i] = Math.max(1e-6, now - (start + i * interval));
      service[i] = now - sentAt;
      inFlight--;
      completed++;
      if (status >= 200 && status < 400) ok++;
      else {
        failed[i] = 1;
        const k = code ?? String(status);
        errorCodes[k] = (errorCodes[k] ?? 0) + 1;
      }
      if (completed === total) finish();
    };

    const send = (i: number) => {
      const sentAt = performance.now();
      lag[i] = Math.max(0, sentAt - (start + i * interval));
      sent++;
      inFlight++;
      if (inFlight > maxInFlight) maxInFlight = inFlight;
      const req = http.request({ host: target.hostname, port: target.port, path: target.pathname + target.search, agent }, (res) => {
        res.on('data', noop);
        res.on('end', () => done(i, sentAt, res.statusCode ?? 0));
        res.on('error', (err: NodeJS.ErrnoException) => done(i, sentAt, 0, err.code ?? 'ERR'));
      });
      req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      req.on('error', (err: NodeJS.ErrnoException) => done(i, sentAt, 0, err.code ?? 'ERR'));
      req.end();
    };

    let next = 0;
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor((now - start) / interval) + 1);
      while (next < due) send(next++);
      if (next < total) {
        const wait = start + next * interval - performance.now();
        setTimeout(tick, Math.max(0, Math.floor(wait)));
      } else {
        giveUp = setTimeout(finish, timeoutMs + 1000);
      }
    };
    setTimeout(tick, 5);
  });
}

function noop(): void {}
