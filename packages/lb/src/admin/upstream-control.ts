import type { SplitEntry } from '../balancing/traffic-split';
import type { UpstreamConfig } from '../config/lb-config';
import type { HealthChecker } from '../health/health-checker';
import type { Logger } from '../logger';
import type { LbMetrics } from '../metrics/lb-metrics';
import { backendKey } from '../config/parse-upstream-url';
import type { DnsEntryStatus } from '../discovery/dns-discovery';
import type { Upstream } from '../pool/upstream';
import type { UpstreamPool } from '../pool/upstream-pool';
import { AdminError, type AdminOperations, type DrainResult, type SplitView, type UpstreamSnapshot } from './admin-operations';

export interface UpstreamControlDeps {
  pool: UpstreamPool;
  health: HealthChecker;
  metrics: LbMetrics;
  log: Logger;
  /** Requests in flight to `u`: counted here, or asked of every worker in cluster mode. */
  inFlight(u: Upstream): Promise<number> | number;
  refreshStats(): Promise<void>;
  /** Closes the upstream's WebSockets and event streams cleanly after `graceMs` (all workers in cluster mode). */
  closeLongLived?(name: string, graceMs: number): Promise<{ closed: number; cut: number }>;
  longLivedGraceMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** The DNS entries and what their last lookup found (shown in the list; none without DNS entries). */
  discovery?: () => readonly DnsEntryStatus[];
  /** Called once an upstream is gone from the pool, whoever removed it (ends a self-registration's lease). */
  onRemoved?: (name: string) => void;
}

/**
 * The routing operations behind the admin API, each owning its state transitions. An upstream
 * being removed is marked here first: from then on only that removal may change it (a late
 * enable must not put back in rotation an upstream that is about to be cut with requests on it).
 */
