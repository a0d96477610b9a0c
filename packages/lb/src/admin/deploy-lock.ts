import crypto from 'node:crypto';

/** Who runs a deploy: enough for an operator to find the process. */
export interface LockHolder {
  host: string;
  pid: number;
  user: string;
}

export interface LockRequest {
  holder: LockHolder;
  strategy: string;
  version: string;
  /** How long the lock lives without a renewal. */
  leaseMs: number;
  /** Take over this lock even though its lease runs (the caller knows its holder is gone). */
  takeOver?: string;
  /** Take over whatever lock is held (an operator's decision; the old holder is fenced out). */
  force?: boolean;
}

export interface LockView {
  id: string;
  holder: LockHolder;
  strategy: string;
  version: string;
  acquiredAt: string;
  renewedAt: string;
  leaseMs: number;
  expiresAt: string;
  /** Lease lapsed: anyone may take the lock; until then it is still shown (and its journal kept). */
  expired: boolean;
  remainingMs: number;
  tookOverFrom?: { id: string; holder: LockHolder; how: 'takeover' | 'force' | 'expired' };
}

/** A deploy's journal as the deployer writes it (opaque here, bounded by the body limit). */
export interface JournalRecord {
  id: string;
  updatedAt: string;
  data: unknown;
}

/** A routing change made through the admin API without the deploy lock's id. */
export interface ActivityRecord {
  at: string;
  method: string;
  path: string;
  status: number;
  /** The lock held at the time, if any (an operator acted during someone's deploy). */
  duringDeploy?: string;
}

export type LockResult = { ok: true; lock: LockView } | { ok: false; code: 'LB_DEPLOY_LOCKED' | 'LB_DEPLOY_LOCK_LOST'; message: string; lock?: LockView };

const MAX_ACTIVITY = 50;

interface Held {
  id: string;
  holder: LockHolder;
  strategy: string;
  version: string;
  acquiredAt: number;
  renewedAt: number;
  leaseMs: number;
  tookOverFrom?: LockView['tookOverFrom'];
}

/**
 * One deploy at a time, decided in the balancer (the one place every deployer talks to): the lock,
 * the journal of the latest deploys, and the routing changes made outside a deploy. Kept in memory
 * in the process that serves the admin API (the primary in cluster mode). A lease that is not
 * renewed lapses, so a deployer that dies never leaves the lab locked for long; until someone else
 * takes it, the lapsed lock stays visible with its journal, so the next deployer can repair.
 */
export class DeployLock {
  private held?: Held;
  private journal?: JournalRecord;
  private previousJournal?: JournalRecord;
  private readonly activity: ActivityRecord[] = [];

  constructor(
    private readonly now: () => number = Date.now,
    private readonly newId: () => string = () => crypto.randomBytes(9).toString('base64url'),
  ) {}

  private view(h: Held): LockView {
    const expiresAt = h.renewedAt + h.leaseMs;
    const remainingMs = Math.max(0, expiresAt - this.now());
    return {
      id: h.id,
      holder: { ...h.holder },
      strategy: h.strategy,
      version: h.version,
      acquiredAt: new Date(h.acquiredAt).toISOString(),
      renewedAt: new Date(h.renewedAt).toISOString(),
      leaseMs: h.leaseMs,
      expiresAt: new Date(expiresAt).toISOString(),
      expired: remainingMs === 0,
      remainingMs,
      ...(h.tookOverFrom ? { tookOverFrom: h.tookOverFrom } : {}),
    };
  }

  get lock(): LockView | undefined {
    return this.held && this.view(this.held);
  }

  /** The id of the lock whose lease still runs, if any. */
  get activeId(): string | undefined {
    return this.held && !this.view(this.held).expired ? this.held.id : undefined;
  }

  acquire(r: LockRequest): LockResult {
    const cur = this.held && this.view(this.held);
    let how: 'takeover' | 'force' | 'expired' | undefined;
    if (cur) {
      if (cur.expired) how = 'expired';
      else if (r.force) how = 'force';
      else if (r.takeOver && r.takeOver === cur.id) how = 'takeover';
      else return { ok: false, code: 'LB_DEPLOY_LOCKED', message: describeHeld(cur), lock: cur };
    }
    const t = this.now();
    this.held = {
      id: this.newId(),
      holder: { ...r.holder },
      strategy: r.strategy,
      version: r.version,
      acquiredAt: t,
      renewedAt: t,
      leaseMs: r.leaseMs,
      ...(cur && how ? { tookOverFrom: { id: cur.id, holder: cur.holder, how } } : {}),
    };
    return { ok: true, lock: this.view(this.held) };
  }

  /**
   * Extends the lease. A lapsed lease that nobody has taken is renewed too: the holder was only
   * slow, and nobody else acted on it.
   */
  renew(id: string): LockResult {
    if (!this.held || this.held.id !== id) return this.lost(id);
    this.held.renewedAt = this.now();
    return { ok: true, lock: this.view(this.held) };
  }

  release(id: string): LockResult {
    if (!this.held || this.held.id !== id) return this.lost(id);
    const v = this.view(this.held);
    this.held = undefined;
    return { ok: true, lock: v };
  }

  /** Only the lock's holder writes the journal; a new deploy id moves the last one to `previous`. */
  writeJournal(id: string, data: unknown): LockResult {
    if (!this.held || this.held.id !== id) return this.lost(id);
    if (this.journal && this.journal.id !== id) this.previousJournal = this.journal;
    this.journal = { id, updatedAt: new Date(this.now()).toISOString(), data };
    return { ok: true, lock: this.view(this.held) };
  }

  /** Fencing: a call made under `id` may change routing only while `id` holds the lock. */
  check(id: string): LockResult {
    return this.held && this.held.id === id ? { ok: true, lock: this.view(this.held) } : this.lost(id);
  }

  recordActivity(a: Omit<ActivityRecord, 'at' | 'duringDeploy'>): void {
    const during = this.activeId;
    this.activity.push({ at: new Date(this.now()).toISOString(), ...a, ...(during ? { duringDeploy: during } : {}) });
    if (this.activity.length > MAX_ACTIVITY) this.activity.splice(0, this.activity.length - MAX_ACTIVITY);
  }

  snapshot(): { lock: LockView | null; journal: JournalRecord | null; previousJournal: JournalRecord | null; activity: ActivityRecord[] } {
    return { lock: this.lock ?? null, journal: this.journal ?? null, previousJournal: this.previousJournal ?? null, activity: [...this.activity] };
  }

  private lost(id: string): LockResult {
    const cur = this.lock;
    return {
      ok: false,
      code: 'LB_DEPLOY_LOCK_LOST',
      message: cur ? `lock ${id} is not held: ${describeHeld(cur)}` : `lock ${id} is not held (no deploy holds the lock)`,
      ...(cur ? { lock: cur } : {}),
    };
  }
}

export function describeHeld(l: LockView): string {
  return (
    `deploy lock held by ${l.holder.user}@${l.holder.host} (pid ${l.holder.pid}) since ${l.acquiredAt}: ${l.strategy} deploy of ${l.version}; ` +
    (l.expired ? 'its lease has lapsed' : `lease expires in ${(l.remainingMs / 1000).toFixed(1)} s unless renewed`)
  );
}
