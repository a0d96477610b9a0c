import { sampleRunQueueWait, type ReadSchedstat } from './run-queue-wait';

describe('sampleRunQueueWait', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('reports the most-waiting process: its mean and its worst window, and the CPU all of them got', () => {
    // Two processes; ns counters. pid 1 waits 100 ms in the first second and 700 ms in the second; pid 2 waits 50 ms each.
    const counters: Record<number, [number, number]> = { 1: [0, 0], 2: [0, 0] };
    const read: ReadSchedstat = (pid) => (counters[pid] ? [...counters[pid]] as [number, number] : undefined);
    const s = sampleRunQueueWait([1, 2, 3], 1000, read);
    counters[1] = [200e6, 100e6];
    counters[2] = [300e6, 50e6];
    jest.advanceTimersByTime(1000);
    counters[1] = [300e6, 800e6];
    counters[2] = [600e6, 100e6];
    jest.advanceTimersByTime(1000);
    const r = s.stop()!;
    expect(r.worstWindowMs).toBeCloseTo(700, 0);
    expect(r.meanMsPerS).toBeCloseTo(400, 0);
    expect(r.ranMsPerS).toBeCloseTo(450, 0);
  });

  it('says nothing when no process can be read (not Linux, or gone)', () => {
    expect(sampleRunQueueWait([42], 1000, () => undefined).stop()).toBeUndefined();
  });
});
