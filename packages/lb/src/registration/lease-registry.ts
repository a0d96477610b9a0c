import crypto from 'node:crypto';
import type { Timers } from '../health/health-checker';
import { realTimers } from '../health/health-checker';

export interface LeaseOptions {
  /** A registration not renewed for this long has expired (Eureka's 90 s, scaled to the lab). */
  readonly leaseMs: number;
  /** How often an instance should renew; told to it at registration. Well below leaseMs. */
  readonly heartbeatMs: number;
  /** Registrations at most; one more is refused (429), so a flood cannot grow the pool. */
  readonly maxRegistrations: number;
}

export const DEFAULT_LEASE_OPTIONS: LeaseOptions = { leaseMs: 3000, heartbeatMs: 1000, maxRegistrations: 256 };

export interface Lease {
  /** The lease's secret id: whoever holds it may renew, drain and remove this one entry, nothing else. */
  readonly id: string;
  /** The upstream it keeps alive. */
  readonly name: string;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
}

export class LeaseError extends Error {
  constructor(
    /**
     * LB_LEASE_UNKNOWN: never given, expired or lost (a restarted balancer): registering again is
     * right. LB_LEASE_REMOVED: an operator (or a deploy) removed the upstream through the admin API:
     * the instance should respect that and not come back by itself.
     */
    readonly code: 'LB_LEASE_UNKNOWN' | 'LB_LEASE_REMOVED' | 'LB_LEASE_LIMIT' | 'LB_LEASE_DUPLICATE',
    message: string,
  ) {
    super(message);
    this.name = 'LeaseError';
  }
}

interface Entry {
  readonly name: string;
  expiresAt: number;
  timer: unknown;
}

/**
 * Leases of self-registered instances: each registration gets a random id; renewing it before
 * `leaseMs` keeps the instance in, missing that hands it to `expired` (which drains and removes it,
 * as a failed health check would). Recently expired ids are remembered (bounded) so a late renewal
 * gets "expired" rather than "unknown". Explicit stop(); injected timers.
 */
export class LeaseRegistry {
  private readonly byId = new Map<string, Entry>();
  private readonly byName = new Map<string, string>();
  /** Ids that expired or were released lately → why (and whether it was a removal); bounded to maxRegistrations. */
  private readonly gone = new Map<string, { why: string; removed: boolean }>();

  constructor(
    readonly options: LeaseOptions,
    private readonly onExpired: (name: string) => void,
    private readonly timers: Timers = realTimers,
    private readonly newId: () => string = () => crypto.randomBytes(18).toString('base64url'),
  ) {}

  get size(): number {
    return this.byId.size;
  }

  register(name: string): Lease {
    if (this.byName.has(name)) throw new LeaseError('LB_LEASE_DUPLICATE', `an instance named "${name}" is registered already`);
    if (this.byId.size >= this.options.maxRegistrations) {
      throw new LeaseError('LB_LEASE_LIMIT', `too many registered instances (maximum ${this.options.maxRegistrations})`);
    }
    const id = this.newId();
    const entry: Entry = { name, expiresAt: 0, timer: undefined };
    this.byId.set(id, entry);
    this.byName.set(name, id);
    this.arm(id, entry);
    return { id, name, leaseMs: this.options.leaseMs, heartbeatMs: this.options.heartbeatMs };
  }

  /** Extends the lease; throws LB_LEASE_UNKNOWN (saying whether it expired) when there is none. */
  renew(id: string, extraMs = 0): { name: string; expiresInMs: number } {
    const entry = this.find(id);
    this.timers.clearTimeout(entry.timer);
    this.arm(id, entry, this.options.leaseMs + extraMs);
    return { name: entry.name, expiresInMs: this.options.leaseMs + extraMs };
  }

  /** The upstream an id may act on; throws LB_LEASE_UNKNOWN otherwise. */
  nameOf(id: string): string {
    return this.find(id).name;
  }

  /** Ends a lease without expiring it (the instance deregistered itself, or its upstream is gone). */
  release(id: string, why = 'released'): void {
    const entry = this.byId.get(id);
    if (!entry) return;
    this.timers.clearTimeout(entry.timer);
    this.forget(id, entry, why);
  }

  /**
   * Ends the lease of an upstream removed by other means (an operator, a deploy): its renewals then
   * get LB_LEASE_REMOVED, so the instance knows not to register again by itself.
   */
  releaseName(name: string, why: string): void {
    const id = this.byName.get(name);
    const entry = id === undefined ? undefined : this.byId.get(id);
    if (id === undefined || !entry) return;
    this.timers.clearTimeout(entry.timer);
    this.forget(id, entry, why, true);
  }

  stop(): void {
    for (const e of this.byId.values()) this.timers.clearTimeout(e.timer);
  }

  private find(id: string): Entry {
    const entry = this.byId.get(id);
    if (entry) return entry;
    const gone = this.gone.get(id);
    if (gone?.removed) throw new LeaseError('LB_LEASE_REMOVED', `lease ${gone.why}`);
    throw new LeaseError('LB_LEASE_UNKNOWN', gone ? `lease ${gone.why}` : 'unknown lease');
  }

  private arm(id: string, entry: Entry, ms = this.options.leaseMs): void {
    entry.expiresAt = this.timers.now() + ms;
    entry.timer = this.timers.setTimeout(() => {
      if (this.byId.get(id) !== entry) return;
      this.forget(id, entry, `expired (not renewed within ${ms} ms)`);
      this.onExpired(entry.name);
    }, ms);
  }

  private forget(id: string, entry: Entry, why: string, removed = false): void {
    this.byId.delete(id);
    if (this.byName.get(entry.name) === id) this.byName.delete(entry.name);
    this.gone.set(id, { why, removed });
    // Bounded memory: only the most recent ones are remembered.
    while (this.gone.size > this.options.maxRegistrations) this.gone.delete(this.gone.keys().next().value as string);
  }
}
