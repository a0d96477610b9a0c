import { silentReporter } from '../deploy-report';
import { FakeClock, FakeLb, FakeRuntime } from '../test-support/fakes';
import { DEFAULT_DEPLOY_OPTIONS, DeployContext } from './deploy-context';
import { rollingDeploy } from './rolling-deploy';

function setup(slots = ['c1', 'c2']) {
  const clock = new FakeClock();
  const runtime = new FakeRuntime(clock, slots);
  const lb = new FakeLb(runtime);
  for (const p of runtime.procs.values()) lb.register(p.inst);
  const ctx = new DeployContext(lb, runtime, clock, silentReporter);
  return { clock, runtime, lb, ctx };
}

describe('rolling deploy (fake runtime, fake clock)', () => {
  it('replaces one instance at a time: drain → stop → start → health in the balancer → enable', async () => {
    const { runtime, lb, ctx } = setup();
    const report = await rollingDeploy(ctx, { ...DEFAULT_DEPLOY_OPTIONS, version: 'v2' });
    expect(report.ok).toBe(true);
    expect(runtime.log).toEqual(['prepare v2', 'stop c1@v1', 'start c1@v2', 'stop c2@v1', 'start c2@v2']);
    expect(lb.log).toEqual(['drain c1', 'remove c1', 'add c1', 'enable c1', 'drain c2', 'remove c2', 'add c2', 'enable c2']);
    expect(report.final.map((i) => i.version)).toEqual(['v2', 'v2']);
    expect(report.slots.map((s) => s.result)).toEqual(['updated', 'updated']);
    // The new instance is enabled only once the balancer saw it healthy (500 ms boot).
    const health = report.steps.filter((s) => s.step === 'health');
    expect(health.map((s) => s.ms >= 500)).toEqual([true, true]);
    // One instance out at a time: never fewer than N-1 in rotation.
    expect(lb.minInRotation).toBe(1);
  });

  it('with surge, capacity never drops below the number of instances', async () => {
    const { runtime, lb, ctx } = setup();
    const report = await rollingDeploy(ctx, { ...DEFAULT_DEPLOY_OPTIONS, version: 'v2', surge: true });
    expect(report.ok).toBe(true);
    expect(lb.minInRotation).toBe(2);
    expect(runtime.log.slice(0, 4)).toEqual(['prepare v2', 'start-beside c1@v2 as surge', 'stop c1@v1', 'start c1@v2']);
    expect(report.final.map((i) => i.version)).toEqual(['v2', 'v2']);
    expect([...runtime.procs.keys()].filter((k) => k.endsWith('-surge'))).toEqual([]);
  });

  it('replaces a batch of instances together with batchSize', async () => {
    const { runtime, ctx } = setup(['c1', 'c2', 'c3', 'c4']);
    const report = await rollingDeploy(ctx, { ...DEFAULT_DEPLOY_OPTIONS, version: 'v2', batchSize: 2 });
    expect(report.ok).toBe(true);
    expect(runtime.log.slice(1, 5)).toEqual(['stop c1@v1', 'stop c2@v1', 'start c1@v2', 'start c2@v2']);
  });

  it('rolls back a version that never becomes healthy: old version back in its slot, untouched slots untouched', async () => {
    const { runtime, lb, ctx, clock } = setup(['c1', 'c2', 'c3']);
    runtime.broken.add('bad');
    const report = await rollingDeploy(ctx, { ...DEFAULT_DEPLOY_OPTIONS, version: 'bad', healthTimeoutMs: 2000 });
    expect(report.ok).toBe(false);
    expect(report.error).toMatchObject({ code: 'DEPLOY_ERR_HEALTH_TIMEOUT' });
    expect(report.error!.message).toMatch(/c1 was not healthy in the balancer within 2000 ms/);
    expect(report.slots.map((s) => s.result)).toEqual(['rolled-back', 'untouched', 'untouched']);
    expect(report.final.map((i) => `${i.slot}@${i.version}`)).toEqual(['c1@v1', 'c2@v1', 'c3@v1']);
    expect(runtime.log).toEqual(['prepare bad', 'stop c1@v1', 'start c1@bad', 'stop c1@bad', 'start c1@v1']);
    expect(lb.inRotation().sort()).toEqual(['c1', 'c2', 'c3']);
    expect(clock.t).toBeGreaterThanOrEqual(2000);
  });

  it('pauses between batches', async () => {
    const { ctx } = setup();
    const report = await rollingDeploy(ctx, { ...DEFAULT_DEPLOY_OPTIONS, version: 'v2', pauseMs: 5000 });
    expect(report.steps.filter((s) => s.step === 'pause')).toHaveLength(1);
    expect(report.durationMs).toBeGreaterThanOrEqual(5000);
  });

  it('refuses to start when the balancer does not know the instances, and changes nothing', async () => {
    const { runtime, lb, ctx } = setup();
    lb.ups.clear();
    const report = await rollingDeploy(ctx, { ...DEFAULT_DEPLOY_OPTIONS, version: 'v2' });
    expect(report.ok).toBe(false);
    expect(report.error!.code).toBe('DEPLOY_ERR_PRECONDITION');
    expect(runtime.log).toEqual([]);
  });

  it('a surge helper that fails its health gate is removed and nothing else changes', async () => {
    const { runtime, lb, ctx } = setup();
    runtime.broken.add('bad');
    const report = await rollingDeploy(ctx, { ...DEFAULT_DEPLOY_OPTIONS, version: 'bad', surge: true, healthTimeoutMs: 1000 });
    expect(report.ok).toBe(false);
    expect(runtime.log).toEqual(['prepare bad', 'start-beside c1@bad as surge', 'remove-beside c1-surge']);
    expect(lb.inRotation().sort()).toEqual(['c1', 'c2']);
  });
});
