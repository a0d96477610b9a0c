import { breakdown } from './deploy-bench';

describe('breakdown of a rolling deploy report', () => {
  it('groups each slot\'s steps into drain, stop, start and health gate, and averages per instance', () => {
    const step = (slot: string, s: string, ms: number) => ({ slot, step: s as 'drain', ok: true, ms });
    const b = breakdown([
      step('*', 'prepare', 5),
      ...['client-1', 'client-2'].flatMap((slot, i) => [
        step(slot, 'drain', 10 + i * 10),
        step(slot, 'deregister', 2),
        step(slot, 'stop', 1000),
        step(slot, 'start', 300),
        step(slot, 'register', 3),
        step(slot, 'health', 100),
        step(slot, 'enable', 2),
      ]),
    ]);
    expect(b.otherMs).toBe(5);
    expect(b.slots).toHaveLength(2);
    expect(b.slots[0]).toEqual({ slot: 'client-1', drain: 12, stop: 1000, start: 300, 'health gate': 105 });
    expect(b.perInstance).toEqual({ drain: 17, stop: 1000, start: 300, 'health gate': 105, total: 1422 });
  });
});
