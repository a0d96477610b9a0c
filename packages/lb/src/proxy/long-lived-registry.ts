/** How a long-lived connection ended when the balancer closed it. */
export type CloseOutcome = 'clean' | 'cut';

/** One proxied connection that does not end by itself: a WebSocket, an event stream, a raw upgrade. */
export interface LongLived {
  readonly kind: 'websocket' | 'sse' | 'upgrade';
  /** The upstream's name. */
  readonly upstream: string;
  /**
   * Closes it as cleanly as its protocol allows (a WebSocket close frame, a final SSE event; a raw
   * upgraded stream can only be cut). Resolves once it is closed.
   */
  close(reason: 'draining' | 'stopping'): Promise<CloseOutcome>;
}

export interface CloseReport {
  closed: number;
  cut: number;
}

/**
 * The long-lived connections of one balancer process, by upstream: what a drain closes after its
 * grace period, what a stop closes at once, and the count the `maxUpgraded` bound is checked against.
 */
export class LongLivedRegistry {
  private readonly byUpstream = new Map<string, Set<LongLived>>();
  /** Upgraded connections (WebSocket and raw), those still connecting to the upstream included. */
  upgraded = 0;

  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  /** The clock is injected so tests can let a grace period pass without waiting for it. */
  constructor(clock: { sleep?: (ms: number) => Promise<void>; now?: () => number } = {}) {
    this.sleep = clock.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.now = clock.now ?? Date.now;
  }

  /** Registers a connection; call the returned function once it has ended. */
  add(entry: LongLived): () => void {
    let set = this.byUpstream.get(entry.upstream);
    if (!set) this.byUpstream.set(entry.upstream, (set = new Set()));
    set.add(entry);
    return () => {
      set.delete(entry);
      if (set.size === 0 && this.byUpstream.get(entry.upstream) === set) this.byUpstream.delete(entry.upstream);
    };
  }

  count(upstream?: string): number {
    if (upstream !== undefined) return this.byUpstream.get(upstream)?.size ?? 0;
    let n = 0;
    for (const set of this.byUpstream.values()) n += set.size;
    return n;
  }

  /**
   * A drain: gives `upstream`'s connections `graceMs` to end by themselves, then closes those left,
   * unless `stillDraining()` says the drain was called off meanwhile (the upstream was enabled again).
   */
  async closeUpstream(upstream: string, graceMs: number, stillDraining: () => boolean): Promise<CloseReport> {
    const began = this.now();
    while (this.count(upstream) > 0 && this.now() - began < graceMs) await this.sleep(Math.min(50, graceMs));
    if (!stillDraining()) return { closed: 0, cut: 0 };
    return closeEach([...(this.byUpstream.get(upstream) ?? [])], 'draining');
  }

  /** The balancer is stopping: closes every connection at once. */
  closeAll(): Promise<CloseReport> {
    return closeEach([...this.byUpstream.values()].flatMap((s) => [...s]), 'stopping');
  }
}

async function closeEach(entries: LongLived[], reason: 'draining' | 'stopping'): Promise<CloseReport> {
  const outcomes = await Promise.all(entries.map((e) => e.close(reason).catch((): CloseOutcome => 'cut')));
  const cut = outcomes.filter((o) => o === 'cut').length;
  return { closed: outcomes.length - cut, cut };
}
