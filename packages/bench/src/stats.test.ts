import { median, percentiles, slope } from './stats';

describe('stats', () => {
  it('gives nearest-rank percentiles of the recorded samples', () => {
    const xs = Array.from({ length: 1000 }, (_, i) => i + 1);
    const p = percentiles(xs);
    expect(p).toMatchObject({ count: 1000, p50: 500, p90: 900, p99: 990, p999: 999, max: 1000 });
    expect(p.mean).toBeCloseTo(500.5);
    expect(percentiles(new Float64Array([5, 1, 3]), 2).max).toBe(5);
    expect(Number.isNaN(percentiles([]).p50)).toBe(true);
  });

  it('takes medians ignoring NaN, and least-squares slopes', () => {
    expect(median([3, 1, NaN, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(slope([0, 1, 2, 3].map((x) => ({ x, y: 2 * x + 1 })))).toBeCloseTo(2);
  });
});
