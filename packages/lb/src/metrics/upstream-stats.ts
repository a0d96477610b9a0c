/** Latency buckets (seconds), fine at the low end where a healthy proxy lives. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2.5, 5, 10, 30];
export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'aborted'] as const;
const ABORTED = 5;

/**
 * Plain counters per upstream, bumped on every request. Kept as typed arrays (no label lookups,
 * no allocation) and turned into Prometheus samples only when /metrics is scraped.
 */
export class UpstreamStats {
  /** Requests by status class (index into STATUS_CLASSES). */
  readonly byClass = new Float64Array(STATUS_CLASSES.length);
  /** Non-cumulative bucket counts; the last slot is "above the largest bucket". */
  readonly buckets = new Float64Array(LATENCY_BUCKETS.length + 1);
  sum = 0;
  count = 0;
  retries = 0;

  record(status: number, completed: boolean, seconds: number): void {
    this.byClass[completed ? Math.min(4, Math.max(0, ((status / 100) | 0) - 1)) : ABORTED]++;
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]) i++;
    this.buckets[i]++;
    this.sum += seconds;
    this.count++;
  }
}
