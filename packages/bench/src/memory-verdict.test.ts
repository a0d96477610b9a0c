import { memoryVerdict } from './memory-verdict';

const series = (f: (t: number) => number) => Array.from({ length: 60 }, (_, i) => ({ tS: i * 5, mib: f(i * 5) }));

describe('memoryVerdict', () => {
  it('calls a flat, noisy series flat', () => {
    expect(memoryVerdict(series((t) => 92 + ((t / 5) % 3) - 1)).grows).toBe(false);
  });

  it('calls a steady climb growth', () => {
    const v = memoryVerdict(series((t) => 90 + t / 6));
    expect(v.grows).toBe(true);
    expect(v.slopeMiBPerMin).toBeCloseTo(10, 0);
  });
});
