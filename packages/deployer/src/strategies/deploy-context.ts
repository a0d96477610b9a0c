import type { Clock } from '../clock';
import { DEPLOY_DEFAULTS } from '../deploy-defaults';
import type { DeployReport, Reporter, StepName, StepRecord } from '../deploy-report';
import { DeployError } from '../lb-client/deploy-error';
import type { StepObserver } from '../journal/deploy-journal';
import type { LbAdmin } from '../lb-client/lb-admin';
import type { BesideRole, Instance, Runtime } from '../runtime/runtime';
import { describeDrain } from '../lb-client/lb-admin';

export interface DeployOptions {
  version: string;
  /** Instances replaced at the same time. */
  batchSize: number;
  /** How long a drain may wait for in-flight requests before the instance is stopped anyway. */
  drainTimeoutMs: number;
  /** How long a new instance has to become healthy in the balancer. */
  healthTimeoutMs: number;
  /** Pause between batches. */
  pauseMs: number;
  /** Start the new instance beside the old one first, so capacity never drops. */
  surge: boolean;
  /** Extra environment for the new version's instances only (never for a rollback). */
  env: Record<string, string>;
}

export const DEFAULT_DEPLOY_OPTIONS: Omit<DeployOptions, 'version'> = {
  batchSize: DEPLOY_DEFAULTS.batchSize,
  drainTimeoutMs: DEPLOY_DEFAULTS.drainTimeoutMs,
  healthTimeoutMs: DEPLOY_DEFAULTS.healthTimeoutMs,
  pauseMs: DEPLOY_DEFAULTS.pauseMs,
  surge: DEPLOY_DEFAULTS.surge,
  env: {},
};

/**
 * Lab only (npm run experiment): deployer mechanisms switched off to show what they prevent.
 * The CLI never sets these.
 */
export interface DeployLabSwitches {
  /** Stop the instance while it is still in rotation (no drain first), then deregister it. */
  noDrain?: boolean;
}

/** What a strategy works with; every side effect is in here, injected. */
export class DeployContext {
  readonly steps: StepRecord[] = [];
  /** Lab only, see DeployLabSwitches; empty (every mechanism on) unless the experiment sets it. */
  labSwitches: DeployLabSwitches = {};
  private began = 0;
  /** Keeps the journal: told before a step starts and when it ends. */
  observer?: StepObserver;
  /** Set on SIGINT/SIGTERM: no new step starts, the one in progress ends at its next safe point. */
  interrupted?: string;

  constructor(
    readonly lb: LbAdmin,
    readonly runtime: Runtime,
    readonly clock: Clock,
    readonly reporter: Reporter,
    readonly pollMs = 100,
  ) {}

  /** Stops the deploy at the next safe point (between steps, or inside a wait). */
  interrupt(reason: string): void {
    this.interrupted ??= reason;
  }

  /** Interrupted, or the journal could not be written (the lock is lost): strategies skip their own rollback. */
  get stopping(): boolean {
    return this.interrupted !== undefined;
  }

  /** Throws if the deploy was interrupted: called between steps and inside long waits. */
  checkInterrupted(where: string): void {
    if (this.interrupted) throw new DeployError('DEPLOY_ERR_INTERRUPTED', `${this.interrupted}: stopped before ${where}`);
  }

  /** Announces a step: the journal records the intent first, then the reporter shows it started. */
  async begin(slot: string, step: StepName): Promise<void> {
    this.checkInterrupted(`${slot === '*' ? '' : `${slot} `}${step}`);
    await this.observe(() => this.observer?.started(slot, step));
    this.reporter.stepStarted(slot, step);
  }

  /** Records a finished step (journal, report, progress). */
  async record(rec: StepRecord): Promise<void> {
    this.steps.push(rec);
    this.reporter.stepDone(rec);
    await this.observe(() => this.observer?.done(rec));
  }

