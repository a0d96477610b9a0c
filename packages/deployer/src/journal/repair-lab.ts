import type { Clock } from '../clock';
import type { LbAdmin, UpstreamStatus } from '../lb-client/lb-admin';
import type { Instance, Runtime } from '../runtime/runtime';
import { type JournalData, lastStepOf } from './journal-data';

export interface RepairDeps {
  lb: LbAdmin;
  runtime: Runtime;
  clock: Clock;
  say: (line: string) => void;
  healthTimeoutMs: number;
  drainTimeoutMs: number;
  pollMs?: number;
}

export interface RepairResult {
  /** Every slot runs one instance, healthy and in rotation in the default group; no split; no helper. */
  consistent: boolean;
  /** What was changed, in order. */
  actions: string[];
  /** What could not be made right (the operator's list). */
  problems: string[];
  /** Upstreams neither a slot nor a helper explains: left alone (an operator may have added them). */
  foreign: string[];
  slots: { slot: string; name?: string; version?: string; state?: string }[];
}

const DEFAULT_GROUP = 'default';

/**
 * Brings the lab back to a consistent state after an interrupted or failed deploy: a reconciliation
 * of what the runtime runs with what the balancer routes to, guided by the deploy's journal.
 *
 * Order matters, so that no request fails meanwhile: first every slot gets one running instance,
 * healthy in the balancer and in rotation (those already serving keep serving; an instance the dead
 * deployer was stopping is stopped for good and its slot refilled; an empty slot gets the version
 * it had before the deploy); only then the split is cleared (everything in rotation serves), the
 * slots go back to the default group, and the helpers (surge, green, canary) are drained and removed.
 * Idempotent: on a consistent lab it changes nothing.
 */
export async function repairLab(d: RepairDeps, journal?: JournalData): Promise<RepairResult> {
  const r: RepairResult = { consistent: false, actions: [], problems: [], foreign: [], slots: [] };
  const act = (line: string) => {
    r.actions.push(line);
    d.say(`repair: ${line}`);
  };
  const slotViews = await d.runtime.slots();
  const slotInstances: Instance[] = [];

  for (const s of slotViews) {
    const before = journal?.slots.find((x) => x.slot === s.slot)?.version ?? s.version;
    let inst = s.running;
    const last = lastStepOf(journal, s.slot);
    if (inst && last?.step === 'stop' && inst.version === before && !(await d.lb.get(inst.name))) {
      // The dead deployer was stopping this instance (drained and deregistered already): finish it.
      act(`${s.slot}: finishing the stop of ${inst.name} (${inst.version}) that was in progress`);
      await d.runtime.stop(inst);
      inst = undefined;
    }
    if (!inst) {
      act(`${s.slot}: nothing running; starting ${before}, the version it ran before the deploy`);
      // Its image may not exist under that tag (compose: a lab started without a version tag).
      await d.runtime.prepare(before);
      inst = await d.runtime.start(s.slot, before);
    }
    let ok = await bringIntoRotation(d, inst, act);
    if (!ok && inst.version !== before) {
      act(`${s.slot}: ${inst.name} (${inst.version}) is not healthy; putting ${before} back`);
      if (await d.lb.get(inst.name)) await d.lb.remove(inst.name, 0);
      await d.runtime.stop(inst);
      await d.runtime.prepare(before);
      inst = await d.runtime.start(s.slot, before);
      ok = await bringIntoRotation(d, inst, act);
    }
    if (!ok) r.problems.push(`${s.slot}: ${inst.name} (${inst.version}) did not become healthy in the balancer within ${d.healthTimeoutMs} ms`);
    slotInstances.push(inst);
  }

  if (await d.lb.getSplit()) {
    act('clearing the traffic split: every instance in rotation serves');
    await d.lb.setSplit(null);
  }
  for (const inst of slotInstances) {
    const u = await d.lb.get(inst.name);
    if (u && u.group !== DEFAULT_GROUP) {
      act(`${inst.slot}: back to the default group (was ${u.group})`);
      await d.lb.patch(inst.name, { group: DEFAULT_GROUP });
    }
  }

  const slotNames = new Set(slotInstances.map((i) => i.name));
  const helpers = await d.runtime.helpers();
  for (const h of helpers) {
    if (slotNames.has(h.name)) continue;
    act(`${h.slot}: removing the helper ${h.name} (${h.version})`);
    await takeOut(d, h.name);
    await d.runtime.removeBeside(h);
  }
  const helperNames = new Set(helpers.map((h) => h.name));
  for (const u of await d.lb.list()) {
    if (slotNames.has(u.name) || helperNames.has(u.name)) continue;
    if (journal?.registered.includes(u.name)) {
      act(`removing ${u.name} from the balancer (registered by the deploy; nothing runs it any more)`);
      await takeOut(d, u.name);
    } else r.foreign.push(u.name);
  }
  for (const f of r.foreign) d.say(`repair: ${f} is in the balancer but is no slot or helper of this lab: left alone`);

  // Verify from what the balancer and the runtime report now.
  const ups = new Map((await d.lb.list()).map((u) => [u.name, u]));
  for (const inst of slotInstances) {
    const u = ups.get(inst.name);
    r.slots.push({ slot: inst.slot, name: inst.name, version: inst.version, state: u?.state ?? 'not in the balancer' });
    if (u?.state !== 'healthy' && !r.problems.some((p) => p.startsWith(`${inst.slot}:`))) r.problems.push(`${inst.slot}: ${inst.name} is ${u?.state ?? 'not in the balancer'}`);
  }
  if (await d.lb.getSplit()) r.problems.push('a traffic split is still set');
  const left = (await d.runtime.helpers()).filter((h) => !slotNames.has(h.name));
  if (left.length > 0) r.problems.push(`helpers still running: ${left.map((h) => h.name).join(', ')}`);
  r.consistent = r.problems.length === 0;
  return r;
}

/** Registers (if needed) without traffic, waits for the balancer to see it healthy, enables it. */
async function bringIntoRotation(d: RepairDeps, inst: Instance, act: (l: string) => void): Promise<boolean> {
  let u = await d.lb.get(inst.name);
  if (!u) {
    act(`${inst.slot}: registering ${inst.name} (${inst.version}) in the balancer, without traffic until healthy`);
    await d.lb.add({ url: inst.url, name: inst.name, enabled: false });
  }
  if (!(await waitHealthy(d, inst.name))) return false;
  u = (await d.lb.get(inst.name)) as UpstreamStatus;
  if (u.state === 'draining' || u.state === 'disabled') {
    act(`${inst.slot}: ${inst.name} was ${u.state}; back in rotation`);
    await d.lb.enable(inst.name);
  }
  return true;
}

async function waitHealthy(d: RepairDeps, name: string): Promise<boolean> {
  const began = d.clock.now();
  for (;;) {
    const u = await d.lb.get(name);
    if (u?.health === 'healthy') return true;
    if (d.clock.now() - began >= d.healthTimeoutMs) return false;
    await d.clock.sleep(d.pollMs ?? 100);
  }
}

/** Drains (waiting for in-flight requests), then deregisters. */
async function takeOut(d: RepairDeps, name: string): Promise<void> {
  if (!(await d.lb.get(name))) return;
  await d.lb.drain(name, d.drainTimeoutMs);
  await d.lb.remove(name, 0);
}
