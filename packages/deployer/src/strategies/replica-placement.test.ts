import { DEFAULT_THRESHOLDS } from '../analysis/canary-analysis';
import { silentReporter } from '../deploy-report';
import { repairLab } from '../journal/repair-lab';
import { FakeReplicaRuntime } from '../test-support/fake-replica-runtime';
import { FakeClock, FakeLb, trafficMetrics } from '../test-support/fakes';
import { blueGreenDeploy } from './blue-green-deploy';
import { canaryDeploy } from './canary-deploy';
import { DEFAULT_DEPLOY_OPTIONS, DeployContext } from './deploy-context';
import { rollingDeploy } from './rolling-deploy';

function setup(count: number) {
  const clock = new FakeClock();
  const runtime = new FakeReplicaRuntime(clock, count);
  const lb = new FakeLb(runtime);
  runtime.lb = lb;
  for (const p of runtime.procs.values()) lb.register(p.inst);
  return { clock, runtime, lb, ctx: new DeployContext(lb, runtime, clock, silentReporter) };
}

describe("the same strategies on a replica set (the runtime's placement: 'replicas')", () => {
  it('rolling, 5 replicas in batches of 2: scale up by the batch, old ones out only once the new are healthy; never below 5; back to 5 plain replicas', async () => {
    const { runtime, lb, ctx } = setup(5);
    const report = await rollingDeploy(ctx, { ...DEFAULT_DEPLOY_OPTIONS, version: 'v2', batchSize: 2 });
    expect(report.ok).toBe(true);
    expect(runtime.log.filter((l) => l.startsWith('scale up'))).toEqual(['scale up 2 × v2 as surge', 'scale up 2 × v2 as surge', 'scale up 1 × v2 as surge']);
    // Nothing is refilled in place: new instances take the old ones' places.
    expect(runtime.log.some((l) => l.startsWith('start '))).toBe(false);
    expect(lb.minInRotation).toBe(5);
    expect(report.final.map((i) => i.version)).toEqual(['v2', 'v2', 'v2', 'v2', 'v2']);
    expect([...runtime.procs.values()].filter((p) => p.running)).toHaveLength(5);
    expect(await runtime.helpers()).toEqual([]);
    // The discovered upstreams were not added a second time.
    expect(lb.log.filter((l) => l.startsWith('add'))).toEqual([]);
  });

  it('blue/green of 3 replicas: green in its own group, all traffic moved in one call, blue removed, never below 3', async () => {
    const { runtime, lb, ctx } = setup(3);
    const report = await blueGreenDeploy(ctx, { ...DEFAULT_DEPLOY_OPTIONS, version: 'v2', keepBlueMs: 0 });
    expect(report.ok).toBe(true);
    expect(runtime.log.filter((l) => l.startsWith('scale up'))).toEqual(['scale up 3 × v2 as green']);
    // Before the switch only v1 served, after it only v2: never both.
    expect(lb.servingVersions.every((v) => v.length === 1)).toBe(true);
    expect(lb.minInRotation).toBeGreaterThanOrEqual(3);
    expect(report.final.map((i) => i.version)).toEqual(['v2', 'v2', 'v2']);
    expect([...lb.ups.values()].map((u) => u.group)).toEqual(['default', 'default', 'default']);
    expect(lb.split).toBeNull();
  });

  it('canary of 1 beside 4 replicas: on promotion 3 more new replicas join before the 4 old ones leave', async () => {
    const { runtime, lb, ctx } = setup(4);
    lb.metricsText = trafficMetrics(lb, 0);
    const report = await canaryDeploy(ctx, {
      ...DEFAULT_DEPLOY_OPTIONS,
      version: 'v2',
      steps: [10, 100],
      stepDurationMs: 1000,
      stepRequests: 0,
      analysisIntervalMs: 500,
      thresholds: DEFAULT_THRESHOLDS,
      canaryInstances: 1,
    });
    expect(report.ok).toBe(true);
    expect(runtime.log.filter((l) => l.startsWith('scale up'))).toEqual(['scale up 1 × v2 as canary', 'scale up 3 × v2 as surge']);
    expect(lb.minInRotation).toBeGreaterThanOrEqual(4);
    expect(report.final.map((i) => i.version)).toEqual(['v2', 'v2', 'v2', 'v2']);
    expect(await runtime.helpers()).toEqual([]);
  });

  it('a rolling deploy that died after its scale-up is repaired: the replicas back in rotation, the new ones removed', async () => {
    const { runtime, lb, clock } = setup(3);
    const fresh = await runtime.startBesideMany(['web-1', 'web-2'], 'v2', {}, 'surge');
    await lb.drain(fresh[0].name);
    const r = await repairLab({ lb, runtime, clock, say: () => undefined, healthTimeoutMs: 5000, drainTimeoutMs: 1000 });
    expect(r.consistent).toBe(true);
    expect(r.slots.map((s) => `${s.slot}=${s.version} ${s.state}`)).toEqual(['web-1=v1 healthy', 'web-2=v1 healthy', 'web-3=v1 healthy']);
    expect(await runtime.helpers()).toEqual([]);
    expect([...lb.ups.keys()]).toHaveLength(3);
  });
});
