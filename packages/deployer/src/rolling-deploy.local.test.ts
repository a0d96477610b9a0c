import fs from 'node:fs';
import path from 'node:path';
import { formatSummary, summarize } from '@zdl/loadcheck';
import { realClock } from './clock';
import { silentReporter } from './deploy-report';
import { DEFAULT_DEPLOY_OPTIONS, DeployContext } from './strategies/deploy-context';
import { rollingDeploy } from './strategies/rolling-deploy';
import { startLoad, withLocalLab } from './test-support/local-lab-fixture';

// Real processes, real sockets, real load: the compose e2e scenarios on the local runtime.
jest.setTimeout(120_000);

describe('rolling deploy on the local runtime under load', () => {
  // workers 2: the balancer in cluster mode, where the drain has to wait for every worker's requests.
  // Both proxy engines (LB_PROXY_ENGINE): the opt-in undici one must keep the same promise.
  it.each([
    [1, 'http-proxy'],
    [2, 'http-proxy'],
    [1, 'undici'],
    [2, 'undici'],
  ])('replaces v1 with v2 with zero failed requests, long requests and POSTs included (balancer workers: %i, engine %s)', async (workers, engine) => {
    await withLocalLab(async (lab, lb) => {
      const l = startLoad(lab.lbUrl);
      await new Promise((r) => setTimeout(r, 2500));
      const deployFrom = l.get.elapsedMs;
      const report = await rollingDeploy(new DeployContext(lb, lab.runtime(), realClock, silentReporter), {
        ...DEFAULT_DEPLOY_OPTIONS,
        version: 'v2',
      });
      const deployTo = l.get.elapsedMs;
      await new Promise((r) => setTimeout(r, 1500));
      const { get, post, slow } = await l.stop();
      const s = summarize(get);
      console.log(`deploy took ${report.durationMs} ms\n${formatSummary(s)}`);
      expect(report.error).toBeUndefined();
      expect(report.ok).toBe(true);
      expect(s.failed).toBe(0);
      expect(summarize(post).failed).toBe(0);
      expect(summarize(slow).failed).toBe(0);
      expect(slow.length).toBeGreaterThan(10);
      const during = get.filter((o) => o.sentAt >= deployFrom && o.sentAt <= deployTo);
      expect(new Set(during.map((o) => o.version))).toEqual(new Set(['v1', 'v2']));
      const after = get.filter((o) => o.sentAt > deployTo + 100);
      expect(after.length).toBeGreaterThan(100);
      expect(new Set(after.map((o) => o.version))).toEqual(new Set(['v2']));
      expect(report.final.map((i) => i.version)).toEqual(['v2', 'v2']);
      // The balancer says which engine it proxied with (its startup line).
      expect(fs.readFileSync(path.join(lab.stateFile.dir, 'logs', 'lb.log'), 'utf8')).toContain(`"proxyEngine":"${engine}"`);
    }, { lbEnv: { LB_WORKERS: String(workers), LB_PROXY_ENGINE: engine } });
  });

  it('aborts a version that never becomes healthy: every instance back on v1, zero failed requests', async () => {
    await withLocalLab(async (lab, lb) => {
      const l = startLoad(lab.lbUrl);
      await new Promise((r) => setTimeout(r, 1000));
      const report = await rollingDeploy(
        new DeployContext(lb, lab.runtime(), realClock, silentReporter),
        { ...DEFAULT_DEPLOY_OPTIONS, version: 'v2-broken', healthTimeoutMs: 3000, env: { STARTUP_DELAY_MS: '600000' } },
      );
      await new Promise((r) => setTimeout(r, 1000));
      const { get, post, slow } = await l.stop();
      expect(report.ok).toBe(false);
      expect(report.error?.code).toBe('DEPLOY_ERR_HEALTH_TIMEOUT');
      expect(report.slots.map((x) => x.result)).toEqual(['rolled-back', 'untouched']);
      expect(report.final.map((i) => i.version)).toEqual(['v1', 'v1']);
      expect(summarize(get).failed).toBe(0);
      expect(summarize(post).failed).toBe(0);
      expect(summarize(slow).failed).toBe(0);
      expect(new Set(get.map((o) => o.version))).toEqual(new Set(['v1']));
      expect((await lb.list()).map((u) => u.state)).toEqual(['healthy', 'healthy']);
    });
  });
});
