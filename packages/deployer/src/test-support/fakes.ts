import type { Clock } from '../clock';
import type { DeployLockApi, DeployState, JournalRecord, LockAnswer, LockRequest, LockView } from '../lb-client/deploy-lock-api';
import type { DrainResult, LbAdmin, SplitEntry, UpstreamStatus } from '../lb-client/lb-admin';
import type { Instance, Runtime, SlotView } from '../runtime/runtime';

/** A clock that moves only when something sleeps. */
export class FakeClock implements Clock {
  t = 0;
  now = () => this.t;
  sleep = async (ms: number) => {
    this.t += ms;
  };
}

interface Proc {
  inst: Instance;
  startedAt: number;
  running: boolean;
}

/** Instances that boot in `bootMs`; versions listed in `broken` never become healthy. */
export class FakeRuntime implements Runtime {
  readonly kind = 'fake';
  readonly log: string[] = [];
  readonly procs = new Map<string, Proc>();
  bootMs = 500;
  broken = new Set<string>();
  failStartOf = new Set<string>();

  constructor(
    private readonly clock: FakeClock,
    slots: string[],
    version = 'v1',
  ) {
    for (const slot of slots) this.procs.set(slot, { inst: this.instance(slot, version), startedAt: -10_000, running: true });
  }

  private instance(slot: string, version: string, role?: string): Instance {
    const name = role ? `${slot}-${role}` : slot;
    return { slot, name, url: `http://${name}:80`, version };
  }

  async list(): Promise<Instance[]> {
    return [...this.procs.values()].filter((p) => p.running && p.inst.name === p.inst.slot).map((p) => p.inst);
  }
  async prepare(version: string): Promise<void> {
    this.log.push(`prepare ${version}`);
  }
  async stop(inst: Instance): Promise<void> {
    this.log.push(`stop ${inst.name}@${inst.version}`);
    const p = this.procs.get(inst.name);
    if (p) p.running = false;
    this.clock.t += 100;
  }
  /** Last version started per slot (what a compose .env or the local state would say). */
  readonly configured = new Map<string, string>();
  async slots(): Promise<SlotView[]> {
    return [...this.procs.values()]
      .filter((p) => p.inst.name === p.inst.slot)
      .map((p) => ({ slot: p.inst.slot, version: this.configured.get(p.inst.slot) ?? p.inst.version, ...(p.running ? { running: p.inst } : {}) }));
  }
  async helpers(): Promise<Instance[]> {
    return [...this.procs.values()].filter((p) => p.running && p.inst.name !== p.inst.slot).map((p) => p.inst);
  }
  async start(slot: string, version: string): Promise<Instance> {
    this.log.push(`start ${slot}@${version}`);
    this.configured.set(slot, version);
    if (this.failStartOf.has(version)) throw new Error(`cannot start ${version}`);
    const inst = this.instance(slot, version);
    this.procs.set(slot, { inst, startedAt: this.clock.t, running: true });
    return inst;
  }
  async startBeside(slot: string, version: string, _env?: Record<string, string>, role = 'surge'): Promise<Instance> {
    this.log.push(`start-beside ${slot}@${version} as ${role}`);
    const inst = this.instance(slot, version, role);
    this.procs.set(inst.name, { inst, startedAt: this.clock.t, running: true });
    return inst;
  }
  async removeBeside(inst: Instance): Promise<void> {
    this.log.push(`remove-beside ${inst.name}`);
    this.procs.delete(inst.name);
  }
  healthy(name: string): boolean {
    const p = this.procs.get(name);
    return !!p && p.running && !this.broken.has(p.inst.version) && this.clock.t - p.startedAt >= this.bootMs;
  }
}

/** The balancer's admin API over the fake runtime; records every call and the capacity at each change. */
export class FakeLb implements LbAdmin {
  readonly log: string[] = [];
  readonly ups = new Map<string, { url: string; admin: 'active' | 'draining' | 'disabled'; group: string }>();
  split: SplitEntry[] | null = null;
  /** Prometheus text the fake serves; tests script it per call. */
  metricsText: () => string = () => '';
  /** Lowest number of upstreams in rotation seen after any change. */
  minInRotation = Infinity;

