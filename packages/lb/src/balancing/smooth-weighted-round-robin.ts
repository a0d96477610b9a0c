/**
 * Smooth weighted round-robin (the algorithm nginx uses). On every pick, each candidate's
 * `current` grows by its weight; the candidate with the largest `current` wins and pays back the
 * sum of all weights. Over any window, each candidate is picked in proportion to its weight, and
 * picks are spread out rather than bunched (weights 5:1:1 give a a b a c a a, not a a a a a b c).
 * With equal weights it is plain round-robin. Weight 0 means never picked.
 *
 * The list may change between calls (state is kept per item); `skip` lets a retry avoid items
 * already tried.
 */
export class SmoothWeightedRoundRobin<T> {
  private readonly current = new Map<T, number>();

  constructor(private readonly weightOf: (item: T) => number) {}

  next(items: readonly T[], skip?: { has(item: T): boolean }): T | undefined {
    let best: T | undefined;
    let bestCurrent = -Infinity;
    let total = 0;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      const w = this.weightOf(item);
      if (w <= 0 || skip?.has(item)) continue;
      const c = (this.current.get(item) ?? 0) + w;
      this.current.set(item, c);
      total += w;
      if (c > bestCurrent) {
        bestCurrent = c;
        best = item;
      }
    }
    if (best !== undefined) this.current.set(best, bestCurrent - total);
    return best;
  }

  /** Forgets items no longer present, so the map does not grow with every upstream ever seen. */
  retain(items: readonly T[]): void {
    const keep = new Set(items);
    for (const k of this.current.keys()) if (!keep.has(k)) this.current.delete(k);
  }
}
