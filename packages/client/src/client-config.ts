import os from 'node:os';

/** Everything the demo service can be told, validated once with every default here. */
export interface ClientConfig {
  readonly port: number;
  readonly host: string;
  readonly version: string;
  readonly instance: string;
  /** Delay added to every /api answer (a slow version). */
  readonly latencyMs: number;
  /** Share of /api answers that are 500 (a broken version), 0..1. */
  readonly failRate: number;
  /** /ping answers 503 until this long after start (a slow boot). */
  readonly startupDelayMs: number;
  /** After SIGTERM, keep serving at most this long while the balancer stops choosing us. */
  readonly shutdownDrainMs: number;
  /** ...but end the drain early once no request has arrived for this long. */
  readonly shutdownQuietMs: number;
  /** Hard limit for in-flight requests to finish after we stop accepting. */
  readonly shutdownTimeoutMs: number;
  /** Interval between two `/events` (Server-Sent Events) events. */
  readonly eventsIntervalMs: number;
  /** Longer than the balancer's idle socket lifetime, so the balancer always closes first. */
  readonly keepAliveTimeoutMs: number;
  /**
   * Lab only (LAB_EXIT_ON_SIGTERM=1, for npm run experiment): exit at once on SIGTERM, like a
   * service without a graceful shutdown, to show what the graceful shutdown prevents. Off by default.
   */
  readonly labExitOnSigterm: boolean;
  /**
   * Self-registration (LB_REGISTER_URL + LB_REGISTRATION_TOKEN): announce this instance to the
   * balancer with a lease, and on SIGTERM run the drain handshake before shutting down. Off when unset.
   */
  readonly announce?: {
    /** The balancer's admin API, e.g. http://lb:8090. */
    readonly balancerUrl: string;
    readonly token: string;
    /** How the balancer reaches this instance (ANNOUNCE_URL; default: http://<first non-loopback IPv4>:<PORT>). */
    readonly url: string;
    /** ANNOUNCE_NAME; default: host:port of url. */
    readonly name?: string;
    /** How long the drain handshake may wait for the balancer to report 0 in flight here (ANNOUNCE_DRAIN_MS). */
    readonly drainWaitMs: number;
  };
}

export class ClientConfigError extends Error {
  readonly code = 'CLIENT_ERR_CONFIG';
  constructor(readonly problems: string[]) {
    super(`invalid client configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ClientConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Reads the client's configuration from environment variables; throws one error listing every problem. */
export function readClientConfig(env: Env = process.env, hostname: () => string = os.hostname, interfaces: () => ReturnType<typeof os.networkInterfaces> = os.networkInterfaces): ClientConfig {
  const problems: string[] = [];
  const int = (name: string, def: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}: expected an integer from ${min} to ${max}, got "${raw}"`);
      return def;
    }
    return n;
  };
  const rate = (name: string): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return 0;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0 || n > 1) {
      problems.push(`${name}: expected a number from 0 to 1, got "${raw}"`);
      return 0;
    }
    return n;
  };
  const flag = (name: string): boolean => {
    const raw = env[name];
    if (raw === undefined || raw === '' || raw === '0' || raw === 'false') return false;
    if (raw === '1' || raw === 'true') return true;
    problems.push(`${name}: expected 1/true or 0/false, got "${raw}"`);
    return false;
  };
  const httpUrl = (name: string): string | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    try {
      const u = new URL(raw);
      if (u.protocol === 'http:' || u.protocol === 'https:') return raw;
    } catch {
      // reported below
    }
    problems.push(`${name}: expected an http:// or https:// URL, got "${raw}"`);
    return undefined;
  };
  const port = int('PORT', 8081, 0, 65535);
  const registerUrl = httpUrl('LB_REGISTER_URL');
  const announceUrl = httpUrl('ANNOUNCE_URL');
  const token = env.LB_REGISTRATION_TOKEN || undefined;
  if (env.LB_REGISTER_URL && !token) problems.push('LB_REGISTRATION_TOKEN: must be set with LB_REGISTER_URL (self-registration needs the balancer\'s registration token)');
  if (token && !env.LB_REGISTER_URL) problems.push('LB_REGISTER_URL: must be set with LB_REGISTRATION_TOKEN (the balancer\'s admin API, e.g. http://lb:8090)');
  const drainWaitMs = int('ANNOUNCE_DRAIN_MS', 30_000, 0, 600_000);
  let announce: ClientConfig['announce'];
  if (registerUrl && token) {
    const url = announceUrl ?? defaultAnnounceUrl(port, interfaces);
    if (!url) problems.push('ANNOUNCE_URL: must be set (no non-loopback IPv4 address found to tell the balancer; give how it reaches this instance)');
    else announce = { balancerUrl: registerUrl, token, url, ...(env.ANNOUNCE_NAME ? { name: env.ANNOUNCE_NAME } : {}), drainWaitMs };
  }
  const config: ClientConfig = {
    port,
    host: env.HOST || '0.0.0.0',
    version: env.APP_VERSION || 'v1',
    instance: env.INSTANCE_NAME || hostname(),
    latencyMs: int('LATENCY_MS', 0, 0, 600_000),
    failRate: rate('FAIL_RATE'),
    startupDelayMs: int('STARTUP_DELAY_MS', 0, 0, 3_600_000),
    shutdownDrainMs: int('SHUTDOWN_DRAIN_MS', 5000, 0, 60_000),
    shutdownQuietMs: int('SHUTDOWN_QUIET_MS', 1000, 0, 60_000),
    shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_MS', 3500, 0, 600_000),
    eventsIntervalMs: int('EVENTS_INTERVAL_MS', 1000, 10, 60_000),
    keepAliveTimeoutMs: int('KEEP_ALIVE_TIMEOUT_MS', 15_000, 1000, 600_000),
    labExitOnSigterm: flag('LAB_EXIT_ON_SIGTERM'),
    ...(announce ? { announce } : {}),
  };
  if (problems.length > 0) throw new ClientConfigError(problems);
  return Object.freeze(config);
}

/** http://<first non-internal IPv4>:<port>: a container's address on its network, which the balancer can reach. */
function defaultAnnounceUrl(port: number, interfaces: () => ReturnType<typeof os.networkInterfaces>): string | undefined {
  for (const list of Object.values(interfaces())) {
    const a = list?.find((i) => i.family === 'IPv4' && !i.internal);
    if (a && port !== 0) return `http://${a.address}:${port}`;
  }
  return undefined;
}
