import type { LbConfig } from '../config/lb-config';
import type { CheckResult } from '../pool/upstream';
import type { PoolState } from '../pool/upstream-pool';

/**
 * The messages between the primary (health checks, admin API, the one source of routing state) and
 * its cluster workers (the proxy). Routing state always travels whole, so a worker that missed
 * nothing and one that just started end up the same; IPC keeps messages in order, so a query sent
 * after a state change is answered after the worker has applied it (what a drain relies on).
 */
export type ToWorker =
  | { t: 'init'; config: LbConfig; state: PoolState; worker: number }
  | { t: 'state'; state: PoolState }
  | { t: 'query'; id: number; what: 'stats' }
  | { t: 'stop'; timeoutMs: number }
  /** A drain: close the upstream's long-lived connections after the grace period; answer how many. */
  | { t: 'closeLongLived'; id: number; name: string; graceMs: number };

export type FromWorker =
  | { t: 'ready'; port: number }
  | { t: 'failed'; message: string }
  | { t: 'passive'; name: string; result: CheckResult }
  | { t: 'passive-ok'; name: string }
  | { t: 'reply'; id: number; stats: WorkerStats }
  | { t: 'longLivedClosed'; id: number; closed: number; cut: number };

/** One upstream's counters in one worker. */
export interface UpstreamCounters {
  inFlight: number;
  requests: number;
  failures: number;
  retries: number;
  byClass: number[];
  buckets: number[];
  sum: number;
  count: number;
}

export interface WorkerStats {
  noUpstream: number;
  /** LbMetrics.ownByClass: the balancer's own answers and early client aborts. */
  own?: number[];
  /** Request-body bytes buffered for retries right now. */
  buffered?: number;
  upstreams: Record<string, UpstreamCounters>;
}

export function emptyCounters(classes: number, buckets: number): UpstreamCounters {
  return { inFlight: 0, requests: 0, failures: 0, retries: 0, byClass: new Array(classes).fill(0), buckets: new Array(buckets).fill(0), sum: 0, count: 0 };
}

/** Adds `b` into `a` (element-wise for the arrays). */
export function addCounters(a: UpstreamCounters, b: UpstreamCounters): void {
  a.inFlight += b.inFlight;
  a.requests += b.requests;
  a.failures += b.failures;
  a.retries += b.retries;
  a.sum += b.sum;
  a.count += b.count;
  b.byClass.forEach((v, i) => (a.byClass[i] = (a.byClass[i] ?? 0) + v));
  b.buckets.forEach((v, i) => (a.buckets[i] = (a.buckets[i] ?? 0) + v));
}

/** Sums several workers' stats into one. */
export function sumStats(all: readonly WorkerStats[]): WorkerStats {
  const out: WorkerStats = { noUpstream: 0, upstreams: {} };
  for (const s of all) {
    out.noUpstream += s.noUpstream;
    out.buffered = (out.buffered ?? 0) + (s.buffered ?? 0);
    if (s.own) {
      const own = (out.own ??= new Array(s.own.length).fill(0));
      s.own.forEach((v, i) => (own[i] = (own[i] ?? 0) + v));
    }
    for (const [name, c] of Object.entries(s.upstreams)) {
      const acc = (out.upstreams[name] ??= emptyCounters(c.byClass.length, c.buckets.length));
      addCounters(acc, c);
    }
  }
  return out;
}
