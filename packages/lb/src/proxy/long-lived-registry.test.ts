import { type CloseOutcome, type LongLived, LongLivedRegistry } from './long-lived-registry';

/** A long-lived connection that records how it was closed. */
function fake(upstream: string, outcome: CloseOutcome = 'clean') {
  const entry: LongLived & { closedWith?: string } = {
    kind: 'websocket',
    upstream,
    close: async (reason) => {
      entry.closedWith = reason;
      return outcome;
    },
  };
  return entry;
}

describe('LongLivedRegistry', () => {
  /** A fake clock: sleeping moves it on at once. */
  function clock() {
    const c = { t: 0, now: () => c.t, sleep: async (ms: number) => void (c.t += ms) };
    return c;
  }

  it('a drain closes only that upstream\u2019s connections, once the grace period has passed, and counts clean and cut', async () => {
    const c = clock();
    const r = new LongLivedRegistry(c);
    const a1 = fake('a');
    const a2 = fake('a', 'cut');
    const b1 = fake('b');
    [a1, a2, b1].forEach((e) => r.add(e));
    expect(await r.closeUpstream('a', 1000, () => true)).toEqual({ closed: 1, cut: 1 });
    expect(c.t).toBeGreaterThanOrEqual(1000);
    expect([a1.closedWith, a2.closedWith, b1.closedWith]).toEqual(['draining', 'draining', undefined]);
  });

  it('closes nothing when the drain was called off during the grace period', async () => {
    const r = new LongLivedRegistry(clock());
    const a1 = fake('a');
    r.add(a1);
    expect(await r.closeUpstream('a', 500, () => false)).toEqual({ closed: 0, cut: 0 });
    expect(a1.closedWith).toBeUndefined();
  });

  it('stops waiting as soon as the connections ended by themselves', async () => {
    const c = clock();
    const r = new LongLivedRegistry({ now: c.now, sleep: async (ms) => ((c.t += ms), remove()) });
    const remove = r.add(fake('a'));
    expect(await r.closeUpstream('a', 60_000, () => true)).toEqual({ closed: 0, cut: 0 });
    expect(c.t).toBe(50);
    expect(r.count()).toBe(0);
  });

  it('closeAll closes everything as "stopping"', async () => {
    const r = new LongLivedRegistry(clock());
    const entries = [fake('a'), fake('b')];
    entries.forEach((e) => r.add(e));
    expect(r.count()).toBe(2);
    expect(await r.closeAll()).toEqual({ closed: 2, cut: 0 });
    expect(entries.map((e) => e.closedWith)).toEqual(['stopping', 'stopping']);
  });
});