  /** A journal that cannot be written means the lock is lost: stop like on an interrupt. */
  private async observe(fn: () => Promise<void> | undefined): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.interrupt((err as Error).message);
      throw err;
    }
  }

  /** Runs one step, timing it and reporting it. */
  async step<T>(slot: string, step: StepName, fn: () => Promise<T>, detail?: (r: T) => string | undefined): Promise<T> {
    await this.begin(slot, step);
    const began = this.clock.now();
    let r: T;
    try {
      r = await fn();
    } catch (err) {
      await this.record({ slot, step, ok: false, ms: this.clock.now() - began, detail: (err as Error).message });
      throw err;
    }
    await this.record({ slot, step, ok: true, ms: this.clock.now() - began, detail: detail?.(r) });
    return r;
  }

  /** Waits until the balancer itself reports the upstream healthy (Docker's word is not enough). */
  async waitHealthy(name: string, timeoutMs: number): Promise<void> {
    const began = this.clock.now();
    let last = 'not registered';
    for (;;) {
      const u = await this.lb.get(name);
      if (u?.health === 'healthy') return;
      last = u ? `${u.health}, last check: ${u.lastCheck ?? '-'}` : 'not registered';
      if (this.clock.now() - began >= timeoutMs) {
        throw new DeployError('DEPLOY_ERR_HEALTH_TIMEOUT', `${name} was not healthy in the balancer within ${timeoutMs} ms (${last})`);
      }
      this.checkInterrupted(`${name} became healthy`);
      await this.clock.sleep(this.pollMs);
    }
  }

  /** Registers an instance without traffic, waits for the balancer to see it healthy, then enables it. */
  async bringIn(slot: string, inst: Instance, healthTimeoutMs: number, group?: string): Promise<void> {
    await this.observe(() => this.observer?.registering(inst.name));
    await this.step(
      slot,
      'register',
      async () => {
        // A replica the balancer discovered by DNS is already listed (enabled, out of rotation until
        // its first passing check): it is not added twice, only moved to its group and given its
        // version. Its group is set before any split gives that group traffic (blue/green and
        // canary set the split first), and a group absent from the split gets none meanwhile.
        const known = this.runtime.placement === 'replicas' ? await this.lb.get(inst.name) : undefined;
        if (!known) return this.lb.add({ url: inst.url, name: inst.name, enabled: false, version: inst.version, ...(group ? { group } : {}) });
        return this.lb.patch(inst.name, { version: inst.version, ...(group ? { group } : {}) });
      },
      () => (group ? `${inst.url} in group ${group}` : inst.url),
    );
    await this.step(slot, 'health', () => this.waitHealthy(inst.name, healthTimeoutMs));
    await this.step(slot, 'enable', () => this.lb.enable(inst.name));
  }

  /** Drains an instance in the balancer and removes it from there; it serves nothing afterwards. */
  async takeOut(slot: string, inst: Instance, drainTimeoutMs: number): Promise<void> {
    if (this.labSwitches.noDrain) {
      // Lab only: the instance is stopped while it still gets traffic; the strategy's own stop
      // that follows finds it already stopped.
      await this.step(slot, 'stop', () => this.runtime.stop(inst), () => `${inst.name} (${inst.version}) stopped while in rotation (lab: no drain)`);
      await this.step(slot, 'deregister', () => this.lb.remove(inst.name, 0));
      return;
    }
    await this.step(slot, 'drain', () => this.lb.drain(inst.name, drainTimeoutMs), describeDrain,
    );
    await this.step(slot, 'deregister', () => this.lb.remove(inst.name, 0));
  }

  /** Starts a report; strategies fill in slots, `ok` and `error`, and finishReport() closes it. */
  startReport(strategy: string, version: string): DeployReport {
    this.began = this.clock.now();
    return {
      strategy,
      runtime: this.runtime.kind,
      version,
      ok: false,
      startedAt: new Date().toISOString(),
      durationMs: 0,
      steps: this.steps,
      slots: [],
      final: [],
    };
  }

  async finishReport(report: DeployReport, err?: unknown): Promise<DeployReport> {
    if (err !== undefined) {
      const e = err instanceof DeployError ? err : new DeployError('DEPLOY_ERR_RUNTIME', (err as Error).message, { cause: err });
      report.error = { code: e.code, message: e.message };
      report.ok = false;
    }
    report.durationMs = this.clock.now() - this.began;
    report.final = await this.runtime.list().catch(() => []);
    return report;
  }

  /** Every instance must be known to the balancer before anything changes. */
  async checkRegistered(instances: Instance[]): Promise<void> {
    if (instances.length === 0) throw new DeployError('DEPLOY_ERR_PRECONDITION', 'the runtime reports no running instance to replace');
    const known = new Set((await this.lb.list()).map((u) => u.name));
    const missing = instances.filter((i) => !known.has(i.name));
    if (missing.length > 0) {
      throw new DeployError(
        'DEPLOY_ERR_PRECONDITION',
        `the balancer does not know ${missing.map((m) => m.name).join(', ')} (it knows ${[...known].join(', ') || 'nothing'}); is it the balancer of this lab?`,
      );
    }
  }

  /**
   * After a switch (blue/green) or a full canary: each old slot, which carries no traffic by now,
   * is refilled with the new version in `group` (so it takes traffic once healthy); then the
   * helpers started beside the slots retire and the pool goes back to one group.
   */
  async refillSlotsAndRetireHelpers(
    report: DeployReport,
    old: Instance[],
    helpers: Instance[],
    o: DeployOptions,
    group: string,
  ): Promise<void> {
    if (this.runtime.placement === 'replicas') return this.retireReplicas(report, old, helpers, o, group);
    for (const b of old) {
      const began = this.clock.now();
      await this.takeOut(b.slot, b, o.drainTimeoutMs);
      await this.step(b.slot, 'stop', () => this.runtime.stop(b), () => `${b.name} (${b.version})`);
      const fresh = await this.step(b.slot, 'start', () => this.runtime.start(b.slot, o.version, o.env), (i) => `${i.name} (${i.version})`);
      await this.bringIn(b.slot, fresh, o.healthTimeoutMs, group);
      const entry = report.slots.find((s) => s.slot === b.slot);
      if (entry) {
        entry.result = 'updated';
        entry.ms = this.clock.now() - began;
      }
    }
    for (const h of helpers) {
      await this.takeOut(h.slot, h, o.drainTimeoutMs);
      await this.step(h.slot, 'remove-beside', () => this.runtime.removeBeside(h));
    }
    await this.step('*', 'cleanup', () => this.unlabel(old));
  }

  /**
   * Replica sets: the new instances started beside (green, canary) become the replicas. Capacity
   * first: as many more new instances as old ones are missing (a canary of 1 beside 5 replicas gets
   * 4 more) join `group`, which carries the traffic by now; then the old replicas, drained already
   * or carrying no traffic, are taken out, stopped and removed, each new one adopted in an old one's
   * slot; last, the split is cleared and the new set goes back to the default group.
   */
  private async retireReplicas(report: DeployReport, old: Instance[], helpers: Instance[], o: DeployOptions, group: string): Promise<void> {
    const fresh = [...helpers];
    const missing = old.slice(fresh.length);
    if (missing.length > 0) {
      const more = await this.startBesideAll(missing.map((m) => m.slot), o.version, o.env, 'surge');
      await Promise.all(more.map((m) => this.bringIn(m.slot, m, o.healthTimeoutMs, group)));
      fresh.push(...more);
    }
    // The old replicas carry no traffic any more: retired together.
    await Promise.all(
      old.map(async (b, i) => {
        const began = this.clock.now();
        await this.takeOut(b.slot, b, o.drainTimeoutMs);
        await this.step(b.slot, 'stop', () => this.runtime.stop(b), () => `${b.name} (${b.version}) stopped and removed`);
        await this.runtime.adopt?.(fresh[i], b.slot);
        const entry = report.slots.find((s) => s.slot === b.slot);
        if (entry) {
          entry.result = 'updated';
          entry.ms = this.clock.now() - began;
        }
      }),
    );
    await this.step('*', 'cleanup', () => this.unlabel(fresh));
  }

  /** Starts one new instance beside each slot: in one step where the runtime can (replica sets), else one by one. */
  async startBesideAll(slots: string[], version: string, env: Record<string, string>, role: BesideRole): Promise<Instance[]> {
    const many = this.runtime.startBesideMany?.bind(this.runtime);
    if (many && slots.length > 0) {
      return this.step('*', 'start-beside', () => many(slots, version, env, role), (list) => `${list.length} × ${version} (${role}): ${list.map((i) => i.name).join(', ')}`);
    }
    const out: Instance[] = [];
    for (const slot of slots) out.push(await this.step(slot, 'start-beside', () => this.runtime.startBeside(slot, version, env, role), (i) => i.name));
    return out;
  }

  /** Back to one pool: no traffic split, and every slot in the default group. */
  async unlabel(slots: Instance[]): Promise<void> {
    await this.lb.setSplit(null);
    for (const s of slots) {
      if (await this.lb.get(s.name)) await this.lb.patch(s.name, { group: 'default' });
    }
  }

  /** Removes a failed new instance from the balancer and the runtime, ignoring what is already gone. */
  async discard(slot: string, inst: Instance, beside: boolean): Promise<void> {
    if (await this.lb.get(inst.name).catch(() => undefined)) await this.lb.remove(inst.name, 0).catch(() => undefined);
    await this.step(slot, beside ? 'remove-beside' : 'stop', () => (beside ? this.runtime.removeBeside(inst) : this.runtime.stop(inst)));
  }
}
