/** Small statistics helpers: exact percentiles over recorded samples, medians, a least-squares slope. */

export interface Percentiles {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** Exact percentiles (nearest rank) of the first `n` values; sorts a copy. */
export function percentiles(values: ArrayLike<number>, n = values.length): Percentiles {
  if (n === 0) return { count: 0, mean: NaN, p50: NaN, p90: NaN, p99: NaN, p999: NaN, max: NaN };
  const a = Float64Array.from({ length: n }, (_, i) => values[i]).sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += a[i];
  // The epsilon keeps 99.9% of 1000 at rank 999 despite floating point (999.0000000000001).
  const at = (p: number) => a[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n - 1e-9) - 1))];
  return { count: n, mean: sum / n, p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max: a[n - 1] };
}

export function median(xs: number[]): number {
  const a = xs.filter((x) => Number.isFinite(x)).sort((x, y) => x - y);
  if (a.length === 0) return NaN;
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}

export function minMax(xs: number[]): [number, number] {
  const a = xs.filter((x) => Number.isFinite(x));
  return a.length ? [Math.min(...a), Math.max(...a)] : [NaN, NaN];
}

/** Least-squares slope of y over x (units of y per unit of x). */
export function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export const round = (x: number, digits = 2): number => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x);
