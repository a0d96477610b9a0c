import type { DeployReport, StepName } from '../deploy-report';
import { DeployError } from '../lb-client/deploy-error';
import type { DeployContext, DeployOptions } from '../strategies/deploy-context';
import type { SwarmRuntime, SwarmTask } from './swarm-runtime';

export interface SwarmRollingOptions extends DeployOptions {
  /** Swarm's --update-monitor: how long each new batch is watched for failure. */
  monitorMs: number;
}

export const SWARM_MONITOR_MS = 5000;

/** What the follower saw of one task, so every step is reported once, with its time. */
interface Seen {
  slot: string;
  name?: string;
  since: number;
  started?: boolean;
  healthy?: boolean;
  failed?: boolean;
  drainBegun?: boolean;
  left?: boolean;
  stopped?: boolean;
}

const DONE = new Set(['shutdown', 'complete', 'failed', 'rejected', 'orphaned', 'remove']);

/**
 * Rolling deploy on Swarm = Swarm's own rolling update (`docker service update --image`,
 * start-first, `--batch-size` tasks at a time, `failure_action: rollback`), which our balancer
 * makes lossless: a new task registers itself and gets traffic only once the balancer's health
 * check passes; Swarm stops an old task only once the new one is healthy, and the old task drains
 * itself through the handshake before it exits. The deployer starts the update and follows it,
 * reporting per task: start (created → running), health (running → healthy in the balancer, the
 * balancer's word), drain (told to stop → gone from the balancer after its handshake) and stop.
 *
 * A new version that never becomes healthy fails its Docker health check, and **Swarm** rolls the
 * service back (failure_action rollback); the deployer reports it and exits non-zero. If the
 * update neither completes nor fails within the deploy's time budget, the deployer asks Swarm for
 * the rollback itself (`docker service rollback`).
 */
export async function swarmRollingUpdate(ctx: DeployContext, rt: SwarmRuntime, o: SwarmRollingOptions): Promise<DeployReport> {
  const report = ctx.startReport('rolling', o.version);
  try {
    const old = await rt.list();
    await ctx.checkRegistered(old);
    report.slots = old.map((i) => ({ slot: i.slot, from: i.version, to: o.version, result: 'untouched', ms: 0 }));
    const spec = await rt.spec();
    if (old.every((i) => i.version === o.version) && spec.image.endsWith(`:${o.version}`) && Object.keys(o.env).length === 0 && old.length === spec.replicas) {
      for (const s of report.slots) s.result = 'unchanged';
      ctx.reporter.message(`every task of ${rt.serviceName} already runs ${o.version}`);
      report.ok = true;
      return await ctx.finishReport(report);
    }
    await ctx.step('*', 'prepare', () => rt.prepare(o.version), () => `image for ${o.version}`);
    // The service's spec already asks for this version (an interrupted deploy started the update,
    // and Swarm went on with it): follow that update instead of starting one that changes nothing.
    const running = spec.image.endsWith(`:${o.version}`) && spec.env.APP_VERSION === o.version && Object.entries(o.env).every(([k, v]) => spec.env[k] === v);
    const before = running ? undefined : await rt.updateStatus();
    // Old: the tasks that run now, except those already on the version.
    const oldIds = new Set((await rt.tasks()).filter((t) => !running || t.version !== o.version).map((t) => t.id));
    const began = ctx.clock.now();
    if (running) ctx.reporter.message(`${rt.serviceName} is already being moved to ${o.version} (an earlier deploy started it): following Swarm's update`);
    else {
      await ctx.step('*', 'start', () => rt.startRollingUpdate(o.version, o.env, { parallelism: o.batchSize, delayMs: o.pauseMs, monitorMs: o.monitorMs }), () =>
        `docker service update ${rt.serviceName}: start-first, parallelism ${o.batchSize}, monitor ${o.monitorMs} ms, failure action rollback`,
      );
    }
    const batches = Math.ceil(Math.max(1, old.length) / o.batchSize);
    const budgetMs = batches * (o.healthTimeoutMs + o.monitorMs + o.pauseMs) + o.drainTimeoutMs;
    const seen = new Map<string, Seen>();
    let asked = false;
    for (;;) {
      ctx.checkInterrupted('the end of the Swarm update (Swarm goes on with it by itself)');
      const [status, tasks, ups] = await Promise.all([rt.updateStatus(), rt.tasks(), ctx.lb.list()]);
      const fresh = status && status.startedAt !== before?.startedAt ? status : undefined;
      const byName = new Map(ups.map((u) => [u.name, u]));
      for (const t of tasks) await follow(ctx, rt, t, oldIds.has(t.id), t.version === o.version, seen, byName);
      const state = fresh?.state ?? 'starting';
      if (state === 'completed') {
        const now = await rt.list();
        const allNew = now.length === old.length && now.every((i) => i.version === o.version && byName.get(i.name)?.health === 'healthy');
        const oldGone = old.filter((i) => i.version !== o.version || !running).every((i) => !byName.has(i.name) || now.some((n) => n.name === i.name));
        if (allNew && oldGone) break;
      }
      if (state === 'rollback_completed' || state === 'rollback_paused' || state === 'paused') {
        const who = asked ? `the deployer (docker service rollback: not done within ${budgetMs} ms)` : 'Swarm (failure_action rollback)';
        const failedTask = [...seen.values()].find((s) => s.failed);
        await waitForOld(ctx, rt, o);
        for (const s of report.slots) s.result = 'rolled-back';
        throw new DeployError('DEPLOY_ERR_ROLLED_BACK', `the update to ${o.version} was rolled back by ${who}: ${fresh?.message ?? state}${failedTask ? ` (${failedTask.slot}: a new task failed before it became healthy)` : ''}; ${rt.serviceName} runs ${old[0]?.version ?? 'the previous version'} again`);
      }
      if (!asked && ctx.clock.now() - began > budgetMs && state !== 'rollback_started') {
        ctx.reporter.message(`the update did not finish within ${budgetMs} ms: asking Swarm to roll it back`);
        await ctx.step('*', 'rollback', () => rt.rollback(), () => 'docker service rollback');
        asked = true;
      }
      await ctx.clock.sleep(250);
    }
    const final = await rt.list();
    for (const s of report.slots) {
      s.result = 'updated';
      s.ms = ctx.clock.now() - began;
      const inst = final.find((i) => i.slot === s.slot);
      if (inst) s.to = inst.version;
    }
    report.ok = true;
    return await ctx.finishReport(report);
  } catch (err) {
    return ctx.finishReport(report, err);
  }
}

