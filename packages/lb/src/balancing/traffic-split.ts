import type { SplitEntry } from '../config/rules';
import { SmoothWeightedRoundRobin } from './smooth-weighted-round-robin';

export type { SplitEntry };

export const BUCKETS = 10_000;

/**
 * How traffic is divided between groups of upstreams (blue/green, baseline/canary).
 *
 * Requests without a user key are spread by smooth weighted round-robin over the groups, so the
 * measured share matches the weights closely. A request with a user key is hashed to one of
 * 10,000 buckets, and the buckets are laid out on a line in the order of the entries: with
 * [canary 10, baseline 90] buckets 0–999 go to canary. Growing the first entry's share only moves
 * users toward it, so a user never flips back and forth while a canary grows.
 */
export class TrafficSplit {
  readonly entries: readonly SplitEntry[];
  private readonly total: number;
  private readonly policy = new SmoothWeightedRoundRobin<SplitEntry>((e) => e.weight);

  /** Entries come validated by the schema (splitEntries in config/rules). */
  constructor(entries: readonly SplitEntry[]) {
    this.entries = entries.map((e) => ({ ...e }));
    this.total = entries.reduce((a, e) => a + e.weight, 0);
  }

  weightOf(group: string): number {
    return this.entries.find((e) => e.group === group)?.weight ?? 0;
  }

  /** The group for a sticky user key. */
  groupForKey(key: string): string {
    const point = (bucketOf(key) / BUCKETS) * this.total;
    let acc = 0;
    for (const e of this.entries) {
      acc += e.weight;
      if (point < acc) return e.group;
    }
    return this.entries[this.entries.length - 1].group;
  }

  /** The next group for a request without a user key (smooth weighted round-robin over the groups available). */
  nextGroup(available: (group: string) => boolean): string | undefined {
    return this.policy.next(this.entries, { has: (e) => !available(e.group) })?.group;
  }
}

/** FNV-1a: a fast, stable hash; good enough to spread user keys over buckets. */
export function bucketOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % BUCKETS;
}
