/**
 * The balancer's deploy lock, as the deployer sees it (see packages/lb/src/admin/lock-routes.ts). The
 * wire types are the balancer's own, imported type-only: nothing of the balancer is loaded at run time.
 */
import type { DeployState, LockRequest, LockView } from '@zdl/lb/dist/wire';

export type { ActivityRecord, BalancerPage, DeployState, JournalRecord, LockHolder, LockRequest, LockView } from '@zdl/lb/dist/wire';

export type LockAnswer = { ok: true; lock: LockView } | { ok: false; code: string; message: string; lock: LockView | null };

export interface DeployLockApi {
  deployState(): Promise<DeployState>;
  acquireLock(r: LockRequest): Promise<LockAnswer>;
  renewLock(id: string): Promise<LockAnswer>;
  releaseLock(id: string): Promise<LockAnswer>;
  writeJournal(id: string, journal: object): Promise<LockAnswer>;
  /** Every later change of routing carries this lock id, so a balancer can refuse a fenced-out deployer. */
  useLock(id: string | undefined): void;
}