async function follow(ctx: DeployContext, rt: SwarmRuntime, t: SwarmTask, isOld: boolean, isNewVersion: boolean, seen: Map<string, Seen>, ups: Map<string, { health: string }>): Promise<void> {
  const now = ctx.clock.now();
  const slot = `${rt.serviceName.slice(rt.serviceName.indexOf('_') + 1)}.${t.slotNo}`;
  const name = `${rt.serviceName}.${t.slotNo}.${t.id}`;
  let s = seen.get(t.id);
  const mark = async (step: StepName, ok: boolean, detail: string) => {
    await ctx.record({ slot, step, ok, ms: now - s!.since, detail });
    s!.since = now;
  };
  if (!isOld && !isNewVersion) {
    // A task Swarm started on the previous version: its rollback (or a restart during it).
    if (!s) {
      s = { slot, name, since: now };
      seen.set(t.id, s);
      await ctx.begin(slot, 'rollback');
    }
    if (!s.healthy && !s.failed && ups.get(name)?.health === 'healthy') {
      s.healthy = true;
      await mark('rollback', true, `task ${t.id.slice(0, 12)} (${t.version}) healthy in the balancer`);
    }
    if (!s.healthy && !s.failed && (DONE.has(t.current) || t.desired === 'shutdown')) {
      s.failed = true;
      await mark('rollback', false, `task ${t.id.slice(0, 12)} (${t.version}) ${t.current}${t.error ? `: ${t.error}` : ''}`);
    }
    return;
  }
  if (!isOld) {
    if (!s) {
      s = { slot, name, since: now };
      seen.set(t.id, s);
      await ctx.begin(slot, 'start');
    }
    if (!s.started && t.current === 'running') {
      s.started = true;
      await mark('start', true, `task ${t.id.slice(0, 12)} running`);
      await ctx.begin(slot, 'health');
    }
    if (s.started && !s.healthy && !s.failed && ups.get(name)?.health === 'healthy') {
      s.healthy = true;
      await mark('health', true, `${name} healthy in the balancer`);
    }
    if (!s.healthy && !s.failed && (DONE.has(t.current) || t.desired === 'shutdown')) {
      s.failed = true;
      await mark(s.started ? 'health' : 'start', false, `task ${t.id.slice(0, 12)} ${t.current}${t.error ? `: ${t.error}` : ''}`);
    }
    return;
  }
  // An old task: Swarm told it to stop once its replacement was healthy.
  if (t.desired === 'running') return;
  if (!s) {
    // Old tasks already gone before this deploy are not ours to report.
    if (DONE.has(t.current) && !ups.has(name)) return;
    s = { slot, name, since: now };
    seen.set(t.id, s);
  }
  if (!s.drainBegun) {
    s.drainBegun = true;
    await ctx.begin(slot, 'drain');
  }
  if (!s.left && !ups.has(name)) {
    s.left = true;
    await mark('drain', true, `${name} left the balancer through its drain handshake`);
    await ctx.begin(slot, 'stop');
  }
  if (s.left && !s.stopped && DONE.has(t.current)) {
    s.stopped = true;
    await mark('stop', true, `task ${t.id.slice(0, 12)} ${t.current}`);
  }
}

/** After a rollback: the service's tasks are back on the old version and healthy in the balancer. */
async function waitForOld(ctx: DeployContext, rt: SwarmRuntime, o: DeployOptions): Promise<void> {
  const began = ctx.clock.now();
  while (ctx.clock.now() - began < o.healthTimeoutMs) {
    const ups = new Map((await ctx.lb.list()).map((u) => [u.name, u]));
    const now = await rt.list();
    if (now.length > 0 && now.every((i) => ups.get(i.name)?.health === 'healthy')) return;
    await ctx.clock.sleep(250);
  }
}
