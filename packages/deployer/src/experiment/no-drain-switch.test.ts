import { silentReporter } from '../deploy-report';
import { DEFAULT_DEPLOY_OPTIONS, DeployContext } from '../strategies/deploy-context';
import { rollingDeploy } from '../strategies/rolling-deploy';
import { FakeClock, FakeLb, FakeRuntime } from '../test-support/fakes';

function setup() {
  const clock = new FakeClock();
  const runtime = new FakeRuntime(clock, ['c1', 'c2']);
  const lb = new FakeLb(runtime);
  for (const p of runtime.procs.values()) lb.register(p.inst);
  return { runtime, lb, ctx: new DeployContext(lb, runtime, clock, silentReporter) };
}

describe('the deployer lab switch noDrain (npm run experiment only)', () => {
  it('is off by default: the rolling deploy drains before it stops', async () => {
    const { lb, ctx } = setup();
    expect(ctx.labSwitches).toEqual({});
    await rollingDeploy(ctx, { ...DEFAULT_DEPLOY_OPTIONS, version: 'v2' });
    expect(lb.log.slice(0, 2)).toEqual(['drain c1', 'remove c1']);
  });

  it('on: the instance is stopped while still in the balancer, never drained, then deregistered', async () => {
    const { runtime, lb, ctx } = setup();
    ctx.labSwitches = { noDrain: true };
    const report = await rollingDeploy(ctx, { ...DEFAULT_DEPLOY_OPTIONS, version: 'v2' });
    expect(report.ok).toBe(true);
    expect(lb.log.filter((l) => l.startsWith('drain'))).toEqual([]);
    expect(lb.log).toEqual(['remove c1', 'add c1', 'enable c1', 'remove c2', 'add c2', 'enable c2']);
    // Stopped first (the strategy's own stop that follows finds it stopped), then removed from the balancer.
    expect(runtime.log).toEqual(['prepare v2', 'stop c1@v1', 'stop c1@v1', 'start c1@v2', 'stop c2@v1', 'stop c2@v1', 'start c2@v2']);
    const c1 = report.steps.filter((s) => s.slot === 'c1').map((s) => s.step);
    expect(c1.slice(0, 2)).toEqual(['stop', 'deregister']);
    expect(report.final.map((i) => i.version)).toEqual(['v2', 'v2']);
  });
});
