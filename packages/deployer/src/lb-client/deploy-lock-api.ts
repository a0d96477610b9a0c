/** The balancer's deploy lock, as the deployer sees it (see packages/lb/src/admin/lock-routes.ts). */
export interface LockHolder {
  host: string;
  pid: number;
  user: string;
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
  expired: boolean;
  remainingMs: number;
  tookOverFrom?: { id: string; holder: LockHolder; how: 'takeover' | 'force' | 'expired' };
}

export interface JournalRecord<T = unknown> {
  id: string;
  updatedAt: string;
  data: T;
}

export interface ActivityRecord {
  at: string;
  method: string;
  path: string;
  status: number;
  duringDeploy?: string;
}

export interface BalancerPage {
  name: string;
  url: string;
  loginUrl?: string;
}

/** Everything GET /deploy tells: the lock, the latest journals, changes outside a deploy, pages. */
export interface DeployState {
  lock: LockView | null;
  journal: JournalRecord | null;
  previousJournal: JournalRecord | null;
  activity: ActivityRecord[];
  pages: BalancerPage[];
}

export interface LockRequest {
  holder: LockHolder;
  strategy: string;
  version: string;
  leaseMs: number;
  takeOver?: string;
  force?: boolean;
}

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