  constructor(private readonly runtime: FakeRuntime) {}

  register(inst: Instance): void {
    this.ups.set(inst.name, { url: inst.url, admin: 'active', group: 'default' });
  }
  inRotation(): string[] {
    return [...this.ups.entries()].filter(([n, u]) => u.admin === 'active' && this.runtime.healthy(n)).map(([n]) => n);
  }
  /** The versions that would get traffic, after every change. */
  readonly servingVersions: string[][] = [];
  private note(entry: string): void {
    this.log.push(entry);
    this.minInRotation = Math.min(this.minInRotation, this.inRotation().length);
    this.servingVersions.push([...new Set(this.serving().map((n) => this.runtime.procs.get(n)?.inst.version ?? '?'))].sort());
  }
  private status(name: string): UpstreamStatus {
    const u = this.ups.get(name)!;
    const health = this.runtime.healthy(name) ? 'healthy' : 'unhealthy';
    return { name, url: u.url, health, state: u.admin === 'active' ? health : u.admin, inFlight: 0, requests: 0, failures: 0, group: u.group, weight: 1 };
  }
  async list() {
    return [...this.ups.keys()].map((n) => this.status(n));
  }
  async get(name: string) {
    return this.ups.has(name) ? this.status(name) : undefined;
  }
  /** Upstreams that would get traffic now: in rotation and in a group with a share (or no split). */
  serving(): string[] {
    return this.inRotation().filter((n) => !this.split || (this.split.find((e) => e.group === this.ups.get(n)!.group)?.weight ?? 0) > 0);
  }
  async patch(name: string, change: { group?: string }) {
    if (change.group) this.ups.get(name)!.group = change.group;
    this.note(`patch ${name} group=${change.group}`);
    return this.status(name);
  }
  async setSplit(groups: SplitEntry[] | null) {
    this.split = groups;
    this.note(`split ${groups ? groups.map((g) => `${g.group}:${g.weight}`).join(',') : 'none'}`);
  }
  async getSplit() {
    return this.split;
  }
  async metrics() {
    return this.metricsText();
  }
  async add(u: { url: string; name: string; enabled: boolean; group?: string }) {
    if (this.ups.has(u.name)) throw new Error(`duplicate ${u.name}`);
    this.ups.set(u.name, { url: u.url, admin: u.enabled ? 'active' : 'disabled', group: u.group ?? 'default' });
    this.note(`add ${u.name}`);
    return this.status(u.name);
  }
  async drain(name: string): Promise<DrainResult> {
    this.ups.get(name)!.admin = 'draining';
    this.note(`drain ${name}`);
    return { drained: true, waitedMs: 0, inFlight: 0 };
  }
  async enable(name: string) {
    this.ups.get(name)!.admin = 'active';
    this.note(`enable ${name}`);
    return this.status(name);
  }
  async remove(name: string): Promise<DrainResult> {
    this.ups.delete(name);
    this.note(`remove ${name}`);
    return { drained: true, waitedMs: 0, inFlight: 0 };
  }
}

/** The balancer's deploy lock and journal, in memory (the real one: packages/lb/src/admin/deploy-lock.ts). */
export class FakeLockApi implements DeployLockApi {
  lock: LockView | null = null;
  journal: JournalRecord | null = null;
  previousJournal: JournalRecord | null = null;
  pages: DeployState['pages'] = [];
  lockHeader?: string;
  private n = 0;
  /** Every journal written, in order (to replay a deploy step by step). */
  readonly writes: unknown[] = [];

