import { silentReporter } from '../deploy-report';
import { FakeClock, FakeLb, FakeRuntime } from '../test-support/fakes';
import { blueGreenDeploy, blueGreenRollback } from './blue-green-deploy';
import { DEFAULT_DEPLOY_OPTIONS, DeployContext } from './deploy-context';

function setup() {
  const clock = new FakeClock();
  const runtime = new FakeRuntime(clock, ['c1', 'c2']);
  const lb = new FakeLb(runtime);
  for (const p of runtime.procs.values()) lb.register(p.inst);
  return { clock, runtime, lb, ctx: new DeployContext(lb, runtime, clock, silentReporter) };
}
const opts = { ...DEFAULT_DEPLOY_OPTIONS, version: 'v2', keepBlueMs: 0 };

describe('blue/green deploy (fake runtime, fake clock)', () => {
  it('brings up green beside blue, switches in one call, never serves both versions, ends on v2', async () => {
    const { runtime, lb, ctx } = setup();
    const report = await blueGreenDeploy(ctx, opts);
    expect(report.error).toBeUndefined();
    expect(report.ok).toBe(true);
    // Exactly one split change moves traffic from blue to green.
    const switches = lb.log.filter((l) => l.startsWith('split green:100'));
    expect(switches).toEqual(['split green:100,blue:0']);
    // Before the switch only v1 serves, after it only v2: no moment with both.
    expect(lb.servingVersions.every((v) => v.length <= 1)).toBe(true);
    const sw = lb.log.indexOf('split green:100,blue:0');
    expect(lb.servingVersions.slice(0, sw).flat().every((v) => v === 'v1')).toBe(true);
    expect(lb.servingVersions.slice(sw).flat().every((v) => v === 'v2')).toBe(true);
    // Green was healthy and enabled before the switch.
    expect(lb.log.indexOf('enable c2-green')).toBeLessThan(sw);
    expect(report.final.map((i) => `${i.slot}@${i.version}`)).toEqual(['c1@v2', 'c2@v2']);
    expect([...runtime.procs.keys()].filter((k) => k.includes('-green'))).toEqual([]);
    expect(lb.split).toBeNull();
    expect(typeof report.switchedAt).toBe('number');
  });

  it('removes green when one green instance fails its health gate; blue never stops serving', async () => {
    const { runtime, lb, ctx } = setup();
    runtime.broken.add('bad');
    const report = await blueGreenDeploy(ctx, { ...opts, version: 'bad', healthTimeoutMs: 1000 });
    expect(report.ok).toBe(false);
    expect(report.error!.code).toBe('DEPLOY_ERR_HEALTH_TIMEOUT');
    expect(lb.log.some((l) => l.startsWith('split green:100'))).toBe(false);
    expect(lb.servingVersions.every((v) => v.join() === 'v1')).toBe(true);
    expect(runtime.log.filter((l) => l.startsWith('stop c'))).toEqual([]);
    expect([...lb.ups.keys()].sort()).toEqual(['c1', 'c2']);
    expect(lb.split).toBeNull();
  });

  it('an operator rollback during the keep-blue window swaps back at once and retires green', async () => {
    const { runtime, lb, ctx, clock } = setup();
    const realGetSplit = lb.getSplit.bind(lb);
    let rolledBack = false;
    lb.getSplit = async () => {
      if (!rolledBack) {
        rolledBack = true;
        await blueGreenRollback(new DeployContext(lb, runtime, clock, silentReporter));
      }
      return realGetSplit();
    };
    const report = await blueGreenDeploy(ctx, { ...opts, keepBlueMs: 30_000 });
    expect(report.ok).toBe(false);
    expect(report.error!.code).toBe('DEPLOY_ERR_ROLLED_BACK');
    expect(report.final.map((i) => i.version)).toEqual(['v1', 'v1']);
    expect(lb.inRotation().sort()).toEqual(['c1', 'c2']);
    expect([...runtime.procs.keys()].filter((k) => k.includes('-green'))).toEqual([]);
  });
});
