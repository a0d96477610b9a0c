import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Upstream } from '../pool/upstream';
import type { UpstreamPool } from '../pool/upstream-pool';

/** Latency buckets (seconds), fine at the low end where a healthy proxy lives. */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2.5, 5, 10, 30];
const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

type Children = { group: string; byClass: Counter.Internal[]; aborted: Counter.Internal; latency: Histogram.Internal<string> };

/**
 * The balancer's Prometheus metrics (served on the admin port at /metrics): requests by upstream,
 * group and status class, latency by upstream and group, upstream state, in-flight and retries.
 * The canary analysis reads these. Label children are cached per upstream, so recording a request
 * costs no label lookups.
 */
export class LbMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<string>;
  private readonly latency: Histogram<string>;
  private readonly retries: Counter<string>;
  private readonly cache = new WeakMap<Upstream, Children>();
  private readonly noUpstream: Counter.Internal;

  constructor(pool: UpstreamPool) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'lb_requests_total',
      help: 'Requests answered, by upstream, group and status class (5xx includes 502/504 for failed upstream connections).',
      labelNames: ['upstream', 'group', 'status_class'],
      registers,
    });
    this.latency = new Histogram({
      name: 'lb_request_duration_seconds',
      help: 'Time from request to end of response, by upstream and group.',
      labelNames: ['upstream', 'group'],
      buckets: BUCKETS,
      registers,
    });
    this.retries = new Counter({ name: 'lb_retries_total', help: 'Requests retried on another upstream after this one failed.', labelNames: ['upstream'], registers });
    this.noUpstream = this.requests.labels('none', 'none', '5xx');
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

  private children(u: Upstream): Children {
    let c = this.cache.get(u);
    if (!c || c.group !== u.group) {
      c = {
        group: u.group,
        byClass: CLASSES.map((cls) => this.requests.labels(u.name, u.group, cls)),
        aborted: this.requests.labels(u.name, u.group, 'aborted'),
        latency: this.latency.labels(u.name, u.group),
      };
      this.cache.set(u, c);
    }
    return c;
  }

  /** A finished (or abandoned) request; `upstream` is the one that answered, if any. */
  record(upstream: Upstream | undefined, status: number, completed: boolean, seconds: number): void {
    if (!upstream) {
      this.noUpstream.inc();
      return;
    }
    const c = this.children(upstream);
    if (!completed) c.aborted.inc();
    else c.byClass[Math.min(4, Math.max(0, Math.floor(status / 100) - 1))].inc();
    c.latency.observe(seconds);
  }

  retry(upstream: Upstream): void {
    this.retries.labels(upstream.name).inc();
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
