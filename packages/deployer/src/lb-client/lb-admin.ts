/** What the deployer sees of one upstream (the balancer's admin API answer). */
export interface UpstreamStatus {
  name: string;
  url: string;
  state: 'healthy' | 'unhealthy' | 'draining' | 'disabled';
  health: 'healthy' | 'unhealthy';
  inFlight: number;
  requests: number;
  failures: number;
  lastCheck?: string;
  group: string;
  weight: number;
  /** The version the deployer registered (null or absent: not told). */
  version?: string | null;
}

export interface SplitEntry {
  group: string;
  weight: number;
}

export interface DrainResult {
  drained: boolean;
  waitedMs: number;
  inFlight: number;
  /** WebSockets and event streams the balancer closed cleanly after its grace period (1012 / final event). */
  longLivedClosed?: number;
  /** Other upgraded connections it had to cut. */
  longLivedCut?: number;
}

/** How a drain ended, in a few words (the progress line, the receipt). */
export function describeDrain(r: DrainResult): string {
  const base = r.drained ? `drained after ${r.waitedMs} ms` : `drain timed out with ${r.inFlight} in flight`;
  const closed = r.longLivedClosed ? `, ${r.longLivedClosed} WebSocket/event streams closed cleanly` : '';
  const cut = r.longLivedCut ? `, ${r.longLivedCut} other upgraded connections cut` : '';
  return base + closed + cut;
}

/** The deployer's view of the balancer; the HTTP implementation talks to the admin API. */
export interface LbAdmin {
  list(): Promise<UpstreamStatus[]>;
  get(name: string): Promise<UpstreamStatus | undefined>;
  add(upstream: { url: string; name: string; enabled: boolean; group?: string; version?: string }): Promise<UpstreamStatus>;
  /** Changes an upstream's group (and/or weight, version). */
  patch(name: string, change: { group?: string; weight?: number; version?: string }): Promise<UpstreamStatus>;
  /** Sets the traffic split in one atomic call; null clears it. */
  setSplit(groups: SplitEntry[] | null): Promise<void>;
  getSplit(): Promise<SplitEntry[] | null>;
  /** The balancer's Prometheus metrics, as text. */
  metrics(): Promise<string>;
  drain(name: string, waitMs: number): Promise<DrainResult>;
  enable(name: string): Promise<UpstreamStatus>;
  remove(name: string, waitMs: number): Promise<DrainResult>;
}
