import { parsePrometheusText } from './prometheus-text';

/** What the balancer counted for one group of upstreams (cumulative, or a window's difference). */
export interface GroupStats {
  requests: number;
  /** 5xx answers (the balancer's own 502/504 for failed connections included). */
  errors5xx: number;
  /** Connections to the group's upstreams that failed and were retried elsewhere. */
  failedConnections: number;
  /** Cumulative latency histogram: upper bound in seconds → count. */
  buckets: Map<number, number>;
}

const empty = (): GroupStats => ({ requests: 0, errors5xx: 0, failedConnections: 0, buckets: new Map() });

/** Sums the balancer's metrics per group (over the upstreams of each group). */
export function groupStats(metricsText: string): Map<string, GroupStats> {
  const samples = parsePrometheusText(metricsText);
  const groups = new Map<string, GroupStats>();
  const get = (g: string) => groups.get(g) ?? (groups.set(g, empty()), groups.get(g)!);
  const groupOfUpstream = new Map<string, string>();
  for (const s of samples) {
    if (s.name === 'lb_requests_total' && s.labels.group !== 'none') {
      groupOfUpstream.set(s.labels.upstream, s.labels.group);
      if (s.labels.status_class === 'aborted') continue;
      const g = get(s.labels.group);
      g.requests += s.value;
      if (s.labels.status_class === '5xx') g.errors5xx += s.value;
    } else if (s.name === 'lb_request_duration_seconds_bucket') {
      const g = get(s.labels.group);
      const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      g.buckets.set(le, (g.buckets.get(le) ?? 0) + s.value);
    } else if (s.name === 'lb_upstream_state' && s.value === 1) {
      groupOfUpstream.set(s.labels.upstream, s.labels.group);
    }
  }
  for (const s of samples) {
    if (s.name !== 'lb_retries_total') continue;
    const g = groupOfUpstream.get(s.labels.upstream);
    if (g) get(g).failedConnections += s.value;
  }
  return groups;
}

/** after − before, for one group: the numbers of a time window. */
export function windowStats(before: Map<string, GroupStats>, after: Map<string, GroupStats>, group: string): GroupStats {
  const a = after.get(group) ?? empty();
  const b = before.get(group) ?? empty();
  const buckets = new Map<number, number>();
  for (const [le, n] of a.buckets) buckets.set(le, n - (b.buckets.get(le) ?? 0));
  return {
    requests: a.requests - b.requests,
    errors5xx: a.errors5xx - b.errors5xx,
    failedConnections: a.failedConnections - b.failedConnections,
    buckets,
  };
}

/** Error rate: (5xx + failed connections) / (requests + failed connections). */
export function errorRate(s: GroupStats): number {
  const attempts = s.requests + s.failedConnections;
  return attempts === 0 ? 0 : (s.errors5xx + s.failedConnections) / attempts;
}

/** p99 in ms from the histogram: the upper bound of the bucket holding the 99th percentile. */
export function p99Ms(s: GroupStats): number {
  const sorted = [...s.buckets.entries()].sort((x, y) => x[0] - y[0]);
  const total = sorted.length ? sorted[sorted.length - 1][1] : 0;
  if (total <= 0) return 0;
  for (const [le, n] of sorted) if (n >= 0.99 * total) return le === Infinity ? Infinity : le * 1000;
  return Infinity;
}
