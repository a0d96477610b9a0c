import fs from 'node:fs';
import path from 'node:path';
import { LoadChecker, summarize } from '@zdl/loadcheck';
import { DEFAULT_THRESHOLDS } from './analysis/canary-analysis';
import { realClock } from './clock';
import { silentReporter } from './deploy-report';
import { blueGreenDeploy } from './strategies/blue-green-deploy';
import { canaryDeploy } from './strategies/canary-deploy';
import { DEFAULT_DEPLOY_OPTIONS, DeployContext } from './strategies/deploy-context';
import { sleep, startLoad, withLocalLab } from './test-support/local-lab-fixture';

// Blue/green and canary on real local processes under real load (the compose e2e, fast).
jest.setTimeout(180_000);

/**
 * Balancer settings each strategy runs under. workers 2: cluster mode, where a switch must reach
 * every worker and the canary analysis reads metrics summed over the workers. Both proxy engines
 * (LB_PROXY_ENGINE); the undici one in cluster mode covers its single-process path too (the rolling
 * deploy test runs all four combinations), so the file stays under a few minutes.
 */
const SETTINGS: [number, string][] = [
  [1, 'http-proxy'],
  [2, 'http-proxy'],
  [2, 'undici'],
];

/** The balancer said which engine it proxied with (its startup line). */
function expectEngine(lab: { stateFile: { dir: string } }, engine: string): void {
  expect(fs.readFileSync(path.join(lab.stateFile.dir, 'logs', 'lb.log'), 'utf8')).toContain(`"proxyEngine":"${engine}"`);
}

