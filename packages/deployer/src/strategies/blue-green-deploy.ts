import type { DeployReport } from '../deploy-report';
import { DeployError } from '../lb-client/deploy-error';
import type { Instance } from '../runtime/runtime';
import type { DeployContext, DeployOptions } from './deploy-context';
import { describeDrain } from '../lb-client/lb-admin';

export interface BlueGreenOptions extends DeployOptions {
  /** After the switch, keep blue running (drained) this long; `--rollback` during it swaps back. */
  keepBlueMs: number;
}

export const BLUE = 'blue';
export const GREEN = 'green';
const blueFirst = [
  { group: BLUE, weight: 100 },
  { group: GREEN, weight: 0 },
];
const greenFirst = [
  { group: GREEN, weight: 100 },
  { group: BLUE, weight: 0 },
];

/**
 * Blue/green: start a complete new set (green) beside the current one (blue), registered in the
 * balancer but without traffic; once every green instance is healthy in the balancer, move all
 * traffic in ONE admin call (the split swaps from blue to green), drain blue, and retire it.
 * Verify → switch → drain, with the switch atomic.
 *
 * So that compose stays the source of truth, blue's slots are then refilled with the new version
 * (they carry no traffic by then, and join the green group), and the helper containers retired.
 * If any green instance fails its health gate, green is removed; blue never stopped serving.
 */
export async function blueGreenDeploy(ctx: DeployContext, o: BlueGreenOptions): Promise<DeployReport> {
  const report = ctx.startReport('blue-green', o.version);
  const greens: Instance[] = [];
  let switched = false;
  try {
    const blues = await ctx.runtime.list();
    await ctx.checkRegistered(blues);
    report.slots = blues.map((b) => ({ slot: b.slot, from: b.version, to: o.version, result: 'untouched', ms: 0 }));
    // Label the current set blue and pin all traffic to it before anything new registers.
    await ctx.step('*', 'label', async () => {
      for (const b of blues) await ctx.lb.patch(b.name, { group: BLUE });
      await ctx.lb.setSplit(blueFirst);
    });
    await ctx.step('*', 'prepare', () => ctx.runtime.prepare(o.version), () => `version ${o.version}`);
    try {
      greens.push(...(await ctx.startBesideAll(blues.map((b) => b.slot), o.version, o.env, 'green')));
      await Promise.all(greens.map((g) => ctx.bringIn(g.slot, g, o.healthTimeoutMs, GREEN)));
    } catch (err) {
      // Interrupted (or the lock lost): no rollback of our own; the repair that follows makes every slot consistent.
      if (ctx.stopping) throw err;
      ctx.reporter.message('green failed its health gate: removing green; blue kept serving throughout');
      await Promise.all(greens.map((g) => ctx.discard(g.slot, g, true).catch(() => undefined)));
      await ctx.unlabel(blues);
      throw err;
    }

    await ctx.step('*', 'switch', () => ctx.lb.setSplit(greenFirst), () => 'all traffic to green in one call');
    switched = true;
    report.switchedAt = Date.now();
    await Promise.all(blues.map((b) => ctx.step(b.slot, 'drain', () => ctx.lb.drain(b.name, o.drainTimeoutMs), describeDrain)));

    if (o.keepBlueMs > 0 && (await keepBlue(ctx, o.keepBlueMs))) {
      // An operator swapped back (npm run deploy -- --strategy blue-green --rollback): retire green.
      await Promise.all(greens.map((g) => ctx.takeOut(g.slot, g, o.drainTimeoutMs).then(() => ctx.discard(g.slot, g, true))));
      await ctx.unlabel(blues);
      for (const s of report.slots) s.result = 'rolled-back';
      throw new DeployError('DEPLOY_ERR_ROLLED_BACK', 'rolled back by an operator during the keep-blue window; blue serves all traffic again');
    }

    // Retire blue: its slots are drained already; refill them with the new version in the green
    // group (compose stays the source of truth), then the green helpers go.
    await ctx.refillSlotsAndRetireHelpers(report, blues, greens, o, GREEN);
    report.ok = true;
    return await ctx.finishReport(report);
  } catch (err) {
    if (switched && !report.error) ctx.reporter.message('failed after the switch: green serves the traffic; see the state below');
    return ctx.finishReport(report, err);
  }
}

/** Waits the keep-blue window; true if an operator swapped traffic back to blue meanwhile. */
async function keepBlue(ctx: DeployContext, ms: number): Promise<boolean> {
  return ctx.step('*', 'keep-blue', async () => {
    const until = ctx.clock.now() + ms;
    while (ctx.clock.now() < until) {
      ctx.checkInterrupted('the end of the keep-blue window');
      const split = await ctx.lb.getSplit();
      if (split && split[0]?.group === BLUE && split[0].weight > 0) return true;
      await ctx.clock.sleep(Math.min(500, until - ctx.clock.now()));
    }
    return false;
  }, (back) => (back ? 'operator rolled back' : `blue retired after ${ms} ms`));
}


/**
 * The operator's instant rollback during the keep-blue window: blue back in rotation, then all
 * traffic to blue in one call. The waiting deploy notices and retires green.
 */
export async function blueGreenRollback(ctx: DeployContext): Promise<string> {
  const ups = await ctx.lb.list();
  const blues = ups.filter((u) => u.group === BLUE);
  if (blues.length === 0) throw new DeployError('DEPLOY_ERR_PRECONDITION', 'nothing to roll back: no blue set is registered (the keep-blue window is over or no blue/green deploy runs)');
  for (const b of blues) await ctx.lb.enable(b.name);
  await ctx.lb.setSplit(blueFirst);
  return `all traffic back on blue (${blues.map((b) => b.name).join(', ')})`;
}
