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
}

export interface DrainResult {
  drained: boolean;
  waitedMs: number;
  inFlight: number;
}

/** The deployer's view of the balancer; the HTTP implementation talks to the admin API. */
export interface LbAdmin {
  list(): Promise<UpstreamStatus[]>;
  get(name: string): Promise<UpstreamStatus | undefined>;
  add(upstream: { url: string; name: string; enabled: boolean }): Promise<UpstreamStatus>;
  drain(name: string, waitMs: number): Promise<DrainResult>;
  enable(name: string): Promise<UpstreamStatus>;
  remove(name: string, waitMs: number): Promise<DrainResult>;
}
