import { DEFAULT_THRESHOLDS } from '../analysis/canary-analysis';
import { silentReporter } from '../deploy-report';
import { FakeClock, FakeLb, FakeRuntime, trafficMetrics } from '../test-support/fakes';
import { canaryDeploy, type CanaryOptions } from './canary-deploy';
import { DEFAULT_DEPLOY_OPTIONS, DeployContext } from './deploy-context';

function setup(canaryFailRate: number) {
  const clock = new FakeClock();
  const runtime = new FakeRuntime(clock, ['c1', 'c2']);
  const lb = new FakeLb(runtime);
  for (const p of runtime.procs.values()) lb.register(p.inst);
  lb.metricsText = trafficMetrics(lb, canaryFailRate);
  return { clock, runtime, lb, ctx: new DeployContext(lb, runtime, clock, silentReporter) };
}
const opts: CanaryOptions = {
  ...DEFAULT_DEPLOY_OPTIONS,
  version: 'v2',
  steps: [10, 50, 100],
  stepDurationMs: 3000,
  stepRequests: 0,
  analysisIntervalMs: 1000,
  thresholds: DEFAULT_THRESHOLDS,
  canaryInstances: 1,
};

describe('canary deploy (fake runtime, fake clock, scripted balancer metrics)', () => {
  it('walks 10% → 50% → 100% on healthy numbers, then promotes every slot and retires the canary', async () => {
    const { runtime, lb, ctx } = setup(0);
    const report = await canaryDeploy(ctx, opts);
    expect(report.error).toBeUndefined();
    expect(report.canarySteps!.map((s) => `${s.percent}:${s.verdict}`)).toEqual(['10:pass', '50:pass', '100:pass']);
    expect(lb.log.filter((l) => l.startsWith('split canary')).map((l) => l.split(' ')[1])).toEqual([
      'canary:0,baseline:100',
      'canary:10,baseline:90',
      'canary:50,baseline:50',
      'canary:100,baseline:0',
    ]);
    expect(report.final.map((i) => i.version)).toEqual(['v2', 'v2']);
    expect([...runtime.procs.keys()].filter((k) => k.includes('-canary'))).toEqual([]);
    expect(lb.split).toBeNull();
    expect(lb.minInRotation).toBeGreaterThanOrEqual(1);
  });

  it('rolls back a broken canary within the first step and names the metric', async () => {
    const { runtime, lb, ctx, clock } = setup(0.5);
    const report = await canaryDeploy(ctx, { ...opts, thresholds: { ...DEFAULT_THRESHOLDS, minRequests: 5 } });
    expect(report.ok).toBe(false);
    expect(report.error!.code).toBe('DEPLOY_ERR_CANARY_FAILED');
    expect(report.error!.message).toMatch(/^canary failed at 10%: error rate: canary 50\.0% > baseline 0\.0%/);
    expect(report.canarySteps!.map((s) => s.percent)).toEqual([10]);
    // Stopped at the first analysis, not at the end of the step.
    expect(clock.t).toBeLessThan(3000 + 1000);
    expect(report.final.map((i) => i.version)).toEqual(['v1', 'v1']);
    expect(lb.inRotation().sort()).toEqual(['c1', 'c2']);
    expect([...runtime.procs.keys()].filter((k) => k.includes('-canary'))).toEqual([]);
    expect(lb.split).toBeNull();
  });

  it('does not promote a canary it could not judge (no traffic)', async () => {
    const { lb, ctx } = setup(0);
    lb.metricsText = () => '';
    const report = await canaryDeploy(ctx, opts);
    expect(report.ok).toBe(false);
    expect(report.error!.message).toMatch(/only 0 canary requests/);
    expect(report.final.map((i) => i.version)).toEqual(['v1', 'v1']);
  });
});
