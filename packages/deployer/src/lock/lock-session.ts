import type { Clock } from '../clock';
import { DeployError } from '../lb-client/deploy-error';
import type { DeployLockApi, LockHolder, LockView } from '../lb-client/deploy-lock-api';

export interface LockSessionOptions {
  holder: LockHolder;
  leaseMs: number;
  renewMs: number;
  /** Whether a process of this host is alive (a holder on our host can be checked directly). */
  isAlive: (pid: number) => boolean;
  say: (line: string) => void;
  /** Called once if a renewal finds the lock taken (--force elsewhere): the deploy must stop. */
  onLost?: (message: string) => void;
}

export function describeLock(l: LockView): string {
  return `${l.holder.user}@${l.holder.host} (pid ${l.holder.pid}) since ${l.acquiredAt}: ${l.strategy} deploy of ${l.version}`;
}

/**
 * The deploy lock held in the balancer for the length of one command: acquired (waiting out, or
 * taking over, the lease of a deployer that died), renewed on a timer, released at the end.
 */
export class LockSession {
  lock?: LockView;
  /** The lock this session took over, if its holder had died or --force was given. */
  tookOver?: LockView;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly api: DeployLockApi,
    private readonly clock: Clock,
    private readonly o: LockSessionOptions,
  ) {}

  /**
   * Takes the lock. Held by a live deployer: DEPLOY_ERR_LOCKED naming it (unless `force`). Held by
   * a deployer on this host whose process is gone: taken over at once. Held from another host:
   * if its lease is not renewed within a few renewal periods, its holder is taken for dead and the
   * lease is waited out with a countdown.
   */
  async acquire(strategy: string, version: string, force: boolean): Promise<LockView> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const a = await this.api.acquireLock({ holder: this.o.holder, strategy, version, leaseMs: this.o.leaseMs });
      if (a.ok) return this.took(a.lock);
      if (a.code !== 'LB_DEPLOY_LOCKED' || !a.lock) throw new DeployError('DEPLOY_ERR_LB_REJECTED', a.message);
      const held = a.lock;
      if (force) {
        this.o.say(`WARNING: --force: taking the deploy lock from ${describeLock(held)}; that deployer can change nothing from now on`);
        const f = await this.api.acquireLock({ holder: this.o.holder, strategy, version, leaseMs: this.o.leaseMs, force: true });
        if (f.ok) return this.took(f.lock, held);
        continue;
      }
      if (held.holder.host === this.o.holder.host) {
        if (this.o.isAlive(held.holder.pid)) throw locked(held);
        this.o.say(`the deployer holding the lock (${describeLock(held)}) is gone (no process ${held.holder.pid} on this host): taking over`);
        const t = await this.api.acquireLock({ holder: this.o.holder, strategy, version, leaseMs: this.o.leaseMs, takeOver: held.id });
        if (t.ok) return this.took(t.lock, held);
        continue;
      }
      await this.waitOut(held);
    }
    throw new DeployError('DEPLOY_ERR_LOCKED', 'could not take the deploy lock (it changed hands several times meanwhile)');
  }

  /** Another host's lease: alive if it gets renewed while we watch; else count down to its end. */
  private async waitOut(held: LockView): Promise<void> {
    const watchUntil = this.clock.now() + this.o.renewMs * 3;
    let lastSaid = -1;
    for (;;) {
      const cur = (await this.api.deployState()).lock;
      if (!cur || cur.id !== held.id || cur.expired) return;
      if (cur.renewedAt !== held.renewedAt) throw locked(cur);
      if (this.clock.now() >= watchUntil) {
        const s = Math.ceil(cur.remainingMs / 1000);
        if (s !== lastSaid) {
          this.o.say(`the lock of ${describeLock(cur)} is no longer renewed: waiting for its lease to lapse, ${s} s...`);
          lastSaid = s;
        }
      }
      await this.clock.sleep(Math.min(250, Math.max(50, cur.remainingMs)));
    }
  }

  private took(lock: LockView, from?: LockView): LockView {
    this.lock = lock;
    this.tookOver = from;
    this.api.useLock(lock.id);
    this.timer = setInterval(() => void this.renew(), this.o.renewMs);
    this.timer.unref();
    return lock;
  }

  /** Lost to someone else (--force, or our lease lapsed and was taken): change nothing more. */
  lost?: string;

  /** Renews now and says whether we still hold the lock (before anything that changes the lab). */
  async confirm(): Promise<boolean> {
    if (!this.lock || this.lost) return false;
    const a = await this.api.renewLock(this.lock.id);
    if (!a.ok) this.markLost(a.message);
    return a.ok;
  }

  private markLost(message: string): void {
    if (this.lost) return;
    this.lost = message;
    this.stopRenewing();
    this.o.onLost?.(message);
  }

  private async renew(): Promise<void> {
    if (!this.lock) return;
    try {
      const a = await this.api.renewLock(this.lock.id);
      if (!a.ok) this.markLost(a.message);
    } catch {
      // The balancer did not answer this time; the lease covers several missed renewals.
    }
  }

  private stopRenewing(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Idempotent; a lock already taken by someone else is left to them. */
  async release(): Promise<void> {
    this.stopRenewing();
    const l = this.lock;
    this.lock = undefined;
    if (l) await this.api.releaseLock(l.id).catch(() => undefined);
    this.api.useLock(undefined);
  }
}

function locked(l: LockView): DeployError {
  return new DeployError(
    'DEPLOY_ERR_LOCKED',
    `another deploy is running: ${describeLock(l)} (lease renewed ${l.renewedAt}).\n` +
      'Wait for it to end, or take the lock with --force if you are sure (its deployer is then fenced out).',
  );
}
