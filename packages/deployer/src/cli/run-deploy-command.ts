import { DEFAULT_THRESHOLDS } from '../analysis/canary-analysis';
import type { Clock } from '../clock';
import { DEPLOY_DEFAULTS as D } from '../deploy-defaults';
import type { DeployReport, Reporter } from '../deploy-report';
import { DeployJournal } from '../journal/deploy-journal';
import { asJournal, describeJournal, type JournalData, type Outcome } from '../journal/journal-data';
import { repairLab, type RepairResult } from '../journal/repair-lab';
import { DeployError } from '../lb-client/deploy-error';
import type { DeployLockApi, LockHolder } from '../lb-client/deploy-lock-api';
import type { LbAdmin } from '../lb-client/lb-admin';
import { LockSession } from '../lock/lock-session';
import type { Runtime } from '../runtime/runtime';
import { blueGreenDeploy } from '../strategies/blue-green-deploy';
import { canaryDeploy } from '../strategies/canary-deploy';
import { DeployContext } from '../strategies/deploy-context';
import { rollingDeploy } from '../strategies/rolling-deploy';
import { SWARM_MONITOR_MS, swarmRollingUpdate } from '../runtime/swarm-rolling-update';
import { SwarmRuntime } from '../runtime/swarm-runtime';
import { EXIT } from './exit-codes';
import type { Interrupts } from './interrupts';
import type { CliArgs } from './parse-args';

export interface DeployCommandEnv {
  args: CliArgs;
  lb: LbAdmin & DeployLockApi;
  runtime: Runtime;
  clock: Clock;
  reporter: Reporter;
  holder: LockHolder;
  isAlive: (pid: number) => boolean;
  interrupts: Interrupts;
  leaseMs?: number;
  renewMs?: number;
}

export interface DeployCommandResult {
  exitCode: number;
  /** One line for people: what happened. */
  summary: string;
  report?: DeployReport;
  repair?: RepairResult;
  /** The unfinished deploy this command found, if any. */
  found?: string;
}

/**
 * One deploy (or `--recover`) from lock to release:
 * lock → journal → repair an unfinished deploy the journal shows → the strategy → on failure or
 * interrupt, repair → outcome in the journal → release. The exit code says whether the lab is
 * consistent (see exit-codes.ts).
 */