describe('blue/green and canary on the local runtime under load', () => {
  it.each(SETTINGS)('blue/green: 0 failed, and every request routed under the switched split is answered by green (balancer workers: %i, engine %s)', async (workers, engine) => {
    await withLocalLab(async (lab, lb) => {
      // The balancer tags each response with the generation of the split that routed it
      // (x-lb-split): the evidence is what the balancer did, not wall-clock stamps.
      const load = startLoad(lab.lbUrl, 1);
      const routed = new LoadChecker({ url: `${lab.lbUrl}/api`, rate: 200, recordHeaders: ['x-lb-split'] });
      routed.start();
      let switchGeneration: number | undefined;
      // The deployer's admin client, watched: right after the switch to green, read its generation.
      const watched = Object.create(lb) as typeof lb;
      watched.setSplit = async (groups) => {
        await lb.setSplit(groups);
        if (groups?.[0]?.group === 'green' && groups[0].weight > 0) {
          const r = await fetch(`${lab.adminUrl}/split`, { headers: { authorization: `Bearer ${lab.state.adminToken}` } });
          switchGeneration = ((await r.json()) as { generation: number }).generation;
        }
      };
      await sleep(1500);
      const report = await blueGreenDeploy(new DeployContext(watched, lab.runtime(), realClock, silentReporter), {
        ...DEFAULT_DEPLOY_OPTIONS,
        version: 'v2',
        keepBlueMs: 0,
      });
      await sleep(1000);
      const get = await routed.stop();
      const { post, slow } = await load.stop();
      expect(report.error).toBeUndefined();
      expect(summarize(get).failed).toBe(0);
      expect(summarize(post).failed).toBe(0);
      expect(summarize(slow).failed).toBe(0);
      expect(switchGeneration).toBeGreaterThan(0);
      const generation = (o: (typeof get)[number]) => Number(o.headers?.['x-lb-split']);
      expect(get.every((o) => Number.isInteger(generation(o)))).toBe(true);
      const before = get.filter((o) => generation(o) < switchGeneration!);
      const after = get.filter((o) => generation(o) >= switchGeneration!);
      expect(before.length).toBeGreaterThan(200);
      expect(new Set(before.map((o) => o.version))).toEqual(new Set(['v1']));
      expect(after.length).toBeGreaterThan(200);
      expect(new Set(after.map((o) => o.version))).toEqual(new Set(['v2']));
      expect(report.final.map((i) => i.version)).toEqual(['v2', 'v2']);
      expectEngine(lab, engine);
    }, { lbEnv: { LB_WORKERS: String(workers), LB_PROXY_ENGINE: engine } });
  });

  it.each(SETTINGS)('canary of a healthy version: each step gets its share ±5 points over ≥1,000 requests, sticky users stay put, promotion with 0 failed (balancer workers: %i, engine %s)', async (workers, engine) => {
    await withLocalLab(async (lab, lb) => {
      const load = startLoad(lab.lbUrl, 250);
      const users = new LoadChecker({ url: `${lab.lbUrl}/api`, rate: 50, userKeys: Array.from({ length: 40 }, (_, i) => `user-${i}`) });
      users.start();
      await sleep(1000);
      const report = await canaryDeploy(new DeployContext(lb, lab.runtime(), realClock, silentReporter), {
        ...DEFAULT_DEPLOY_OPTIONS,
        version: 'v2',
        steps: [10, 50, 100],
        stepDurationMs: 4500,
        stepRequests: 0,
        analysisIntervalMs: 500,
        thresholds: DEFAULT_THRESHOLDS,
        canaryInstances: 1,
      });
      await sleep(1000);
      const { get, post, slow } = await load.stop();
      const sticky = await users.stop();
      expect(report.error).toBeUndefined();
      expect(summarize(get).failed + summarize(post).failed + summarize(slow).failed + summarize(sticky).failed).toBe(0);
      for (const step of report.canarySteps!) {
        const from = step.startedAt - load.get.startedAtEpoch + 100;
        const to = step.endedAt - load.get.startedAtEpoch;
        const inStep = get.filter((o) => o.sentAt >= from && o.sentAt <= to);
        expect(inStep.length).toBeGreaterThanOrEqual(1000);
        const share = (100 * inStep.filter((o) => o.version === 'v2').length) / inStep.length;
        expect(Math.abs(share - step.percent)).toBeLessThanOrEqual(5);
        // Sticky users: one version per user within the step.
        const uFrom = step.startedAt - users.startedAtEpoch + 100;
        const uTo = step.endedAt - users.startedAtEpoch;
        const byUser = new Map<string, Set<string>>();
        for (const o of sticky.filter((x) => x.sentAt >= uFrom && x.sentAt <= uTo)) {
          if (!byUser.has(o.user!)) byUser.set(o.user!, new Set());
          byUser.get(o.user!)!.add(o.version!);
        }
        expect([...byUser.values()].every((v) => v.size === 1)).toBe(true);
      }
      expect(report.final.map((i) => i.version)).toEqual(['v2', 'v2']);
      expectEngine(lab, engine);
    }, { lbEnv: { LB_WORKERS: String(workers), LB_PROXY_ENGINE: engine } });
  });

  it.each(['http-proxy', 'undici'])('canary of a broken version (FAIL_RATE=0.5): rolled back within the first step, failures bounded, back on v1 (engine %s)', async (engine) => {
    await withLocalLab(async (lab, lb) => {
      const load = new LoadChecker({ url: `${lab.lbUrl}/api`, rate: 200 });
      load.start();
      await sleep(1000);
      const report = await canaryDeploy(new DeployContext(lb, lab.runtime(), realClock, silentReporter), {
        ...DEFAULT_DEPLOY_OPTIONS,
        version: 'v2-broken',
        env: { FAIL_RATE: '0.5' },
        steps: [10, 50, 100],
        stepDurationMs: 10_000,
        stepRequests: 0,
        analysisIntervalMs: 1000,
        thresholds: DEFAULT_THRESHOLDS,
        canaryInstances: 1,
      });
      await sleep(1000);
      const outcomes = await load.stop();
      const s = summarize(outcomes);
      const step = report.canarySteps![0];
      const exposedMs = step.endedAt - step.startedAt;
      // share × failure rate × requests sent while the canary had its share (+ a little for in-flight).
      const bound = 0.1 * 0.5 * 200 * (exposedMs / 1000);
      console.log(`broken canary: ${s.failed} failed of ${s.sent}; exposed ${exposedMs} ms; bound ${bound.toFixed(1)}; ${report.error?.message}`);
      expect(report.ok).toBe(false);
      expect(report.error!.message).toMatch(/^canary failed at 10%: error rate: canary/);
      expect(report.canarySteps!).toHaveLength(1);
      expect(exposedMs).toBeLessThan(10_000);
      expect(s.failed).toBeGreaterThan(0);
      expect(s.failed).toBeLessThanOrEqual(Math.ceil(bound * 1.5) + 5);
      const after = outcomes.filter((o) => o.sentAt > step.endedAt - load.startedAtEpoch + 200);
      expect(new Set(after.map((o) => o.version))).toEqual(new Set(['v1']));
      expect(report.final.map((i) => i.version)).toEqual(['v1', 'v1']);
      expect((await lb.list()).map((u) => `${u.group}:${u.state}`)).toEqual(['default:healthy', 'default:healthy']);
      expectEngine(lab, engine);
    }, { lbEnv: { LB_PROXY_ENGINE: engine } });
  });
});
