import { LoadChecker, summarize } from '../packages/loadcheck/src';
import { ComposeLab } from './support/compose-lab';

jest.setTimeout(600_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('blue/green and canary on compose under load (real containers)', () => {
  let lab: ComposeLab;

  beforeAll(async () => {
    lab = await ComposeLab.up();
  });

  afterAll(async () => {
    await lab?.down();
  });

  it('blue/green at 200 requests/s: 0 failed; after the switch every response comes from green', async () => {
    const get = new LoadChecker({ url: `${lab.lbUrl}/api`, rate: 200 });
    const post = new LoadChecker({ url: `${lab.lbUrl}/api`, rate: 20, method: 'POST', body: { order: 1 } });
    get.start();
    post.start();
    await sleep(1500);
    const result = await lab.deploy('--strategy', 'blue-green', '--version', 'v2');
    await sleep(1500);
    const [g, p] = await Promise.all([get.stop(), post.stop()]);
    console.log(result.output);
    expect(result.code).toBe(0);
    expect(summarize(g).failed).toBe(0);
    expect(summarize(p).failed).toBe(0);
    const switchAt = result.report!.switchedAt! - get.startedAtEpoch;
    const after = g.filter((o) => o.sentAt > switchAt);
    expect(after.length).toBeGreaterThan(200);
    expect(new Set(after.map((o) => o.version))).toEqual(new Set(['v2']));
    expect(new Set(g.filter((o) => o.sentAt < switchAt - 50).map((o) => o.version))).toEqual(new Set(['v1']));
    expect(result.report!.final.map((i) => i.version)).toEqual(['v2', 'v2']);
    // No helper containers left behind.
    expect(await lab.compose('ps', '--format', '{{.Name}}')).not.toMatch(/green/);
  });

  it('canary of a healthy version: shares within ±5 points per step, sticky users, promotion with 0 failed', async () => {
    const get = new LoadChecker({ url: `${lab.lbUrl}/api`, rate: 250 });
    const users = new LoadChecker({ url: `${lab.lbUrl}/api`, rate: 50, userKeys: Array.from({ length: 40 }, (_, i) => `user-${i}`) });
    get.start();
    users.start();
    await sleep(1000);
    const result = await lab.deploy('--strategy', 'canary', '--version', 'v3', '--canary-steps', '10,50,100', '--step-duration', '5s', '--analysis-interval', '500ms');
    await sleep(1000);
    const [g, u] = await Promise.all([get.stop(), users.stop()]);
    console.log(result.output);
    expect(result.code).toBe(0);
    expect(summarize(g).failed + summarize(u).failed).toBe(0);
    const steps = result.report!.canarySteps!;
    expect(steps.map((s) => `${s.percent}:${s.verdict}`)).toEqual(['10:pass', '50:pass', '100:pass']);
    for (const step of steps) {
      const inStep = g.filter((o) => o.sentAt >= step.startedAt - get.startedAtEpoch + 100 && o.sentAt <= step.endedAt - get.startedAtEpoch);
      expect(inStep.length).toBeGreaterThanOrEqual(1000);
      const share = (100 * inStep.filter((o) => o.version === 'v3').length) / inStep.length;
      console.log(`step ${step.percent}%: measured ${share.toFixed(1)}% on v3 over ${inStep.length} requests`);
      expect(Math.abs(share - step.percent)).toBeLessThanOrEqual(5);
      const byUser = new Map<string, Set<string>>();
      for (const o of u.filter((x) => x.sentAt >= step.startedAt - users.startedAtEpoch + 100 && x.sentAt <= step.endedAt - users.startedAtEpoch)) {
        byUser.set(o.user!, (byUser.get(o.user!) ?? new Set()).add(o.version!));
      }
      expect([...byUser.values()].every((v) => v.size === 1)).toBe(true);
    }
    expect(result.report!.final.map((i) => i.version)).toEqual(['v3', 'v3']);
  });

  it('canary of a broken version (FAIL_RATE=0.5): rolled back in the first step, failures bounded and reported, 100% back on the old version', async () => {
    const get = new LoadChecker({ url: `${lab.lbUrl}/api`, rate: 200 });
    get.start();
    await sleep(1000);
    const result = await lab.deploy('--strategy', 'canary', '--version', 'v4-broken', '--env', 'FAIL_RATE=0.5', '--step-duration', '10s');
    await sleep(1500);
    const g = await get.stop();
    const s = summarize(g);
    console.log(result.output);
    const step = result.report!.canarySteps![0];
    const exposedMs = step.endedAt - step.startedAt;
    const bound = 0.1 * 0.5 * 200 * (exposedMs / 1000);
    console.log(`broken canary: ${s.failed} failed of ${s.sent} (bound ${bound.toFixed(1)} = 10% x 0.5 x 200/s x ${exposedMs} ms)`);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/canary failed at 10%: error rate: canary/);
    expect(result.report!.canarySteps).toHaveLength(1);
    expect(s.failed).toBeLessThanOrEqual(Math.ceil(bound * 1.5) + 5);
    const after = g.filter((o) => o.sentAt > step.endedAt - get.startedAtEpoch + 200);
    expect(after.length).toBeGreaterThan(100);
    expect(new Set(after.map((o) => o.version))).toEqual(new Set(['v3']));
    expect(result.report!.final.map((i) => i.version)).toEqual(['v3', 'v3']);
  });
});
