import { analyzeCanary, DEFAULT_THRESHOLDS } from './canary-analysis';
import { groupStats, p99Ms, windowStats } from './group-stats';
import { parsePrometheusText } from './prometheus-text';

const metrics = (c2xx: number, c5xx: number, b2xx: number, slowCanary = false) => `
# HELP lb_requests_total x
# TYPE lb_requests_total counter
lb_requests_total{upstream="c:1",group="canary",status_class="2xx"} ${c2xx}
lb_requests_total{upstream="c:1",group="canary",status_class="5xx"} ${c5xx}
lb_requests_total{upstream="a:1",group="baseline",status_class="2xx"} ${b2xx}
lb_requests_total{upstream="none",group="none",status_class="5xx"} 3
lb_request_duration_seconds_bucket{le="0.005",upstream="c:1",group="canary"} ${slowCanary ? 0 : c2xx + c5xx}
lb_request_duration_seconds_bucket{le="0.5",upstream="c:1",group="canary"} ${c2xx + c5xx}
lb_request_duration_seconds_bucket{le="+Inf",upstream="c:1",group="canary"} ${c2xx + c5xx}
lb_request_duration_seconds_bucket{le="0.005",upstream="a:1",group="baseline"} ${b2xx}
lb_request_duration_seconds_bucket{le="0.5",upstream="a:1",group="baseline"} ${b2xx}
lb_request_duration_seconds_bucket{le="+Inf",upstream="a:1",group="baseline"} ${b2xx}
lb_retries_total{upstream="c:1"} 0
`;

describe('canary analysis on the balancer metrics', () => {
  it('parses the Prometheus text format with labels', () => {
    expect(parsePrometheusText('a_total{x="1",y="q\\"z"} 5\n# c\nb 2.5\n')).toEqual([
      { name: 'a_total', labels: { x: '1', y: 'q"z' }, value: 5 },
      { name: 'b', labels: {}, value: 2.5 },
    ]);
  });

  it('passes a healthy canary', () => {
    const before = groupStats(metrics(0, 0, 0));
    const after = groupStats(metrics(100, 0, 900));
    const v = analyzeCanary(windowStats(before, after, 'canary'), windowStats(before, after, 'baseline'), DEFAULT_THRESHOLDS);
    expect(v.verdict).toBe('pass');
    expect(v.canary).toEqual({ requests: 100, errorRate: 0, p99Ms: 5 });
  });

  it('fails a canary with a higher error rate and names the metric', () => {
    const before = groupStats(metrics(10, 0, 100));
    const after = groupStats(metrics(60, 50, 1000));
    const v = analyzeCanary(windowStats(before, after, 'canary'), windowStats(before, after, 'baseline'), DEFAULT_THRESHOLDS);
    expect(v.verdict).toBe('fail');
    expect(v.reason).toMatch(/^error rate: canary 50\.0% > baseline 0\.0% \+ 1\.0%/);
  });

  it('fails a slow canary on p99', () => {
    const v = analyzeCanary(groupStats(metrics(100, 0, 900, true)).get('canary')!, groupStats(metrics(100, 0, 900)).get('baseline')!, DEFAULT_THRESHOLDS);
    expect(v.verdict).toBe('fail');
    expect(v.reason).toMatch(/^p99 latency: canary 500 ms > limit 55 ms/);
    expect(p99Ms(groupStats(metrics(100, 0, 900)).get('baseline')!)).toBe(5);
  });

  it('does not judge on too few requests', () => {
    const v = analyzeCanary(groupStats(metrics(5, 5, 900)).get('canary')!, groupStats(metrics(5, 5, 900)).get('baseline')!, DEFAULT_THRESHOLDS);
    expect(v.verdict).toBe('insufficient');
  });
});