export async function runDeployCommand(e: DeployCommandEnv): Promise<DeployCommandResult> {
  const { args, lb, runtime, clock, reporter } = e;
  const say = (l: string) => reporter.message(l);
  let ctx: DeployContext | undefined;
  const session = new LockSession(lb, clock, {
    holder: e.holder,
    leaseMs: e.leaseMs ?? D.lockLeaseMs,
    renewMs: e.renewMs ?? D.lockRenewMs,
    isAlive: e.isAlive,
    say,
    onLost: (m) => ctx?.interrupt(`the deploy lock was taken from this deployer (${m})`),
  });
  const recoverOnly = args.command === 'recover';
  try {
    await session.acquire(recoverOnly ? 'recover' : args.strategy, recoverOnly ? '-' : args.version, args.force);
  } catch (err) {
    if (err instanceof DeployError && err.code === 'DEPLOY_ERR_LOCKED') return { exitCode: EXIT.USAGE, summary: `${err.message}\nnothing was changed` };
    throw err;
  }
  const lockId = session.lock!.id;
  if (e.interrupts.interrupted) {
    await session.release();
    return { exitCode: EXIT.FAILED_CONSISTENT, summary: `interrupted (${e.interrupts.interrupted}) before anything changed` };
  }
  let journal: DeployJournal | undefined;
  try {
    const state = await lb.deployState();
    const prevData = state.journal && state.journal.id !== lockId ? asJournal(state.journal.data) : undefined;
    // Unfinished: its deployer died (no outcome), or it ended leaving the lab for an operator.
    const unfinished = prevData && (!prevData.outcome || prevData.outcome === 'needs-operator') ? { id: state.journal!.id, data: prevData } : undefined;
    const slots = await runtime.slots();
    journal = new DeployJournal(lb, lockId, {
      v: 1,
      command: recoverOnly ? 'recover' : 'deploy',
      strategy: recoverOnly ? 'recover' : args.strategy,
      version: recoverOnly ? '-' : args.version,
      runtime: runtime.kind,
      holder: e.holder,
      startedAt: new Date().toISOString(),
      phase: 'starting',
      // Versions from before the unfinished deploy, if there is one: what an empty slot gets back.
      slots: slots.map((s) => ({ slot: s.slot, version: unfinished?.data.slots.find((x) => x.slot === s.slot)?.version ?? s.running?.version ?? s.version })),
      registered: [...(unfinished?.data.registered ?? [])],
      recovered: unfinished
        ? [{ id: unfinished.id, strategy: unfinished.data.strategy, version: unfinished.data.version, lastStep: describeLast(unfinished.data) }]
        : [],
      entries: [],
      // Bounded: the last steps are what a repair needs.
      ...(unfinished ? { inherited: [...(unfinished.data.inherited ?? []), ...unfinished.data.entries].slice(-100) } : {}),
    });
    await journal.flush();
    ctx = new DeployContext(lb, runtime, clock, reporter);
    ctx.observer = journal;
    const c = ctx;
    e.interrupts.onInterrupt((sig) => c.interrupt(`interrupted (${sig})`));

    let found: string | undefined;
    let repair: RepairResult | undefined;
    if (unfinished || recoverOnly) {
      found = unfinished ? `found an unfinished ${describeJournal(unfinished.id, unfinished.data)}` : undefined;
      say(found ? `${found}: repairing it first` : '--recover: no unfinished deploy in the journal; checking every slot against the balancer');
      // The unfinished deploy's steps (inherited) say what was in progress in each slot (e.g. a stop to finish).
      repair = await runRepair(e, journal, journal.data);
      if (!repair.consistent) return await end(journal, session, 'needs-operator', EXIT.NEEDS_OPERATOR, { summary: 'the repair did not reach a consistent lab: an operator must look', repair, found });
      journal.data.slots = repair.slots.map((s) => ({ slot: s.slot, version: s.version ?? '?' }));
      // Repaired: what the dead deployer was doing no longer guides anything.
      delete journal.data.inherited;
      if (recoverOnly) return await end(journal, session, 'done', EXIT.DONE, { summary: `recovered: ${slotLine(repair)}`, repair, found });
    }
    if (ctx.interrupted) return await end(journal, session, 'interrupted', EXIT.FAILED_CONSISTENT, { summary: `${ctx.interrupted}: the lab is consistent, the deploy did not start`, repair, found });

    await journal.phase('deploying');
    const report = await runStrategy(ctx, args);
    if (report.ok) return await end(journal, session, 'done', EXIT.DONE, { summary: 'done', report, repair, found });
    if (report.error?.code === 'DEPLOY_ERR_LOCK_LOST' || !(await session.confirm())) {
      // Someone else owns the lab now (--force): repairing would fight them.
      return await end(journal, session, 'lock-lost', EXIT.NEEDS_OPERATOR, { summary: `the deploy lock was taken from this deployer (${session.lost ?? report.error?.message}); stopped without repairing: the new holder owns the lab`, report, found }, false);
    }
    say(`${report.error?.code === 'DEPLOY_ERR_INTERRUPTED' ? 'interrupted' : 'failed'}: making sure every slot is in rotation with one version and no helper is left`);
    const after = await runRepair(e, journal, journal.data);
    report.repair = { consistent: after.consistent, actions: after.actions, problems: after.problems };
    report.final = await runtime.list().catch(() => report.final);
    const outcome: Outcome = !after.consistent ? 'needs-operator' : report.error?.code === 'DEPLOY_ERR_INTERRUPTED' ? 'interrupted' : 'failed';
    return await end(journal, session, outcome, after.consistent ? EXIT.FAILED_CONSISTENT : EXIT.NEEDS_OPERATOR, {
      summary: after.consistent ? `${report.error?.message ?? 'failed'}; the lab is consistent: ${slotLine(after)}` : `${report.error?.message ?? 'failed'}; the lab is NOT consistent: an operator must look`,
      report,
      repair: after,
      found,
    });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const lost = err instanceof DeployError && err.code === 'DEPLOY_ERR_LOCK_LOST';
    if (journal) return end(journal, session, lost ? 'lock-lost' : 'needs-operator', EXIT.NEEDS_OPERATOR, { summary: `${msg}\nthe lab may be inconsistent: run "npm run deploy -- status"` }, !lost);
    await session.release();
    throw err;
  } finally {
    e.interrupts.onInterrupt(undefined);
  }
}