export class UpstreamControl implements AdminOperations {
  private readonly removing = new Set<Upstream>();
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly d: UpstreamControlDeps) {
    this.sleep = d.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  refreshStats(): Promise<void> {
    return this.d.refreshStats();
  }

  list() {
    const { pool } = this.d;
    return {
      inRotation: pool.inRotation.map((u) => u.name),
      split: pool.split ?? null,
      splitGeneration: pool.splitGeneration,
      upstreams: pool.all().map((u) => u.snapshot()),
      discovery: this.d.discovery?.() ?? [],
    };
  }

  get(name: string): UpstreamSnapshot {
    return this.find(name).snapshot();
  }

  add(spec: UpstreamConfig, enabled: boolean): UpstreamSnapshot {
    const { pool } = this.d;
    const key = backendKey(spec.url);
    const clash = pool.all().find((u) => u.name === spec.name || backendKey(u.url) === key);
    if (clash) throw new AdminError(409, 'LB_ADMIN_DUPLICATE', `upstream already exists: ${clash.name} (${clash.url})`);
    const u = pool.add(spec);
    if (!enabled) u.setAdmin('disabled', 'added disabled');
    this.d.log.info('upstream added', { upstream: u.name, url: u.url, group: u.group, weight: u.weight, enabled });
    this.d.health.watch(u);
    return u.snapshot();
  }

  update(name: string, change: { group?: string; weight?: number; version?: string }): UpstreamSnapshot {
    const u = this.changeable(name);
    this.d.pool.update(u, change);
    return u.snapshot();
  }

  enable(name: string): UpstreamSnapshot {
    const u = this.changeable(name);
    u.setAdmin('active', 'enabled by admin');
    return u.snapshot();
  }

  disable(name: string): UpstreamSnapshot {
    const u = this.changeable(name);
    u.setAdmin('disabled', 'disabled by admin');
    return u.snapshot();
  }

  async drain(name: string, waitMs: number): Promise<UpstreamSnapshot & DrainResult> {
    const u = this.changeable(name);
    const r = await this.drainUpstream(u, waitMs);
    return { ...u.snapshot(), ...r };
  }

  /** Drains (up to `waitMs`), then removes the upstream; requests still in flight after that are cut. */
  async remove(name: string, waitMs: number): Promise<{ removed: string; inFlight: number } & DrainResult> {
    const u = this.changeable(name);
    this.removing.add(u);
    try {
      const r = await this.drainUpstream(u, waitMs);
      const inFlight = await this.d.inFlight(u);
      this.d.health.unwatch(u);
      this.d.pool.remove(u.name);
      this.d.onRemoved?.(u.name);
      this.d.log.info('upstream removed', { upstream: u.name, ...r, inFlight });
      return { removed: u.name, ...r, inFlight };
    } finally {
      this.removing.delete(u);
    }
  }

  getSplit(): SplitView {
    return { groups: this.d.pool.split ?? null, generation: this.d.pool.splitGeneration };
  }

  setSplit(entries: readonly SplitEntry[] | undefined): SplitView {
    const { pool } = this.d;
    if (entries) {
      // A share for a group nobody serves would silently go to every other upstream instead.
      const known = new Set(pool.all().map((u) => u.group));
      const empty = entries.filter((e) => e.weight > 0 && !known.has(e.group)).map((e) => e.group);
      if (empty.length > 0) {
        throw new AdminError(409, 'LB_ADMIN_EMPTY_GROUP', `no upstream is in group ${empty.map((g) => `"${g}"`).join(', ')}: register one (or give the group weight 0) first`, { groups: [...known] });
      }
    }
    const generation = pool.setSplit(entries);
    this.d.log.info('traffic split', { split: entries ?? 'none (all groups by weight)', generation });
    return { groups: pool.split ?? null, generation };
  }

  metricsText(): Promise<string> {
    return this.d.metrics.text();
  }

  /** Stops sending new requests to `u` and waits (up to `waitMs`) for its in-flight ones; it stays draining either way. */
  private async drainUpstream(u: Upstream, waitMs: number): Promise<DrainResult> {
    u.setAdmin('draining', this.removing.has(u) ? 'removal requested' : 'drain requested');
    const began = Date.now();
    // Long-lived connections never end by themselves: they get a grace period, then a clean close
    // (skipped by the long-lived proxy if the upstream is enabled again meanwhile).
    const graceMs = Math.min(this.d.longLivedGraceMs ?? 0, waitMs);
    const longLived = this.d.closeLongLived?.(u.name, graceMs) ?? Promise.resolve({ closed: 0, cut: 0 });
    const withLongLived = async (r: DrainResult): Promise<DrainResult> => {
      const c = await longLived;
      if (c.closed + c.cut > 0) this.d.log.info('long-lived connections closed', { upstream: u.name, clean: c.closed, cut: c.cut });
      return { ...r, longLivedClosed: c.closed, longLivedCut: c.cut };
    };
    let inFlight = await this.d.inFlight(u);
    while (inFlight > 0 && Date.now() - began < waitMs) {
      await this.sleep(10);
      // Someone enabled or disabled it meanwhile: that decision stands; this drain is over.
      if (u.admin !== 'draining') return withLongLived({ drained: false, waitedMs: Date.now() - began, cancelled: true });
      inFlight = await this.d.inFlight(u);
    }
    return withLongLived({ drained: inFlight === 0, waitedMs: Date.now() - began });
  }

  private find(name: string): Upstream {
    const u = this.d.pool.get(name);
    if (!u) throw new AdminError(404, 'LB_ADMIN_UNKNOWN_UPSTREAM', `unknown upstream "${name}"`, { known: this.d.pool.all().map((x) => x.name) });
    return u;
  }

  /** The upstream, unless a removal of it is in progress (that removal wins). */
  private changeable(name: string): Upstream {
    const u = this.find(name);
    if (this.removing.has(u)) throw new AdminError(409, 'LB_ADMIN_REMOVAL_PENDING', `upstream "${name}" is being removed; wait for the removal to finish (then add it again)`);
    return u;
  }
}
