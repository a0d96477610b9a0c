import type { DeployReport, SlotResult } from '../deploy-report';
import { DeployError } from '../lb-client/deploy-error';
import type { Instance } from '../runtime/runtime';
import type { DeployContext, DeployOptions } from './deploy-context';

/**
 * Rolling deploy: per batch of instances, verify → switch → drain, one slot at a time.
 *
 * In place (default), per instance: drain it in the balancer → deregister → stop it gracefully →
 * start the new version in its slot → register it without traffic → wait until the balancer sees
 * it healthy → enable. With `surge`, a new instance is started beside the old one and enabled first,
 * so capacity never drops; then the slot itself is replaced the same way and the helper retired.
 *
 * If a new instance does not become healthy in time, it is removed, the previous version is put
 * back in its slot and re-enabled, slots not yet touched stay as they are, and a DeployError says
 * what failed; the report says what state every slot is in.
 */
export async function rollingDeploy(ctx: DeployContext, options: DeployOptions): Promise<DeployReport> {
  const report = ctx.startReport('rolling', options.version);
  try {
    const instances = await ctx.runtime.list();
    await ctx.checkRegistered(instances);
    report.slots = instances.map((i) => ({ slot: i.slot, from: i.version, to: options.version, result: 'untouched' as SlotResult, ms: 0 }));
    await ctx.step('*', 'prepare', () => ctx.runtime.prepare(options.version), () => `version ${options.version}`);

    for (let b = 0; b < instances.length; b += options.batchSize) {
      if (b > 0 && options.pauseMs > 0) await ctx.step('*', 'pause', () => ctx.clock.sleep(options.pauseMs));
      // A slot already on the version (an interrupted deploy got that far) is not replaced again,
      // unless extra environment asks for new instances.
      const batch = instances.slice(b, b + options.batchSize).filter((inst) => {
        const same = inst.version === options.version && Object.keys(options.env).length === 0;
        if (same) report.slots.find((s) => s.slot === inst.slot)!.result = 'unchanged';
        return !same;
      });
      if (ctx.runtime.placement === 'replicas') {
        await replaceReplicas(ctx, batch, options, report);
        continue;
      }
      const results = await Promise.allSettled(batch.map((inst) => replaceSlot(ctx, inst, options, report)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
    report.ok = true;
    return await ctx.finishReport(report);
  } catch (err) {
    return ctx.finishReport(report, err);
  }
}

async function replaceSlot(ctx: DeployContext, old: Instance, o: DeployOptions, report: DeployReport): Promise<void> {
  const entry = report.slots.find((s) => s.slot === old.slot)!;
  const began = ctx.clock.now();
  let beside: Instance | undefined;
  try {
    if (o.surge) {
      beside = await ctx.step(old.slot, 'start-beside', () => ctx.runtime.startBeside(old.slot, o.version, o.env), (i) => i.name);
      await ctx.bringIn(old.slot, beside, o.healthTimeoutMs);
    }
  } catch (err) {
    // Interrupted (or the lock lost): no rollback of our own; the repair that follows makes every slot consistent.
    if (ctx.stopping) throw err;
    // Nothing of the old slot was touched yet: just retire the helper.
    if (beside) await ctx.discard(old.slot, beside, true).catch(() => undefined);
    entry.result = 'failed';
    entry.ms = ctx.clock.now() - began;
    throw err;
  }

  await ctx.takeOut(old.slot, old, o.drainTimeoutMs);
  await ctx.step(old.slot, 'stop', () => ctx.runtime.stop(old), () => `${old.name} (${old.version})`);
  let fresh: Instance | undefined;
  try {
    fresh = await ctx.step(old.slot, 'start', () => ctx.runtime.start(old.slot, o.version, o.env), (i) => `${i.name} (${i.version})`);
    await ctx.bringIn(old.slot, fresh, o.healthTimeoutMs);
  } catch (err) {
    // Interrupted (or the lock lost): no rollback of our own; the repair that follows makes every slot consistent.
    if (ctx.stopping) throw err;
    try {
      await rollBackSlot(ctx, old, fresh, o);
    } catch (rollbackErr) {
      entry.result = 'failed';
      entry.ms = ctx.clock.now() - began;
      throw rollbackErr;
    }
    if (beside) await ctx.takeOut(old.slot, beside, o.drainTimeoutMs).then(() => ctx.discard(old.slot, beside!, true)).catch(() => undefined);
    entry.result = 'rolled-back';
    entry.ms = ctx.clock.now() - began;
    throw err;
  }
  if (beside) {
    await ctx.takeOut(old.slot, beside, o.drainTimeoutMs);
    await ctx.step(old.slot, 'remove-beside', () => ctx.runtime.removeBeside(beside!));
  }
  entry.result = 'updated';
  entry.ms = ctx.clock.now() - began;
}

/**
 * Replica sets (docker-rollout's idiom): the batch's new instances start beside the old ones in one
 * scale-up, and only once the balancer reports every one of them healthy are the old ones drained,
 * stopped and removed, each new one taking an old one's place. Capacity never drops below the set's
 * size. A new instance that is not healthy in time: the batch's new instances are removed, the old
 * ones never stopped serving.
 */
async function replaceReplicas(ctx: DeployContext, batch: Instance[], o: DeployOptions, report: DeployReport): Promise<void> {
  if (batch.length === 0) return;
  const began = ctx.clock.now();
  const entries = batch.map((old) => report.slots.find((s) => s.slot === old.slot)!);
  let fresh: Instance[] = [];
  try {
    fresh = await ctx.startBesideAll(batch.map((b) => b.slot), o.version, o.env, 'surge');
    await Promise.all(fresh.map((f) => ctx.bringIn(f.slot, f, o.healthTimeoutMs)));
  } catch (err) {
    if (ctx.stopping) throw err;
    ctx.reporter.message(`new ${o.version} replicas failed: removing them; the old replicas kept serving throughout`);
    await Promise.all(fresh.map((f) => ctx.takeOut(f.slot, f, o.drainTimeoutMs).catch(() => undefined).then(() => ctx.discard(f.slot, f, true).catch(() => undefined))));
    for (const e of entries) e.result = 'rolled-back';
    throw err;
  }
  await Promise.all(
    batch.map(async (old, i) => {
      await ctx.takeOut(old.slot, old, o.drainTimeoutMs);
      await ctx.step(old.slot, 'stop', () => ctx.runtime.stop(old), () => `${old.name} (${old.version}) stopped and removed`);
      await ctx.runtime.adopt?.(fresh[i], old.slot);
      entries[i].result = 'updated';
      entries[i].ms = ctx.clock.now() - began;
    }),
  );
}

/** Puts the previous version back in its slot after a failed replacement. */
async function rollBackSlot(ctx: DeployContext, old: Instance, fresh: Instance | undefined, o: DeployOptions): Promise<void> {
  ctx.reporter.message(`${old.slot}: new version failed, putting ${old.version} back`);
  try {
    if (fresh) await ctx.discard(old.slot, fresh, false);
    const restored = await ctx.step(old.slot, 'rollback', () => ctx.runtime.start(old.slot, old.version), (i) => `${i.name} (${i.version})`);
    await ctx.bringIn(old.slot, restored, o.healthTimeoutMs);
  } catch (err) {
    throw new DeployError('DEPLOY_ERR_ROLLBACK_FAILED', `${old.slot}: the new version failed and the rollback to ${old.version} failed too: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