  async deployState(): Promise<DeployState> {
    return { lock: this.lock, journal: this.journal, previousJournal: this.previousJournal, activity: [], pages: this.pages };
  }
  async acquireLock(r: LockRequest): Promise<LockAnswer> {
    if (this.lock && !this.lock.expired && !r.force && r.takeOver !== this.lock.id) return { ok: false, code: 'LB_DEPLOY_LOCKED', message: 'held', lock: this.lock };
    const t = new Date(0).toISOString();
    this.lock = { id: `lock${++this.n}`, holder: r.holder, strategy: r.strategy, version: r.version, acquiredAt: t, renewedAt: t, leaseMs: r.leaseMs, expiresAt: t, expired: false, remainingMs: r.leaseMs };
    return { ok: true, lock: this.lock };
  }
  async renewLock(id: string): Promise<LockAnswer> {
    return this.lock?.id === id ? { ok: true, lock: this.lock } : { ok: false, code: 'LB_DEPLOY_LOCK_LOST', message: 'lost', lock: this.lock };
  }
  async releaseLock(id: string): Promise<LockAnswer> {
    const r = await this.renewLock(id);
    if (r.ok) this.lock = null;
    return r;
  }
  /** Decides, before a journal write, whether the deployer dies now: after storing it, or instead of it. */
  beforeWrite?: (journal: unknown) => 'store-then-die' | 'die' | undefined;
  onDeath?: () => void;

  async writeJournal(id: string, journal: object): Promise<LockAnswer> {
    if (this.lock?.id !== id) return { ok: false, code: 'LB_DEPLOY_LOCK_LOST', message: 'lost', lock: this.lock };
    const fate = this.beforeWrite?.(journal);
    if (fate === 'die') {
      this.onDeath?.();
      throw new Error('the deployer was killed');
    }
    if (fate === 'store-then-die') this.onDeath?.();
    if (this.journal && this.journal.id !== id) this.previousJournal = this.journal;
    const copy = JSON.parse(JSON.stringify(journal)) as unknown;
    this.journal = { id, updatedAt: new Date(0).toISOString(), data: copy };
    this.writes.push(copy);
    return { ok: true, lock: this.lock };
  }
  useLock(id: string | undefined): void {
    this.lockHeader = id;
  }
}

/** Simulated balancer metrics: each read adds 100 requests split by the current canary share. */
export function trafficMetrics(lb: FakeLb, canaryFailRate: number): () => string {
  let canaryOk = 0;
  let canaryErr = 0;
  let base = 0;
  return () => {
    const share = lb.split?.find((e) => e.group === 'canary')?.weight ?? 0;
    const c = share;
    const bad = Math.round(c * canaryFailRate);
    canaryOk += c - bad;
    canaryErr += bad;
    base += 100 - c;
    const total = canaryOk + canaryErr;
    return [
      `lb_requests_total{upstream="c",group="canary",status_class="2xx"} ${canaryOk}`,
      `lb_requests_total{upstream="c",group="canary",status_class="5xx"} ${canaryErr}`,
      `lb_requests_total{upstream="b",group="baseline",status_class="2xx"} ${base}`,
      `lb_request_duration_seconds_bucket{le="0.005",upstream="c",group="canary"} ${total}`,
      `lb_request_duration_seconds_bucket{le="+Inf",upstream="c",group="canary"} ${total}`,
      `lb_request_duration_seconds_bucket{le="0.005",upstream="b",group="baseline"} ${base}`,
      `lb_request_duration_seconds_bucket{le="+Inf",upstream="b",group="baseline"} ${base}`,
    ].join('\n');
  };
}

/** The balancer fake with its deploy lock: what the CLI's deploy command talks to. */
export function fakeBalancer(lb: FakeLb, lock: FakeLockApi): FakeLb & DeployLockApi {
  const methods: (keyof DeployLockApi)[] = ['deployState', 'acquireLock', 'renewLock', 'releaseLock', 'writeJournal', 'useLock'];
  for (const m of methods) (lb as unknown as Record<string, unknown>)[m] = (lock[m] as (...a: unknown[]) => unknown).bind(lock);
  return lb as FakeLb & DeployLockApi;
}

/**
 * A process that can die: every method call on the wrapped object throws once `world.dead` is set,
 * the way nothing more happens after a SIGKILL (calls already under way finish, like a request the
 * balancer already received).
 */
export function mortal<T extends object>(target: T, world: { dead: boolean }): T {
  return new Proxy(target, {
    get(t, p) {
      const v = Reflect.get(t, p, t) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        if (world.dead) throw new Error('the deployer was killed');
        return (v as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
}