async function runRepair(e: DeployCommandEnv, journal: DeployJournal, data: JournalData): Promise<RepairResult> {
  await journal.phase('repairing');
  try {
    const r = await repairLab(
      { lb: e.lb, runtime: e.runtime, clock: e.clock, say: (l) => e.reporter.message(l), healthTimeoutMs: e.args.healthTimeoutMs, drainTimeoutMs: e.args.drainTimeoutMs },
      data,
    );
    journal.data.repairs = [...(journal.data.repairs ?? []), ...r.actions];
    return r;
  } catch (err) {
    if (err instanceof DeployError && err.code === 'DEPLOY_ERR_LOCK_LOST') throw err;
    return { consistent: false, actions: [], problems: [`the repair failed: ${(err as Error).message}`], foreign: [], slots: [] };
  }
}

async function end(
  journal: DeployJournal,
  session: LockSession,
  outcome: Outcome,
  exitCode: number,
  result: Omit<DeployCommandResult, 'exitCode'>,
  writeJournal = true,
): Promise<DeployCommandResult> {
  journal.data.outcome = outcome;
  journal.data.exitCode = exitCode;
  journal.data.endedAt = new Date().toISOString();
  journal.data.phase = 'ended';
  if (result.report?.error) journal.data.error = `${result.report.error.code}: ${result.report.error.message}`;
  const final = result.repair?.slots ?? result.report?.final.map((i) => ({ slot: i.slot, version: i.version }));
  if (final) journal.data.final = final;
  if (writeJournal) await journal.flush().catch(() => undefined);
  await session.release();
  return { exitCode, ...result };
}

function describeLast(j: JournalData): string | undefined {
  const last = j.entries[j.entries.length - 1];
  return last && `${last.slot} ${last.step} ${last.state}`;
}

function slotLine(r: RepairResult): string {
  return r.slots.map((s) => `${s.slot}=${s.version} (${s.state})`).join(', ');
}

function runStrategy(ctx: DeployContext, a: CliArgs): Promise<DeployReport> {
  const base = {
    version: a.version,
    batchSize: a.batchSize,
    drainTimeoutMs: a.drainTimeoutMs,
    healthTimeoutMs: a.healthTimeoutMs,
    pauseMs: a.pauseMs,
    surge: a.surge,
    env: a.env,
  };
  if (a.strategy === 'blue-green') return blueGreenDeploy(ctx, { ...base, keepBlueMs: a.keepBlueMs });
  if (a.strategy === 'canary') {
    return canaryDeploy(ctx, {
      ...base,
      steps: a.canarySteps,
      stepDurationMs: a.stepDurationMs,
      stepRequests: a.stepRequests,
      analysisIntervalMs: a.analysisIntervalMs,
      canaryInstances: a.canaryInstances,
      thresholds: { ...DEFAULT_THRESHOLDS, maxErrorRateIncrease: a.maxErrorRate, maxP99Ratio: a.maxP99Ratio, p99SlackMs: a.p99SlackMs, minRequests: a.minRequests },
    });
  }
  // On Swarm, rolling is Swarm's own rolling update, followed by the deployer (see swarm-rolling-update.ts);
  // blue/green and canary run the same strategies as everywhere, on the Swarm runtime.
  if (ctx.runtime instanceof SwarmRuntime) return swarmRollingUpdate(ctx, ctx.runtime, { ...base, monitorMs: SWARM_MONITOR_MS });
  return rollingDeploy(ctx, base);
}
