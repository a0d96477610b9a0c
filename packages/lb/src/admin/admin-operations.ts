import type { SplitEntry } from '../balancing/traffic-split';
import type { DnsEntryStatus } from '../discovery/dns-discovery';
import type { Upstream } from '../pool/upstream';

export type UpstreamSnapshot = ReturnType<Upstream['snapshot']>;

export interface DrainResult {
  drained: boolean;
  waitedMs: number;
  /** The drain ended because someone enabled or disabled the upstream meanwhile. */
  cancelled?: boolean;
  /** WebSockets and event streams closed cleanly after the grace period (1012 / a final event). */
  longLivedClosed?: number;
  /** Other upgraded connections that had to be cut. */
  longLivedCut?: number;
}

export interface SplitView {
  groups: readonly SplitEntry[] | null;
  /** Incremented on every PUT/DELETE /split; proxied responses carry it in x-lb-split. */
  generation: number;
}

/** A refused operation: the HTTP status and stable code the admin API answers with. */
export class AdminError extends Error {
  constructor(
    readonly status: 404 | 409 | 400,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AdminError';
  }
}

/**
 * The operations the admin API needs, and nothing more. Each one owns its state transitions and
 * checks them against what is in progress (a pending removal wins: enable, disable, drain and
 * patch of an upstream being removed are refused with 409), so no handler can mix two of them.
 * Operations on an unknown upstream throw AdminError 404.
 */
export interface AdminOperations {
  /** Brings counters up to date (cluster mode: summed from the workers). */
  refreshStats(): Promise<void>;
  list(): { inRotation: string[]; split: readonly SplitEntry[] | null; splitGeneration: number; upstreams: UpstreamSnapshot[]; discovery: readonly DnsEntryStatus[] };
  get(name: string): UpstreamSnapshot;
  add(spec: { url: string; name: string; group?: string; weight?: number; version?: string }, enabled: boolean): UpstreamSnapshot;
  update(name: string, change: { group?: string; weight?: number; version?: string }): UpstreamSnapshot;
  enable(name: string): UpstreamSnapshot;
  disable(name: string): UpstreamSnapshot;
  drain(name: string, waitMs: number): Promise<UpstreamSnapshot & DrainResult>;
  remove(name: string, waitMs: number): Promise<{ removed: string; inFlight: number } & DrainResult>;
  getSplit(): SplitView;
  /** Sets (entries) or clears (undefined) the split in one step. */
  setSplit(entries: readonly SplitEntry[] | undefined): SplitView;
  metricsText(): Promise<string>;
}
