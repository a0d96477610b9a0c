import { parsePrometheusText } from '../analysis/prometheus-text';

/** One look at the balancer during a deploy: its Prometheus counters and its upstream list. */
export interface BalancerScrape {
  /** ms since the epoch, when the answer arrived. */
  at: number;
  /** `/metrics` text. */
  metrics: string;
  /** `GET /upstreams`: name → version, state, in flight and connection failures. */
  upstreams: { name: string; version?: string | null; state: string; inFlight: number; failures: number }[];
}

/** What the balancer saw in a window, from the differences of its counters. */
export interface TrafficTotals {
  /** Every request the balancer finished in the window (answered or abandoned by the client). */
  total: number;
  /** Answered 5xx: balancer5xx + upstream5xx. */
  failed: number;
  /** 503 answered by the balancer itself: no upstream in rotation (lb_requests_total{upstream="none"}). */
  balancer5xx: number;
  /**
   * 5xx answered on behalf of an upstream: its own 5xx, or the balancer's 502/504 when the connection
   * to it failed and the request could not be retried (the metrics do not tell the two apart).
   */
  upstream5xx: number;
  /** Connections to upstreams refused, reset or timed out (GET /upstreams `failures`), retried or not. */
  connectionFailures: number;
  /** Clients that went away before their answer (status_class="aborted"): not failures of the deploy. */
  clientAborts: number;
  /** Requests retried on another upstream (lb_retries_total). */
  retries: number;
  /** Answered requests (aborts excluded) by the version of the upstream that answered. */
  byVersion: Record<string, number>;
}

export interface TrafficPoint {
  /** ms since the window's start, end of the interval. */
  tMs: number;
  /** Length of the interval. */
  ms: number;
  byVersion: Record<string, number>;
  failed: number;
}

interface Counters {
  /** `${upstream}\u0000${status_class}` → value */
  requests: Map<string, number>;
  retries: Map<string, number>;
  failures: Map<string, number>;
}

function counters(s: BalancerScrape): Counters {
  const requests = new Map<string, number>();
  const retries = new Map<string, number>();
  for (const m of parsePrometheusText(s.metrics)) {
    // Summed over group: an upstream moved to another group (canary → baseline) keeps its count.
    if (m.name === 'lb_requests_total') {
      const k = `${m.labels.upstream}\u0000${m.labels.status_class}`;
      requests.set(k, (requests.get(k) ?? 0) + m.value);
    } else if (m.name === 'lb_retries_total') retries.set(m.labels.upstream, m.value);
  }
  const failures = new Map(s.upstreams.map((u) => [u.name, u.failures]));
  return { requests, retries, failures };
}

/**
 * The increase of each counter from one scrape to the next: a series that appears counts from 0
 * (an upstream registered in between), one that went back started over (removed and registered
 * again under its name) and counts from 0, one that disappeared (removed) adds nothing more.
 */
function increase(prev: Map<string, number> | undefined, cur: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of cur) {
    const p = prev?.get(k) ?? 0;
    out.set(k, v >= p ? v - p : v);
  }
  return out;
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

/**
 * The traffic of a deploy from scrapes taken during it (the first before it changes anything):
 * totals, and the same increases interval by interval (which add up to the totals exactly).
 */
export function trafficWindow(scrapes: readonly BalancerScrape[]): { totals: TrafficTotals; points: TrafficPoint[] } {
  const totals: TrafficTotals = { total: 0, failed: 0, balancer5xx: 0, upstream5xx: 0, connectionFailures: 0, clientAborts: 0, retries: 0, byVersion: {} };
  const points: TrafficPoint[] = [];
  if (scrapes.length === 0) return { totals, points };
  let prev = counters(scrapes[0]);
  const versionOf = new Map<string, string>();
  const learn = (s: BalancerScrape) => {
    for (const u of s.upstreams) versionOf.set(u.name, u.version ?? versionOf.get(u.name) ?? 'unknown');
  };
  learn(scrapes[0]);
  for (let i = 1; i < scrapes.length; i++) {
    const s = scrapes[i];
    learn(s);
    const cur = counters(s);
    const point: TrafficPoint = { tMs: s.at - scrapes[0].at, ms: s.at - scrapes[i - 1].at, byVersion: {}, failed: 0 };
    for (const [k, d] of increase(prev.requests, cur.requests)) {
      if (d === 0) continue;
      const [upstream, cls] = k.split('\u0000');
      totals.total += d;
      if (cls === 'aborted') {
        totals.clientAborts += d;
        continue;
      }
      if (cls === '5xx') {
        point.failed += d;
        if (upstream === 'none') totals.balancer5xx += d;
        else totals.upstream5xx += d;
      }
      if (upstream === 'none') continue;
      const v = versionOf.get(upstream) ?? 'unknown';
      point.byVersion[v] = (point.byVersion[v] ?? 0) + d;
      totals.byVersion[v] = (totals.byVersion[v] ?? 0) + d;
    }
    totals.retries += sum(increase(prev.retries, cur.retries));
    totals.connectionFailures += sum(increase(prev.failures, cur.failures));
    points.push(point);
    prev = cur;
  }
  totals.failed = totals.balancer5xx + totals.upstream5xx;
  return { totals, points };
}

