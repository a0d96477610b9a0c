/** The balancer's configuration after validation: typed, complete, frozen. */
export interface LbConfig {
  readonly listen: { readonly host: string; readonly port: number };
  /**
   * Processes serving the traffic port. 1: one process does everything. More: node:cluster workers
   * proxy while the primary keeps health checks, the admin API and the routing state ("auto" in the
   * file = one per CPU).
   */
  readonly workers: number;
  readonly upstreams: readonly UpstreamConfig[];
  readonly healthCheck: {
    readonly path: string;
    readonly intervalMs: number;
    /**
     * Interval for an upstream that has never been healthy yet (a new instance starting up, like
     * HAProxy's fastinter): it joins rotation this soon after it is ready, not up to a second later.
     */
    readonly startIntervalMs: number;
    readonly timeoutMs: number;
    /** Consecutive failures that take an upstream out of rotation. */
    readonly fall: number;
    /** Consecutive successes that put it back. */
    readonly rise: number;
  };
  /** The admin API that changes routing: its own port, loopback by default, bearer token always. */
  readonly admin: {
    readonly enabled: boolean;
    readonly host: string;
    readonly port: number;
    /** From env LB_ADMIN_TOKEN, never from the file; undefined means every admin request is refused. */
    readonly token?: string;
    /**
     * Without LB_ADMIN_TOKEN: the token is read from this file, or generated into it at the first start
     * (mode 0600; see admin/admin-token.ts). Env LB_ADMIN_TOKEN_FILE.
     */
    readonly tokenFile?: string;
  };
  /** Which request headers/cookies steer a request when a traffic split is active. */
  readonly routing: {
    /** A user key here keeps the same user on the same group (sticky canary, A/B tests). */
    readonly userKeyHeader: string;
    readonly userKeyCookie: string;
    /** A group name here forces that group (e.g. "x-route-group: canary"). */
    readonly forceGroupHeader: string;
    readonly forceGroupCookie: string;
  };
  readonly proxy: {
    /** A new TCP connection to an upstream must open within this time, or the request goes elsewhere. */
    readonly connectTimeoutMs: number;
    /** No byte from the upstream for this long → 504. */
    readonly upstreamTimeoutMs: number;
    /** Idle keep-alive sockets to an upstream are closed after this; keep it below the service's keepAliveTimeout. */
    readonly idleSocketMs: number;
    /** Request bodies up to this size are buffered so a failed connection can be retried elsewhere. */
    readonly retryBodyLimitBytes: number;
    /**
     * A drained upstream's WebSockets and event streams get this long to end by themselves, then the
     * balancer closes them cleanly (close frame 1012, a final event). They never end on their own,
     * so waiting longer only makes the deploy slower.
     */
    readonly longLivedGraceMs: number;
    /** Upgraded connections (WebSockets...) one balancer process holds at most; beyond, upgrades get 503. */
    readonly maxUpgraded: number;
  };
}

export interface UpstreamConfig {
  readonly url: string;
  readonly name: string;
  /** Traffic-split group (blue/green, baseline/canary); the deployer uses the version. */
  readonly group?: string;
  /** Relative share within its group (smooth weighted round-robin); 0 = no traffic. */
  readonly weight?: number;
  /** The version the instance runs, set by the deployer (admin API only); shown on the dashboard. */
  readonly version?: string;
}

/** Every default in one place. */
export const DEFAULT_CONFIG: LbConfig = {
  listen: { host: '0.0.0.0', port: 8080 },
  workers: 1,
  upstreams: [
    { url: 'http://127.0.0.1:8081', name: '127.0.0.1:8081' },
    { url: 'http://127.0.0.1:8082', name: '127.0.0.1:8082' },
  ],
  healthCheck: { path: '/ping', intervalMs: 1000, startIntervalMs: 200, timeoutMs: 500, fall: 3, rise: 1 },
  admin: { enabled: true, host: '127.0.0.1', port: 8090 },
  routing: { userKeyHeader: 'x-user-id', userKeyCookie: 'user_id', forceGroupHeader: 'x-route-group', forceGroupCookie: 'route_group' },
  proxy: { connectTimeoutMs: 1000, upstreamTimeoutMs: 30_000, idleSocketMs: 4000, retryBodyLimitBytes: 1024 * 1024, longLivedGraceMs: 2000, maxUpgraded: 4096 },
};
