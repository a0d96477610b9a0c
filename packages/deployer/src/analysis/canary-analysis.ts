import { DEPLOY_DEFAULTS } from '../deploy-defaults';
import { errorRate, type GroupStats, p99Ms } from './group-stats';

export interface CanaryThresholds {
  /** The canary's error rate may exceed the baseline's by at most this much (0.01 = 1 point). */
  maxErrorRateIncrease: number;
  /** The canary's p99 may be at most this many times the baseline's... */
  maxP99Ratio: number;
  /** ...or the baseline's plus this many ms, whichever is larger (tiny latencies are noisy). */
  p99SlackMs: number;
  /** Fewer canary requests than this: not enough to judge. */
  minRequests: number;
}

export const DEFAULT_THRESHOLDS: CanaryThresholds = {
  maxErrorRateIncrease: DEPLOY_DEFAULTS.maxErrorRate,
  maxP99Ratio: DEPLOY_DEFAULTS.maxP99Ratio,
  p99SlackMs: DEPLOY_DEFAULTS.p99SlackMs,
  minRequests: DEPLOY_DEFAULTS.minRequests,
};

export interface Verdict {
  verdict: 'pass' | 'fail' | 'insufficient';
  /** Names the metric that failed, with the numbers. */
  reason: string;
  canary: { requests: number; errorRate: number; p99Ms: number };
  baseline: { requests: number; errorRate: number; p99Ms: number };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/**
 * Compares the canary's window with the baseline's on the balancer's own numbers. Errors are
 * judged at every look (a broken version is stopped early); latency only when `judgeLatency`, on a
 * whole step's window, since the first requests to a fresh instance are slow and a p99 over a few
 * dozen requests is one unlucky request.
 */
export function analyzeCanary(canary: GroupStats, baseline: GroupStats, t: CanaryThresholds, judgeLatency = true): Verdict {
  const c = { requests: canary.requests, errorRate: errorRate(canary), p99Ms: p99Ms(canary) };
  const b = { requests: baseline.requests, errorRate: errorRate(baseline), p99Ms: p99Ms(baseline) };
  if (c.requests + canary.failedConnections < t.minRequests) {
    return { verdict: 'insufficient', reason: `only ${c.requests} canary requests (need ${t.minRequests})`, canary: c, baseline: b };
  }
  if (c.errorRate > b.errorRate + t.maxErrorRateIncrease) {
    return {
      verdict: 'fail',
      reason: `error rate: canary ${pct(c.errorRate)} > baseline ${pct(b.errorRate)} + ${pct(t.maxErrorRateIncrease)} (${canary.errors5xx} 5xx, ${canary.failedConnections} failed connections in ${c.requests} requests)`,
      canary: c,
      baseline: b,
    };
  }
  const limit = Math.max(b.p99Ms * t.maxP99Ratio, b.p99Ms + t.p99SlackMs);
  if (judgeLatency && c.p99Ms > limit) {
    return { verdict: 'fail', reason: `p99 latency: canary ${c.p99Ms} ms > limit ${limit} ms (baseline ${b.p99Ms} ms)`, canary: c, baseline: b };
  }
  return { verdict: 'pass', reason: `error rate ${pct(c.errorRate)} (baseline ${pct(b.errorRate)}), p99 ${c.p99Ms} ms (baseline ${b.p99Ms} ms)`, canary: c, baseline: b };
}
