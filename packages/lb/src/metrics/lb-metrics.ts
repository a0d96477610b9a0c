import { Gauge, Registry } from 'prom-client';
import type { UpstreamPool } from '../pool/upstream-pool';
import { LATENCY_BUCKETS, STATUS_CLASSES } from './upstream-stats';

type Value = { value: number; labels: Record<string, string>; metricName?: string };

/** A metric computed at scrape time from the upstreams' plain counters (prom-client's collector shape). */
function scraped(name: string, help: string, type: 'counter' | 'histogram', values: () => Value[]) {
  return {
    name,
    help,
    type,
    aggregator: 'sum' as const,
    get: async () => ({ name, help, type, aggregator: 'sum' as const, values: values() }),
    reset: () => {},
  };
}

/**
 * The balancer's Prometheus metrics (served on the admin port at /metrics): requests by upstream,
 * group and status class, latency by upstream and group, upstream state, in-flight and retries.
 * The canary analysis reads these. The request path only bumps numbers in each upstream's
 * UpstreamStats; prom-client's per-call label hashing stays off the hot path.
 */
export class LbMetrics {
  readonly registry = new Registry();
  /** Requests answered 503 because no upstream was in rotation. */
  noUpstream = 0;
  /**
   * Requests that never reached an upstream for a reason of the client's: our own refusals (400 bad
   * target, 408 stalled body, 501 upgrade) by status class, and clients that left first ("aborted").
   * Not server errors, so never counted as 5xx.
   */
  readonly ownByClass = new Float64Array(STATUS_CLASSES.length);
  /** Request-body bytes held for retries right now (the proxy's budget; summed over workers in cluster mode). */
  bufferedBytes: () => number = () => 0;

  constructor(pool: UpstreamPool) {
    const registers = [this.registry];
    this.registry.registerMetric(
      scraped('lb_requests_total', 'Requests answered, by upstream, group and status class (5xx includes 502/504 for failed upstream connections).', 'counter', () => {
        const out: Value[] = [];
        for (const u of pool.all()) {
          STATUS_CLASSES.forEach((cls, i) => out.push({ value: u.stats.byClass[i], labels: { upstream: u.name, group: u.group, status_class: cls } }));
        }
        STATUS_CLASSES.forEach((cls, i) => {
          const value = this.ownByClass[i] + (cls === '5xx' ? this.noUpstream : 0);
          if (value > 0 || cls === '5xx') out.push({ value, labels: { upstream: 'none', group: 'none', status_class: cls } });
        });
        return out;
      }) as never,
    );
    this.registry.registerMetric(
      scraped('lb_request_duration_seconds', 'Time from request to end of response, by upstream and group.', 'histogram', () => {
        const out: Value[] = [];
        const name = 'lb_request_duration_seconds';
        for (const u of pool.all()) {
          const s = u.stats;
          let acc = 0;
          LATENCY_BUCKETS.forEach((le, i) => {
            acc += s.buckets[i];
            out.push({ metricName: `${name}_bucket`, value: acc, labels: { le: String(le), upstream: u.name, group: u.group } });
          });
          out.push({ metricName: `${name}_bucket`, value: s.count, labels: { le: '+Inf', upstream: u.name, group: u.group } });
          out.push({ metricName: `${name}_sum`, value: s.sum, labels: { upstream: u.name, group: u.group } });
          out.push({ metricName: `${name}_count`, value: s.count, labels: { upstream: u.name, group: u.group } });
        }
        return out;
      }) as never,
    );
    this.registry.registerMetric(
      scraped('lb_retries_total', 'Requests retried on another upstream after this one failed.', 'counter', () =>
        pool.all().map((u) => ({ value: u.stats.retries, labels: { upstream: u.name } })),
      ) as never,
    );
    new Gauge({
      name: 'lb_upstream_state',
      help: 'Upstream state (1 for the current state).',
      labelNames: ['upstream', 'group', 'state'],
      registers,
      collect() {
        this.reset();
        for (const u of pool.all()) this.labels(u.name, u.group, u.state).set(1);
      },
    });
    const metrics = this;
    new Gauge({
      name: 'lb_retry_buffer_bytes',
      help: 'Request-body bytes buffered for retries right now (bounded by proxy.retryBufferBudgetBytes).',
      registers,
      collect() {
        this.set(metrics.bufferedBytes());
      },
    });
    new Gauge({
      name: 'lb_upstream_in_flight',
      help: 'Requests in flight per upstream.',
      labelNames: ['upstream'],
      registers,
      collect() {
        this.reset();
        for (const u of pool.all()) this.labels(u.name).set(u.inFlight);
      },
    });
  }

  /** A finished (or abandoned) request; `upstream` is the one that answered, if any. */
  record(upstream: { stats: { record(status: number, completed: boolean, seconds: number): void } } | undefined, status: number, completed: boolean, seconds: number): void {
    if (upstream) upstream.stats.record(status, completed, seconds);
    else this.noUpstream++;
  }

  /** A request answered by the balancer itself (not 503-no-upstream), or abandoned by its client before any upstream answered. */
  own(status: number, answered: boolean): void {
    this.ownByClass[answered ? Math.min(4, Math.max(0, ((status / 100) | 0) - 1)) : STATUS_CLASSES.length - 1]++;
  }

  retry(upstream: { stats: { retries: number } }): void {
    upstream.stats.retries++;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
