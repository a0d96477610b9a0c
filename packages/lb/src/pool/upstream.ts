import http from 'node:http';
import type { UpstreamConfig } from '../config/lb-config';
import { UpstreamStats } from '../metrics/upstream-stats';
import { PendingList } from './pending-list';

/** What health checks say. */
export type Health = 'healthy' | 'unhealthy';
/** What an operator (or the deployer) says; only 'active' upstreams receive traffic. */
export type AdminState = 'active' | 'draining' | 'disabled';
/** The state shown to people: the admin state wins over health. */
export type UpstreamState = Health | Exclude<AdminState, 'active'>;

/** Why a check or request failed; `unreachable` means no HTTP answer at all (the host may be gone). */
export interface CheckResult {
  ok: boolean;
  reason: string;
  unreachable?: boolean;
}

export interface Transition {
  upstream: string;
  from: UpstreamState;
  to: UpstreamState;
  reason: string;
}

export type { PendingRequest } from './pending-list';

/**
 * One upstream and its state machine: fall consecutive failures → unhealthy, rise consecutive
 * successes → healthy. It starts unhealthy ("pending") so nothing is sent before a first good ping.
 */
export class Upstream {
  readonly url: string;
  readonly name: string;
  readonly target: URL;
  /** Each upstream has its own keep-alive pool, so one that dies can have its sockets evicted alone. */
  readonly agent: http.Agent;
  health: Health = 'unhealthy';
  /** Whether it has ever been healthy (a new instance is checked more often until then). */
  everHealthy = false;
  group: string;
  weight: number;
  /** The version it runs, as the deployer registered it (undefined: not told). */
  version: string | undefined;
  admin: AdminState = 'active';
  inFlight = 0;
  requests = 0;
  failures = 0;
  retries = 0;
  lastCheck: CheckResult = { ok: false, reason: 'pending' };
  /** How many times its connections were evicted; cluster workers follow this count to evict theirs. */
  evictions = 0;
  private failStreak = 0;
  private riseStreak = 0;
  readonly pending = new PendingList();
  /** Request counters for the metrics, bumped on the request path. */
  readonly stats = new UpstreamStats();

  constructor(
    config: UpstreamConfig,
    private readonly thresholds: { fall: number; rise: number },
    agentOptions: http.AgentOptions,
    private readonly onTransition: (t: Transition) => void,
    /** Any change of health, admin state or evictions, even one that does not change the shown state. */
    private readonly onChange: () => void = () => {},
  ) {
    this.url = config.url;
    this.name = config.name;
    this.target = new URL(config.url);
    this.group = config.group ?? 'default';
    this.weight = config.weight ?? 1;
    this.version = config.version;
    this.agent = new http.Agent({ keepAlive: true, ...agentOptions });
  }

  get state(): UpstreamState {
    return this.admin === 'active' ? this.health : this.admin;
  }

  get inRotation(): boolean {
    return this.admin === 'active' && this.health === 'healthy';
  }

  /** A health check's outcome. */
  reportCheck(result: CheckResult): void {
    this.lastCheck = result;
    if (result.ok) this.success(result.reason);
    else this.failure(result);
  }

  /** A request that could not reach this upstream (connection refused, reset, timed out). */
  reportPassiveFailure(result: CheckResult): void {
    this.failures++;
    this.failure(result);
  }

  setAdmin(admin: AdminState, reason: string): void {
    this.change(() => (this.admin = admin), reason);
  }

  private success(reason: string): void {
    this.failStreak = 0;
    this.riseStreak++;
    if (this.health === 'unhealthy' && this.riseStreak >= this.thresholds.rise) {
      this.change(() => (this.health = 'healthy'), reason);
      this.everHealthy = true;
    }
  }

  /**
   * Takes health and admin state as decided elsewhere (a cluster worker follows its primary, which
   * runs the health checks): no state machine here, and evicts when the primary has evicted.
   */
  follow(remote: { health: Health; admin: AdminState; evictions: number }): void {
    this.health = remote.health;
    this.admin = remote.admin;
    if (remote.evictions > this.evictions) {
      this.evictions = remote.evictions;
      this.evictConnections();
    }
  }

  private failure(result: CheckResult): void {
    this.riseStreak = 0;
    this.failStreak++;
    if (this.health === 'healthy' && this.failStreak >= this.thresholds.fall) {
      this.change(() => (this.health = 'unhealthy'), `${result.reason} (${this.failStreak} in a row)`);
    }
    // A host that does not answer at all may be gone without a word (no RST): requests waiting on it
    // would hang, so give them back to the proxy, which retries the idempotent ones elsewhere.
    if (this.health === 'unhealthy' && result.unreachable) {
      this.evictions++;
      this.evictConnections();
      this.onChange();
    }
  }

  /** Closes its idle pooled sockets and gives its waiting requests back to the proxy. */
  evictConnections(): void {
    for (const sockets of Object.values(this.agent.freeSockets)) for (const s of sockets ?? []) s.destroy();
    for (const p of [...this.pending]) p.abortAsDead();
  }

  private change(apply: () => void, reason: string): void {
    const from = this.state;
    const before = `${this.health}/${this.admin}`;
    apply();
    const to = this.state;
    if (from !== to) this.onTransition({ upstream: this.name, from, to, reason });
    if (`${this.health}/${this.admin}` !== before) this.onChange();
  }

  /** Closes every pooled socket; for shutdown. */
  destroy(): void {
    this.agent.destroy();
  }

  snapshot() {
    return {
      name: this.name,
      url: this.url,
      state: this.state,
      health: this.health,
      admin: this.admin,
      group: this.group,
      weight: this.weight,
      version: this.version ?? null,
      inFlight: this.inFlight,
      requests: this.requests,
      failures: this.failures,
      retries: this.retries,
      lastCheck: this.lastCheck.reason,
    };
  }
}
