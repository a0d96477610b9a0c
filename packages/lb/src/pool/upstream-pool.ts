import type http from 'node:http';
import { SmoothWeightedRoundRobin } from '../balancing/smooth-weighted-round-robin';
import { type SplitEntry, TrafficSplit } from '../balancing/traffic-split';
import type { LbConfig, UpstreamConfig } from '../config/lb-config';
import { labDisabled } from '../lab-switches';
import { Upstream, type AdminState, type CheckResult, type Health, type Transition } from './upstream';

/** What a cluster worker needs to route exactly like its primary: one message, applied in one step. */
export interface PoolState {
  upstreams: Array<{ name: string; url: string; group: string; weight: number; health: Health; admin: AdminState; evictions: number; fallback: boolean }>;
  split: SplitEntry[] | null;
  /** Incremented on every split change (set or clear); responses carry it in x-lb-split. */
  splitGeneration: number;
}

export interface PoolHooks {
  /** A shown state changed (for the log). */
  onTransition?: (t: Transition) => void;
  /** Anything routing depends on changed: an upstream's health, admin state, group or weight, the set of upstreams, the split. */
  onChange?: () => void;
  /**
   * Where a request's failure to reach an upstream goes. By default into the upstream's own state
   * machine; a cluster worker sends it to the primary, which owns health.
   */
  onPassiveFailure?: (u: Upstream, result: CheckResult) => void;
  /** A request succeeded on an upstream after failures (ends its failure streak); same routing as failures. */
  onPassiveSuccess?: (u: Upstream) => void;
  /** Panic routing began (nothing in rotation, `fallback` takes the traffic) or ended. */
  onPanic?: (panic: boolean, fallback: string[]) => void;
}

/** What a request says about where it wants to go (read only while a split is active). */
export interface RouteHints {
  forceGroup?: string;
  userKey?: string;
}

/**
 * The set of upstreams and the lists of those in rotation (all, and by group), rebuilt whenever
 * a state changes so the request path only reads ready arrays.
 */
export class UpstreamPool {
  private readonly upstreams = new Map<string, Upstream>();
  private rotation: Upstream[] = [];
  /** Who takes traffic when the rotation is empty (panic routing; see Upstream.fallbackEligible). */
  private fallback: Upstream[] = [];
  private byGroup = new Map<string, Upstream[]>();
  private readonly policy = new SmoothWeightedRoundRobin<Upstream>((u) => u.weight);
  private readonly agentOptions: http.AgentOptions;
  private _split?: TrafficSplit;
  private _splitGeneration = 0;

  private readonly onChange: () => void;

  constructor(
    private readonly config: LbConfig,
    private readonly hooks: PoolHooks = {},
    private readonly now: () => number = Date.now,
  ) {
    this.agentOptions = { timeout: config.proxy.idleSocketMs, scheduling: 'lifo' };
    this.onChange = hooks.onChange ?? (() => {});
    for (const u of config.upstreams) this.add(u);
  }

  add(config: UpstreamConfig): Upstream {
    const upstream = this.create(config);
    // Lab only (LB_LAB_DISABLE=health-gate, npm run experiment): in rotation before any check passed.
    if (labDisabled('health-gate')) upstream.health = 'healthy';
    this.rebuild();
    this.onChange();
    return upstream;
  }

  private create(config: UpstreamConfig): Upstream {
    const upstream = new Upstream(
      config,
      this.config.healthCheck,
      this.agentOptions,
      (t) => {
        this.rebuild();
        this.hooks.onTransition?.(t);
      },
      () => {
        // Only the panic fallback can change without a transition; it matters only while nothing is in rotation.
        if (this.rotation.length === 0) this.rebuild();
        this.onChange();
      },
      this.now,
    );
    this.upstreams.set(upstream.name, upstream);
    return upstream;
  }

  remove(name: string): boolean {
    const u = this.upstreams.get(name);
    if (!u) return false;
    this.upstreams.delete(name);
    u.destroy();
    this.rebuild();
    this.onChange();
    return true;
  }

  /** Changes an upstream's group or weight; the lists are rebuilt at once. */
  update(u: Upstream, change: { group?: string; weight?: number; version?: string }): void {
    if (change.version !== undefined) u.version = change.version;
    if (change.group !== undefined) u.group = change.group;
    if (change.weight !== undefined) u.weight = change.weight;
    this.rebuild();
    this.onChange();
  }

  /** A request could not reach `u` (refused, reset, timed out). */
  reportPassiveFailure(u: Upstream, result: CheckResult): void {
    if (this.hooks.onPassiveFailure) {
      u.failures++;
      u.passiveStreak++;
      this.hooks.onPassiveFailure(u, result);
    } else u.reportPassiveFailure(result);
  }

  /** A request completed on `u` while it had a failure streak (called only then: off the hot path). */
  reportPassiveSuccess(u: Upstream): void {
    if (this.hooks.onPassiveSuccess) {
      u.passiveStreak = 0;
      this.hooks.onPassiveSuccess(u);
    } else u.reportPassiveSuccess();
  }

  /** Everything routing depends on, for a cluster worker. */
  exportState(): PoolState {
    return {
      upstreams: this.all().map((u) => ({ name: u.name, url: u.url, group: u.group, weight: u.weight, health: u.health, admin: u.admin, evictions: u.evictions, fallback: u.fallbackEligible })),
      split: this._split ? [...this._split.entries] : null,
      splitGeneration: this._splitGeneration,
    };
  }

