/**
 * Round-robin over a list that may change between calls: the cursor simply moves on, so after a
 * change the next pick is still fair within one lap. `skip` lets a retry avoid upstreams already tried.
 */
export class RoundRobin<T> {
  private cursor = 0;

  next(items: readonly T[], skip?: ReadonlySet<T>): T | undefined {
    const n = items.length;
    for (let i = 0; i < n; i++) {
      const item = items[this.cursor++ % n];
      if (this.cursor >= Number.MAX_SAFE_INTEGER) this.cursor = 0;
      if (!skip?.has(item)) return item;
    }
    return undefined;
  }
}
