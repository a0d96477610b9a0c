import { analyzeCanary, type CanaryThresholds, type Verdict } from '../analysis/canary-analysis';
import { groupStats, type GroupStats, windowStats } from '../analysis/group-stats';
import type { DeployReport } from '../deploy-report';
import { DeployError } from '../lb-client/deploy-error';
import type { Instance } from '../runtime/runtime';
import type { DeployContext, DeployOptions } from './deploy-context';

export interface CanaryOptions extends DeployOptions {
  /** Canary shares in percent, e.g. [10, 50, 100]. */
  steps: number[];
  /** Each step lasts at least this long... */
  stepDurationMs: number;
  /** ...and until the canary has answered this many requests (0: time only). */
  stepRequests: number;
  /** How often the balancer's numbers are read during a step (a bad canary is stopped early). */
  analysisIntervalMs: number;
  thresholds: CanaryThresholds;
  /** How many canary instances run beside the baseline. */
  canaryInstances: number;
}

export const CANARY = 'canary';
export const BASELINE = 'baseline';
/** The canary comes first on the bucket line, so growing its share only moves users toward it. */
const split = (percent: number) => [
  { group: CANARY, weight: percent },
  { group: BASELINE, weight: 100 - percent },
];

/**
 * Canary: a few instances of the new version beside the baseline, and a growing share of traffic
 * (smooth weighted round-robin; sticky per user key). At each step the canary is judged against
 * the baseline on the balancer's own metrics (error rate incl. failed connections, p99 latency),
 * several times a step so a bad version is stopped early. Healthy through the last step → promote:
 * the baseline slots move to the new version without dropping requests and the canary retires.
 * Unhealthy → roll back automatically: canary share 0, canary drained and removed, non-zero exit
 * naming the metric that failed.
 */
export async function canaryDeploy(ctx: DeployContext, o: CanaryOptions): Promise<DeployReport> {
  const report = ctx.startReport('canary', o.version);
  report.canarySteps = [];
  const canaries: Instance[] = [];
  let baseline: Instance[] = [];
  try {
    baseline = await ctx.runtime.list();
    await ctx.checkRegistered(baseline);
    report.slots = baseline.map((b) => ({ slot: b.slot, from: b.version, to: o.version, result: 'untouched', ms: 0 }));
    await ctx.step('*', 'label', async () => {
      for (const b of baseline) await ctx.lb.patch(b.name, { group: BASELINE });
      await ctx.lb.setSplit(split(0));
    });
    await ctx.step('*', 'prepare', () => ctx.runtime.prepare(o.version), () => `version ${o.version}`);
    try {
      canaries.push(...(await ctx.startBesideAll(baseline.slice(0, o.canaryInstances).map((b) => b.slot), o.version, o.env, 'canary')));
      // Registered and enabled, but at 0% it only gets requests that force the canary group.
      await Promise.all(canaries.map((c) => ctx.bringIn(c.slot, c, o.healthTimeoutMs, CANARY)));
      let lastBaseline: GroupStats | undefined;
      for (const percent of o.steps) {
        const { verdict, baselineWindow } = await runStep(ctx, o, percent, report, lastBaseline);
        if (baselineWindow.requests > 0) lastBaseline = baselineWindow;
        if (verdict.verdict !== 'pass') {
          throw new DeployError('DEPLOY_ERR_CANARY_FAILED', `canary failed at ${percent}%: ${verdict.reason}`);
        }
      }
    } catch (err) {
      // Interrupted (or the lock lost): no rollback of our own; the repair that follows makes every slot consistent.
      if (ctx.stopping) throw err;
      ctx.reporter.message(`rolling back the canary: ${(err as Error).message}`);
      await ctx.step('*', 'rollback', async () => {
        await ctx.lb.setSplit(split(0));
        await Promise.all(canaries.map((c) => ctx.takeOut(c.slot, c, o.drainTimeoutMs).then(() => ctx.discard(c.slot, c, true))));
        await ctx.unlabel(baseline);
      }, () => 'canary share 0, canary removed, baseline serves all traffic');
      for (const s of report.slots) s.result = 'rolled-back';
      throw err;
    }
    // All traffic is on the canary now: refill the baseline slots with the new version in the canary
    // group (each takes traffic once healthy), then the canary helpers retire.
    ctx.reporter.message(`promoting ${o.version} to every instance`);
    await ctx.refillSlotsAndRetireHelpers(report, baseline, canaries, o, CANARY);
    report.ok = true;
    return await ctx.finishReport(report);
  } catch (err) {
    return ctx.finishReport(report, err);
  }
}

async function runStep(ctx: DeployContext, o: CanaryOptions, percent: number, report: DeployReport, lastBaseline?: GroupStats) {
  await ctx.begin('*', 'canary-step');
  const startedAt = Date.now();
  await ctx.lb.setSplit(split(percent));
  const before = groupStats(await ctx.lb.metrics());
  const began = ctx.clock.now();
  let verdict: Verdict;
  let baselineWindow: GroupStats;
  for (;;) {
    await ctx.clock.sleep(o.analysisIntervalMs);
    ctx.checkInterrupted(`the end of the ${percent}% canary step`);
    const now = groupStats(await ctx.lb.metrics());
    const canaryWindow = windowStats(before, now, CANARY);
    baselineWindow = windowStats(before, now, BASELINE);
    const final = ctx.clock.now() - began >= o.stepDurationMs && canaryWindow.requests >= o.stepRequests;
    // Latency is only compared within the same window, where machine noise hits both alike. At 100%
    // the baseline gets nothing: errors are compared with its previous step, latency is not judged.
    const concurrent = baselineWindow.requests >= o.thresholds.minRequests;
    verdict = analyzeCanary(canaryWindow, concurrent || !lastBaseline ? baselineWindow : lastBaseline, o.thresholds, final && concurrent);
    if (final && !concurrent && verdict.verdict === 'pass') verdict.reason += ' (latency not compared: no baseline traffic in this step)';
    if (verdict.verdict === 'fail' || final) break;
  }
  report.canarySteps!.push({ percent, startedAt, endedAt: Date.now(), verdict: verdict.verdict, reason: verdict.reason, canary: verdict.canary, baseline: verdict.baseline });
  await ctx.record({ slot: '*', step: 'canary-step', ok: verdict.verdict === 'pass', ms: ctx.clock.now() - began, detail: `${percent}%: ${verdict.verdict} — ${verdict.reason}` });
  return { verdict, baselineWindow };
}
