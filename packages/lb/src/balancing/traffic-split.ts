/** One group's share of traffic in a split (the deployer uses the version as the group). */
export interface SplitEntry {
  group: string;
  weight: number;
}

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
  private readonly current: number[];

  constructor(entries: readonly SplitEntry[]) {
    this.entries = entries.map((e) => ({ ...e }));
    this.total = entries.reduce((a, e) => a + e.weight, 0);
    this.current = entries.map(() => 0);
  }

  /** Validates a split given through the admin API; returns problems, empty when fine. */
  static problems(raw: unknown): string[] {
    if (!Array.isArray(raw) || raw.length === 0) return ['groups: expected a non-empty list like [{"group":"canary","weight":10},{"group":"baseline","weight":90}]'];
    const problems: string[] = [];
    const seen = new Set<string>();
    raw.forEach((e: unknown, i) => {
      const entry = e as Partial<SplitEntry> | null;
      if (typeof entry !== 'object' || entry === null) return problems.push(`groups[${i}]: expected {"group", "weight"}`);
      if (typeof entry.group !== 'string' || entry.group === '') problems.push(`groups[${i}].group: expected a non-empty string`);
      else if (seen.has(entry.group)) problems.push(`groups[${i}].group: "${entry.group}" appears twice`);
      else seen.add(entry.group);
      if (typeof entry.weight !== 'number' || !Number.isInteger(entry.weight) || entry.weight < 0 || entry.weight > 1_000_000) {
        problems.push(`groups[${i}].weight: expected an integer from 0 to 1000000`);
      }
      const extra = Object.keys(entry).filter((k) => k !== 'group' && k !== 'weight');
      if (extra.length) problems.push(`groups[${i}]: unknown field ${extra.join(', ')}`);
      return undefined;
    });
    if (problems.length === 0 && (raw as SplitEntry[]).every((e) => e.weight === 0)) problems.push('groups: at least one weight must be above 0');
    return problems;
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

  /** The next group for a request without a user key (smooth weighted round-robin over groups). */
  nextGroup(available: (group: string) => boolean): string | undefined {
    let best = -1;
    let total = 0;
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i];
      if (e.weight <= 0 || !available(e.group)) continue;
      this.current[i] += e.weight;
      total += e.weight;
      if (best < 0 || this.current[i] > this.current[best]) best = i;
    }
    if (best < 0) return undefined;
    this.current[best] -= total;
    return this.entries[best].group;
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
