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

  it('with equal weights, picks in O(1): a list is examined once, then no weight is read per pick', () => {
    let reads = 0;
    const rr = new SmoothWeightedRoundRobin<number>(() => (reads++, 1));
    const items = Array.from({ length: 500 }, (_, i) => i);
    const picks = Array.from({ length: 1500 }, () => rr.next(items));
    expect(reads).toBe(500);
    // Still plain round-robin: three full cycles in order.
    expect(picks).toEqual([...items, ...items, ...items]);
    // A retry skips what it tried: the next one in turn.
    expect(rr.next(items, new Set([0, 1]))).toBe(2);
    expect(rr.next(items)).toBe(3);
  });

  it('with equal weights, a rebuilt list (an upstream added or removed) continues after the item picked last', () => {
    const rr = new SmoothWeightedRoundRobin<string>(() => 1);
    const before = ['a', 'b', 'c', 'd'];
    expect([rr.next(before), rr.next(before)]).toEqual(['a', 'b']);
    const after = ['a', 'b', 'd', 'e']; // c removed, e added
    expect(Array.from({ length: 5 }, () => rr.next(after))).toEqual(['d', 'e', 'a', 'b', 'd']);
    // Each list keeps its own turn (a split alternates between group lists).
    const other = ['x', 'y'];
    expect([rr.next(other), rr.next(after), rr.next(other), rr.next(after)]).toEqual(['x', 'e', 'y', 'a']);
  });

  it('a list with different weights, or a weight 0, goes through the weighted path', () => {
    const weights: Record<string, number> = { a: 1, b: 1, off: 0 };
    const rr = new SmoothWeightedRoundRobin<string>((k) => weights[k]);
    const list = ['a', 'off', 'b'];
    expect(Array.from({ length: 4 }, () => rr.next(list))).toEqual(['a', 'b', 'a', 'b']);
  });

  it('returns undefined for an empty list, all-zero weights, or everything skipped', () => {
    const rr = new SmoothWeightedRoundRobin<string>((k) => W[k]);
    expect(rr.next([])).toBeUndefined();
    expect(rr.next(['x'])).toBeUndefined();
    expect(rr.next(['a', 'b'], new Set(['a', 'b']))).toBeUndefined();
    expect(rr.next(['a', 'b'], new Set(['a']))).toBe('b');
  });
});
