import { SmoothWeightedRoundRobin } from './smooth-weighted-round-robin';

const W: Record<string, number> = { a: 5, b: 1, c: 1, x: 0 };

describe('SmoothWeightedRoundRobin', () => {
  it('is plain round-robin with equal weights', () => {
    const rr = new SmoothWeightedRoundRobin<string>(() => 1);
    expect(Array.from({ length: 6 }, () => rr.next(['a', 'b', 'c']))).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('spreads weighted picks smoothly (nginx example 5:1:1)', () => {
    const rr = new SmoothWeightedRoundRobin<string>((k) => W[k]);
    expect(Array.from({ length: 7 }, () => rr.next(['a', 'b', 'c']))).toEqual(['a', 'a', 'b', 'a', 'c', 'a', 'a']);
  });

  it('gives each item its exact share over a full cycle and never picks weight 0', () => {
    const weights: Record<string, number> = { canary: 10, baseline: 90, off: 0 };
    const rr = new SmoothWeightedRoundRobin<string>((k) => weights[k]);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 1000; i++) {
      const k = rr.next(['canary', 'baseline', 'off'])!;
      counts[k] = (counts[k] ?? 0) + 1;
    }
    expect(counts).toEqual({ canary: 100, baseline: 900 });
  });

  it('returns undefined for an empty list, all-zero weights, or everything skipped', () => {
    const rr = new SmoothWeightedRoundRobin<string>((k) => W[k]);
    expect(rr.next([])).toBeUndefined();
    expect(rr.next(['x'])).toBeUndefined();
    expect(rr.next(['a', 'b'], new Set(['a', 'b']))).toBeUndefined();
    expect(rr.next(['a', 'b'], new Set(['a']))).toBe('b');
  });
});
