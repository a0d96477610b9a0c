/**
 * The balancer's admin API as a client sees it on the wire: the types the deployer imports (type-only,
 * so nothing of the balancer is loaded) instead of keeping copies that could drift apart.
 */
import type { ActivityRecord, JournalRecord, LockView } from './admin/deploy-lock';
import type { BalancerPage } from './admin/lock-routes';

export type { ActivityRecord, JournalRecord, LockHolder, LockRequest, LockView } from './admin/deploy-lock';
export type { BalancerPage } from './admin/lock-routes';
export type { TimelineEvent } from './dashboard/deploy-timeline';

/** What `GET /deploy` answers: the lock, the latest journals, changes outside a deploy, pages. */
export interface DeployState {
  lock: LockView | null;
  journal: JournalRecord | null;
  previousJournal: JournalRecord | null;
  activity: ActivityRecord[];
  pages: BalancerPage[];
}
