import { bucketOf, TrafficSplit } from './traffic-split';

describe('TrafficSplit', () => {
  it('spreads keyless requests exactly by weight', () => {
    const split = new TrafficSplit([
      { group: 'canary', weight: 10 },
      { group: 'baseline', weight: 90 },
    ]);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 1000; i++) {
      const g = split.nextGroup(() => true)!;
      counts[g] = (counts[g] ?? 0) + 1;
    }
    expect(counts).toEqual({ canary: 100, baseline: 900 });
  });

  it('skips groups with nothing available', () => {
    const split = new TrafficSplit([
      { group: 'a', weight: 50 },
      { group: 'b', weight: 50 },
    ]);
    expect(new Set(Array.from({ length: 10 }, () => split.nextGroup((g) => g === 'b')))).toEqual(new Set(['b']));
    expect(split.nextGroup(() => false)).toBeUndefined();
  });

  it('keeps a user on the same group, and users only move toward the first group as its share grows', () => {
    const users = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
    const at = (p: number) => new TrafficSplit([{ group: 'canary', weight: p }, { group: 'baseline', weight: 100 - p }]);
    const s10 = at(10);
    const s50 = at(50);
    const inCanary10 = users.filter((u) => s10.groupForKey(u) === 'canary');
    const inCanary50 = users.filter((u) => s50.groupForKey(u) === 'canary');
    for (const u of inCanary10) expect(s50.groupForKey(u)).toBe('canary');
    expect(inCanary10.length / users.length).toBeGreaterThan(0.07);
    expect(inCanary10.length / users.length).toBeLessThan(0.13);
    expect(inCanary50.length / users.length).toBeGreaterThan(0.45);
    for (const u of users.slice(0, 50)) expect(s10.groupForKey(u)).toBe(s10.groupForKey(u));
  });

  it('hashes keys stably into 10,000 buckets', () => {
    expect(bucketOf('alice')).toBe(bucketOf('alice'));
    expect(bucketOf('alice')).toBeGreaterThanOrEqual(0);
    expect(bucketOf('alice')).toBeLessThan(10_000);
  });

});
