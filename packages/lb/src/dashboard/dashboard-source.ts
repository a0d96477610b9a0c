import type { SplitEntry } from '../balancing/traffic-split';
import type { LoadBalancer } from '../lb-server';

/** What the dashboard reads of one upstream: the counters the request path already keeps. */
export interface DashboardUpstream {
  readonly name: string;
  readonly url: string;
  readonly version: string | undefined;
  readonly group: string;
  readonly weight: number;
  readonly state: string;
  readonly inFlight: number;
  /** Requests that could not reach it (refused, reset, timed out), retried or not. */
  readonly failures: number;
  /** The last health check's result; a new object per check, so a new reference means a new check. */
  readonly lastCheck: { readonly ok: boolean; readonly reason: string };
  /** Requests by status class (1xx, 2xx, 3xx, 4xx, 5xx, aborted) and retries, as in /metrics. */
  readonly stats: { readonly byClass: ArrayLike<number>; readonly retries: number };
}

/** The dashboard's narrow view of the balancer (read-only: nothing here changes routing). */
export interface DashboardSource {
  upstreams(): readonly DashboardUpstream[];
  split(): readonly SplitEntry[] | undefined;
  /** Requests answered 503 by the balancer itself because nothing was in rotation. */
  noUpstream(): number;
  /** Brings the counters up to date (cluster mode: sums the workers' counters in the primary). */
  refresh(): Promise<void>;
}

export function lbDashboardSource(lb: LoadBalancer): DashboardSource {
  return {
    upstreams: () => lb.pool.all(),
    split: () => lb.pool.split,
    noUpstream: () => lb.metrics.noUpstream,
    refresh: () => lb.refreshStats(),
  };
}
