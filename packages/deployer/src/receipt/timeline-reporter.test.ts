import { type TimelineEvent, TimelineReporter } from './timeline-reporter';

describe('TimelineReporter', () => {
  it('posts the steps in order, one at a time, and a deploy that fails to post goes on', async () => {
    const posted: TimelineEvent[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const post = async (e: TimelineEvent) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
      if (e.type === 'message') throw new Error('balancer gone');
      posted.push(e);
    };
    const r = new TimelineReporter(post, 'd1', { heartbeatMs: 60_000 });
    r.begin({ strategy: 'rolling', from: 'v1', to: 'v2' });
    r.stepStarted('client-1', 'drain');
    r.message('lost');
    r.stepDone({ slot: 'client-1', step: 'drain', ok: true, ms: 12, detail: 'x'.repeat(2000) });
    await r.end(true, 'done');
    expect(posted.map((e) => e.type)).toEqual(['start', 'step-started', 'step-done', 'end']);
    expect(posted.every((e) => e.deploy === 'd1')).toBe(true);
    expect(posted[2].detail!.length).toBeLessThanOrEqual(500);
    expect(maxInFlight).toBe(1);
    expect(r.failedPosts).toBe(1);
  });

  it('drops events beyond its queue instead of growing when the balancer does not answer', async () => {
    const r = new TimelineReporter(() => new Promise<void>(() => {}), 'd1', { heartbeatMs: 60_000, maxQueue: 5 });
    for (let i = 0; i < 50; i++) r.message(`m${i}`);
    expect(r.droppedEvents).toBe(50 - 1 - 5); // one is being posted, five wait
    await r.end(false, 'x', 10); // does not hang
    r.close();
  });
});
