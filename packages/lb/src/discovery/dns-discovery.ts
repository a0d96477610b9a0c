import dns from 'node:dns';
import type { Timers } from '../health/health-checker';
import { realTimers } from '../health/health-checker';

/** Looks up every address of a name (A and AAAA); injected so tests script exact answers. */
export type Resolve = (host: string) => Promise<string[]>;

/** Node's resolver, as getaddrinfo sees it (Docker's embedded DNS answers it, /etc/hosts too). */
export const systemResolve: Resolve = async (host) => {
  const found = await dns.promises.lookup(host, { all: true, verbatim: true });
  return [...new Set(found.map((a) => a.address))].sort();
};

/** One `{dns, port}` upstream entry of the config. */
export interface DnsEntry {
  /** The name to resolve: a compose service (`web`), a Swarm `tasks.<service>`, any DNS name. */
  readonly dns: string;
  readonly port: number;
}

/** What one entry's last lookup said; shown by the admin API and the health endpoint. */
export interface DnsEntryStatus {
  readonly dns: string;
  readonly port: number;
  /** Addresses currently members (found, or missing from fewer than `missingLookups` lookups). */
  readonly addresses: readonly string[];
  /** The resolver's last error; cleared by the next successful lookup. */
  readonly error?: string;
  readonly lastLookupAt?: number;
}

/** Who acts on what discovery finds (the pool): a one-way, narrow consumer. */
export interface DiscoverySink {
  /** A new address: add it out of rotation; it joins after its first passing health check. */
  found(entry: DnsEntry, address: string): void;
  /** An address gone for good: drain it (in-flight requests finish), then remove it. */
  lost(entry: DnsEntry, address: string): void;
}

export interface DnsDiscoveryOptions {
  /** How often each name is looked up again. */
  readonly intervalMs: number;
  /**
   * Consecutive successful lookups an address must be missing from before it is drained. A
   * resolver that flaps (one answer without it, the next with it) thus never drains a healthy
   * upstream; a failed lookup (timeout, SERVFAIL) counts for nothing either way.
   */
  readonly missingLookups: number;
}

/** A definitive "no such name" (every replica gone), as opposed to a resolver that failed. */
const EMPTY_ANSWER = new Set(['ENOTFOUND', 'ENODATA']);

interface EntryState {
  /** Member address → consecutive successful lookups it has been missing from. */
  readonly members: Map<string, number>;
  error?: string;
  lastLookupAt?: number;
  timer?: unknown;
  busy: boolean;
}

/**
 * Keeps the pool's members of each `{dns, port}` entry equal to what DNS says, without ever cutting
 * a request: additions are reported at once (the pool adds them out of rotation), removals only
 * after `missingLookups` consecutive successful lookups without the address (the pool drains first).
 * At most one lookup per entry is in flight; explicit start() and idempotent stop().
 */
export class DnsDiscovery {
  private readonly states = new Map<DnsEntry, EntryState>();
  private running = false;

  constructor(
    private readonly entries: readonly DnsEntry[],
    private readonly sink: DiscoverySink,
    private readonly options: DnsDiscoveryOptions,
    private readonly resolve: Resolve = systemResolve,
    private readonly timers: Timers = realTimers,
  ) {
    for (const e of entries) this.states.set(e, { members: new Map(), busy: false });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (const e of this.entries) void this.tick(e);
  }

  stop(): void {
    this.running = false;
    for (const s of this.states.values()) {
      if (s.timer !== undefined) this.timers.clearTimeout(s.timer);
      s.timer = undefined;
    }
  }

  status(): DnsEntryStatus[] {
    return this.entries.map((e) => {
      const s = this.states.get(e)!;
      return {
        dns: e.dns,
        port: e.port,
        addresses: [...s.members.keys()].sort(),
        ...(s.error !== undefined ? { error: s.error } : {}),
        ...(s.lastLookupAt !== undefined ? { lastLookupAt: s.lastLookupAt } : {}),
      };
    });
  }

  /** Looks an entry up now (and reschedules); exposed for tests and for a forced refresh. */
  async lookup(entry: DnsEntry): Promise<void> {
    const s = this.states.get(entry);
    if (!s || s.busy) return;
    s.busy = true;
    let answer: string[] | undefined;
    try {
      answer = await this.resolve(entry.dns);
      s.error = undefined;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code && EMPTY_ANSWER.has(e.code)) {
        answer = [];
        s.error = `${e.code}: no address for ${entry.dns}`;
      } else {
        s.error = `${e.code ?? 'ERROR'}: ${e.message}`;
      }
    } finally {
      s.busy = false;
      s.lastLookupAt = this.timers.now();
    }
    if (!this.running || answer === undefined) return;
    this.apply(entry, s, new Set(answer));
  }

  private apply(entry: DnsEntry, s: EntryState, answer: Set<string>): void {
    for (const address of answer) {
      if (!s.members.has(address)) {
        s.members.set(address, 0);
        this.sink.found(entry, address);
      } else s.members.set(address, 0);
    }
    for (const [address, missed] of s.members) {
      if (answer.has(address)) continue;
      if (missed + 1 >= this.options.missingLookups) {
        s.members.delete(address);
        this.sink.lost(entry, address);
      } else s.members.set(address, missed + 1);
    }
  }

  private async tick(entry: DnsEntry): Promise<void> {
    if (!this.running) return;
    await this.lookup(entry);
    if (!this.running) return;
    const s = this.states.get(entry)!;
    s.timer = this.timers.setTimeout(() => void this.tick(entry), this.options.intervalMs);
  }
}
