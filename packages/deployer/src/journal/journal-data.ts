import type { LockHolder } from '../lb-client/deploy-lock-api';

/** One step of a deploy, as intended (started) and as it went (ok / failed). */
export interface JournalEntry {
  at: string;
  slot: string;
  step: string;
  state: 'started' | 'ok' | 'failed';
  detail?: string;
}

export type Outcome = 'done' | 'failed' | 'interrupted' | 'needs-operator' | 'lock-lost';

/**
 * A deploy's journal, kept in the balancer beside the lock (so a deployer on another machine reads
 * it). Written before each step starts (what it intends) and when it ends (what it did); a journal
 * with no `outcome` whose lock is gone is an unfinished deploy the next command repairs.
 */
export interface JournalData {
  v: 1;
  command: 'deploy' | 'recover';
  strategy: string;
  version: string;
  runtime: string;
  holder: LockHolder;
  startedAt: string;
  phase: 'starting' | 'repairing' | 'deploying' | 'ended';
  /** Each slot's version before anything changed: what a repair starts in a slot left empty. */
  slots: { slot: string; version: string }[];
  /** Upstreams this deploy (or one it took over) added to the balancer. */
  registered: string[];
  /** The unfinished deploys this one found and repaired. */
  recovered: { id: string; strategy: string; version: string; lastStep?: string }[];
  entries: JournalEntry[];
  /** The steps of the unfinished deploys this one took over (a repair that dies hands them on). */
  inherited?: JournalEntry[];
  outcome?: Outcome;
  exitCode?: number;
  endedAt?: string;
  error?: string;
  /** What the repair did, if one ran. */
  repairs?: string[];
  /** Every slot after the command, as the runtime and the balancer report it. */
  final?: { slot: string; version?: string; state?: string }[];
}

/** The last step the journal shows for a slot (its intent, if the deployer died during it). */
export function lastStepOf(j: JournalData | undefined, slot: string): JournalEntry | undefined {
  if (!j) return undefined;
  const all = [...(j.inherited ?? []), ...j.entries];
  for (let i = all.length - 1; i >= 0; i--) if (all[i].slot === slot) return all[i];
  return undefined;
}

export function describeJournal(id: string, j: JournalData): string {
  const last = j.entries[j.entries.length - 1];
  return (
    `${j.command === 'recover' ? 'recovery' : `${j.strategy} deploy of ${j.version}`} (${id}) by ${j.holder.user}@${j.holder.host} pid ${j.holder.pid}, started ${j.startedAt}` +
    (last ? `; last step: ${last.slot} ${last.step} ${last.state} at ${last.at}` : '; no step started')
  );
}

/** A journal as read from the balancer: only what has our shape counts. */
export function asJournal(data: unknown): JournalData | undefined {
  const j = data as Partial<JournalData> | null;
  return j && j.v === 1 && Array.isArray(j.entries) && Array.isArray(j.slots) ? (j as JournalData) : undefined;
}