  /**
   * Makes this pool route like the one that exported `state` (a cluster worker following its
   * primary): adds, updates and removes upstreams and sets the split, then rebuilds once, all in
   * one synchronous step, so no request sees half of a change.
   */
  applyState(state: PoolState): void {
    const keep = new Set<string>();
    for (const s of state.upstreams) {
      keep.add(s.name);
      let u = this.upstreams.get(s.name);
      if (u && u.url !== s.url) {
        this.upstreams.delete(s.name);
        u.destroy();
        u = undefined;
      }
      u ??= this.create({ url: s.url, name: s.name });
      u.group = s.group;
      u.weight = s.weight;
      u.follow(s);
    }
    for (const [name, u] of this.upstreams) {
      if (keep.has(name)) continue;
      this.upstreams.delete(name);
      u.destroy();
    }
    // Keep the current split object when unchanged: it carries the position in its weighted sequence.
    if (state.splitGeneration !== this._splitGeneration || JSON.stringify(state.split) !== JSON.stringify(this._split?.entries ?? null)) {
      this._split = state.split ? new TrafficSplit(state.split) : undefined;
    }
    this._splitGeneration = state.splitGeneration;
    this.rebuild();
  }

  get(name: string): Upstream | undefined {
    return this.upstreams.get(name);
  }

  all(): Upstream[] {
    return [...this.upstreams.values()];
  }

  get inRotation(): readonly Upstream[] {
    return this.rotation;
  }

  get split(): readonly SplitEntry[] | undefined {
    return this._split?.entries;
  }

  /** Sets (or with undefined, clears) the traffic split between groups: one atomic change. */
  setSplit(entries: readonly SplitEntry[] | undefined): number {
    this._split = entries ? new TrafficSplit(entries) : undefined;
    this._splitGeneration++;
    this.onChange();
    return this._splitGeneration;
  }

  /** The split's generation: 0 until a split is first set, then +1 on every set or clear. */
  get splitGeneration(): number {
    return this._splitGeneration;
  }

  /** Nothing is in rotation and requests go to the fallback (panic routing). */
  get inPanic(): boolean {
    return this.fallback.length > 0;
  }

  /** True when requests must be read for route hints (a split is active). */
  get wantsHints(): boolean {
    return this._split !== undefined;
  }

  /**
   * Whether a request leaving `u` has somewhere else to go: another upstream in rotation (or, with
   * none in rotation, in the panic fallback) that it has not tried yet.
   */
  hasAlternative(u: Upstream, tried?: ReadonlySet<Upstream>): boolean {
    const other = (x: Upstream) => x !== u && !tried?.has(x);
    return this.rotation.length > 0 ? this.rotation.some(other) : this.fallback.some(other);
  }

  /**
   * Chooses the next upstream and counts the request as in flight in the same synchronous step,
   * so a request can never land on an upstream that has just begun draining.
   */
  acquire(skip?: ReadonlySet<Upstream>, hints?: RouteHints): Upstream | undefined {
    let u = this._split ? this.pickWithSplit(this._split, skip, hints) : this.policy.next(this.rotation, skip);
    // Nothing in rotation at all: rather than 503 for everyone, try those that fell out on failed
    // checks only (a starved machine's slow pings); one that cannot be reached is retried elsewhere.
    if (!u && this.rotation.length === 0 && this.fallback.length > 0) u = this.policy.next(this.fallback, skip);
    if (u) {
      u.inFlight++;
      u.requests++;
    }
    return u;
  }

  release(u: Upstream): void {
    u.inFlight--;
  }

  private pickWithSplit(split: TrafficSplit, skip: ReadonlySet<Upstream> | undefined, hints: RouteHints | undefined): Upstream | undefined {
    const inGroup = (g: string | undefined) => (g === undefined ? undefined : this.policy.next(this.byGroup.get(g) ?? [], skip));
    const available = (g: string) => (this.byGroup.get(g) ?? []).some((u) => u.weight > 0 && !skip?.has(u));
    const preferred = hints?.forceGroup && this.byGroup.has(hints.forceGroup)
      ? hints.forceGroup
      : hints?.userKey
        ? split.groupForKey(hints.userKey)
        : split.nextGroup(available);
    // The preferred group first; if it has nothing left, any group with a share, then anything in
    // rotation: availability wins over the split when a whole group is down.
    return (
      inGroup(preferred) ??
      inGroup(split.nextGroup(available)) ??
      this.policy.next(this.rotation, skip)
    );
  }

  private rebuild(): void {
    this.rotation = this.all().filter((u) => u.inRotation);
    const panicBefore = this.inPanic;
    this.fallback = this.rotation.length === 0 ? this.all().filter((u) => u.fallbackEligible) : [];
    if (this.inPanic !== panicBefore) this.hooks.onPanic?.(this.inPanic, this.fallback.map((u) => u.name));
    const byGroup = new Map<string, Upstream[]>();
    for (const u of this.rotation) {
      const list = byGroup.get(u.group);
      if (list) list.push(u);
      else byGroup.set(u.group, [u]);
    }
    this.byGroup = byGroup;
    this.policy.retain(this.all());
  }

  destroy(): void {
    for (const u of this.upstreams.values()) u.destroy();
  }
}
