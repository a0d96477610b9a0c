import axios from 'axios';
import { formatSummary, LoadChecker, summarize } from '../packages/loadcheck/src';
import { ComposeLab } from './support/compose-lab';

jest.setTimeout(600_000);

describe('the compose lab (real containers)', () => {
  let lab: ComposeLab;

  beforeAll(async () => {
    lab = await ComposeLab.up();
  });

  afterAll(async () => {
    await lab?.down();
  });

  it('answers /api through the balancer, alternating client-1 and client-2', async () => {
    const instances: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await axios.get<{ instance: string; version: string }>(`${lab.lbUrl}/api`);
      expect(r.status).toBe(200);
      expect(r.data.version).toBe('v1');
      expect(r.headers['x-upstream']).toBe(r.data.instance === 'client-1' ? 'client-1:8081' : 'client-2:8082');
      instances.push(r.data.instance);
    }
    expect(new Set(instances)).toEqual(new Set(['client-1', 'client-2']));
    for (let i = 1; i < instances.length; i++) expect(instances[i]).not.toBe(instances[i - 1]);
  });

  it('stopping client-1 under steady load fails no request; it leaves rotation, then comes back when started', async () => {
    const load = new LoadChecker({ url: `${lab.lbUrl}/api`, rate: 100 });
    const post = new LoadChecker({ url: `${lab.lbUrl}/api`, rate: 20, method: 'POST', body: { order: 42 } });
    load.start();
    post.start();
    await new Promise((r) => setTimeout(r, 1000));

    const stopAt = load.elapsedMs;
    const stopping = lab.compose('stop', 'client-1');
    const outAfterMs = await lab.waitForState('client-1:8081', 'unhealthy', 10_000);
    await stopping;
    await new Promise((r) => setTimeout(r, 1000));
    const onlyClient2From = load.elapsedMs;

    await lab.compose('start', 'client-1');
    const startedAt = Date.now();
    const backAfterMs = await lab.waitForState('client-1:8081', 'healthy', 15_000);
    const backSinceStartCmd = Date.now() - startedAt;
    await new Promise((r) => setTimeout(r, 1000));
    const outcomes = await load.stop();
    const postOutcomes = await post.stop();

    const summary = summarize(outcomes);
    const postSummary = summarize(postOutcomes);
    console.log(
      `stop client-1 at ${Math.round(stopAt)} ms; out of rotation after ${outAfterMs} ms; ` +
        `back ${backAfterMs} ms after start returned (${backSinceStartCmd} ms incl. polling)\nGET:\n${formatSummary(summary)}\nPOST:\n${formatSummary(postSummary)}`,
    );
    expect(summary.failed).toBe(0);
    expect(postSummary.failed).toBe(0);
    expect(summary.sent).toBeGreaterThan(300);
    // Out of rotation within ~3.5 s of the stop (3 failed pings at 1 s).
    expect(outAfterMs).toBeLessThanOrEqual(3500);
    // While it was stopped, every answer came from client-2.
    const whileStopped = outcomes.filter((o) => o.sentAt > stopAt + 3500 && o.sentAt < onlyClient2From);
    expect(whileStopped.length).toBeGreaterThan(50);
    expect(new Set(whileStopped.map((o) => o.instance))).toEqual(new Set(['client-2']));
    // Back within ~2 s once its container is running again.
    expect(backAfterMs).toBeLessThanOrEqual(2500);
    const after = outcomes.filter((o) => o.sentAt > load.elapsedMs - 900);
    expect(after.some((o) => o.instance === 'client-1')).toBe(true);
  });
});
