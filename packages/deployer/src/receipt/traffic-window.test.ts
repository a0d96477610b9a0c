import { validateConfig } from '../../../lb/src/config/validate-config';
import { LbMetrics } from '../../../lb/src/metrics/lb-metrics';
import { UpstreamPool } from '../../../lb/src/pool/upstream-pool';
import { parsePrometheusText } from '../analysis/prometheus-text';
import { type BalancerScrape, trafficWindow } from './traffic-window';

/**
 * The balancer's own pool and metrics (no sockets): requests are recorded the way the proxy records
 * them, /metrics text is what the admin API would serve, and the receipt's totals must match.
 */
function balancer() {
  const config = validateConfig({ upstreams: [{ url: 'http://127.0.0.1:1', name: 'a' }, { url: 'http://127.0.0.1:2', name: 'b' }] }, 'test');
  const pool = new UpstreamPool(config);
  const metrics = new LbMetrics(pool);
  pool.update(pool.get('a')!, { version: 'v1' });
  pool.update(pool.get('b')!, { version: 'v1' });
  let t = 1_000_000;
  const serve = (name: string, status: number, count: number, completed = true) => {
    for (let i = 0; i < count; i++) metrics.record(pool.get(name), status, completed, 0.002);
  };
  const scrape = async (): Promise<BalancerScrape> => ({
    at: (t += 1000),
    metrics: await metrics.text(),
    upstreams: pool.all().map((u) => ({ name: u.name, version: u.version, state: u.state, inFlight: u.inFlight, failures: u.failures })),
  });
  return { pool, metrics, serve, scrape, config };
}

/**
 * `sum by (upstream, status_class) (lb_requests_total)`, then Σ of (last value seen − value at the
 * start, 0 if it appeared later). By upstream, not by series: the balancer counts per upstream and
 * the group label is its current group, so a relabelled upstream's series moves whole.
 */
function prometheusIncrease(scrapes: BalancerScrape[]): { total: number; byClass: Record<string, number> } {
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  const seen = new Map<string, number>();
  scrapes.forEach((s, i) => {
    for (const m of parsePrometheusText(s.metrics)) {
      if (m.name !== 'lb_requests_total') continue;
      const k = `${m.labels.upstream}/${m.labels.status_class}`;
      if (i === 0) first.set(k, (first.get(k) ?? 0) + m.value);
      seen.set(k, (seen.get(k) ?? 0) + m.value);
    }
    for (const [k, v] of seen) last.set(k, v);
    seen.clear();
  });
  const byClass: Record<string, number> = {};
  let total = 0;
  for (const [k, v] of last) {
    const d = v - (first.get(k) ?? 0);
    const cls = k.split('/')[1];
    byClass[cls] = (byClass[cls] ?? 0) + d;
    total += d;
  }
  return { total, byClass };
}

describe('receipt arithmetic (trafficWindow)', () => {
  it('reconciles with the balancer’s Prometheus counters over the same window, by cause and by version', async () => {
    const lb = balancer();
    lb.serve('a', 200, 100); // before the deploy: not in the window
    lb.serve('b', 200, 50);
    const scrapes = [await lb.scrape()];
    lb.serve('a', 200, 30);
    lb.serve('a', 502, 2); // a connection failed and could not be retried
    lb.serve('b', 200, 20);
    lb.serve('b', 200, 1, false); // a client went away
    lb.metrics.record(undefined, 503, true, 0.001); // nothing in rotation: the balancer's own 503
    lb.metrics.retry(lb.pool.get('a')!);
    lb.pool.reportPassiveFailure(lb.pool.get('a')!, { ok: false, reason: 'ECONNRESET' });
    scrapes.push(await lb.scrape());
    const c = lb.pool.add({ url: 'http://127.0.0.1:3', name: 'c', version: 'v2', group: 'canary' });
    lb.serve('c', 200, 40);
    scrapes.push(await lb.scrape());
    lb.pool.update(c, { group: 'default' }); // relabelled after promotion: same counter
    lb.serve('c', 200, 60);
    lb.serve('a', 200, 10);
    scrapes.push(await lb.scrape());

    const { totals, points } = trafficWindow(scrapes);
    expect(totals).toEqual({
      total: 30 + 2 + 20 + 1 + 1 + 40 + 60 + 10,
      failed: 3,
      balancer5xx: 1,
      upstream5xx: 2,
      connectionFailures: 1,
      clientAborts: 1,
      retries: 1,
      byVersion: { v1: 30 + 2 + 20 + 10, v2: 100 },
    });
    // The same numbers straight from the Prometheus text, series by series.
    const prom = prometheusIncrease(scrapes);
    expect(totals.total).toBe(prom.total);
    expect(totals.failed).toBe(prom.byClass['5xx']);
    expect(totals.clientAborts).toBe(prom.byClass.aborted);
    // Interval by interval, the traffic adds up to the totals.
    const sumPoints = points.reduce((a, p) => a + Object.values(p.byVersion).reduce((x, y) => x + y, 0), 0);
    expect(sumPoints + totals.balancer5xx).toBe(totals.total - totals.clientAborts);
    expect(points.reduce((a, p) => a + p.failed, 0)).toBe(totals.failed);
    expect(points.map((p) => p.byVersion)).toEqual([{ v1: 52 }, { v2: 40 }, { v1: 10, v2: 60 }]);
    lb.pool.destroy();
  });

  it('counts an upstream removed during the deploy up to its last scrape, and one re-added under its name from zero', async () => {
    const lb = balancer();
    const scrapes = [await lb.scrape()];
    lb.serve('b', 200, 25);
    scrapes.push(await lb.scrape()); // the scrape taken as the deregister step starts
    lb.pool.remove('b');
    scrapes.push(await lb.scrape());
    lb.pool.add({ url: 'http://127.0.0.1:2', name: 'b', version: 'v2' });
    lb.serve('b', 200, 7);
    scrapes.push(await lb.scrape());
    const { totals } = trafficWindow(scrapes);
    expect(totals.total).toBe(32);
    expect(totals.byVersion).toEqual({ v1: 25, v2: 7 });
    lb.pool.destroy();
  });

  it('is empty for no scrapes and zero for one', async () => {
    expect(trafficWindow([]).totals.total).toBe(0);
    const lb = balancer();
    lb.serve('a', 200, 5);
    const { totals, points } = trafficWindow([await lb.scrape()]);
    expect(totals.total).toBe(0);
    expect(points).toEqual([]);
    lb.pool.destroy();
  });
});
