import http from 'node:http';
import type { UpstreamConfig } from '../config/lb-config';
import { UpstreamStats } from '../metrics/upstream-stats';
import { connectHost } from '../config/parse-upstream-url';
import { PendingList } from './pending-list';
import { EVICT_CONNECTIONS } from '../proxy/evict-connections';

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
  /**
   * Nothing listens there at all (connection refused, no such host): the process is gone, not slow.
   * Such an upstream is never a panic-routing fallback (see fallbackEligible).
   */
  down?: boolean;
}

/** Connection errors that say nothing listens at the address (as opposed to a slow or silent host). */
export const DOWN_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH']);

export interface Transition {
  upstream: string;
  from: UpstreamState;
  to: UpstreamState;
  reason: string;
}

export type { PendingRequest } from './pending-list';

/** The thresholds of the state machine (healthCheck in the config). */
export interface HealthThresholds {
  fall: number;
  rise: number;
  /** Consecutive failed requests that eject the upstream (default: fall). */
  passiveFall?: number;
  /** First ejection's length; doubles with each ejection in a row, up to maxEjectMs. */
  ejectMs?: number;
  maxEjectMs?: number;
}

/**
 * One upstream and its state machine: fall consecutive failed checks → unhealthy, rise consecutive
 * good checks → healthy. It starts unhealthy ("pending") so nothing is sent before a first good ping.
 *
 * Requests are evidence too (passive health): `passiveFall` failed requests in a row (refused,
 * reset, timed out, cut mid-response, invalid response) eject it for `ejectMs`, doubled for each
 * ejection that follows closely on the last one (like Envoy's outlier detection). While ejected,
 * good checks do not count, so an upstream whose /ping works but whose requests fail does not
 * flap back into rotation after every check.
 */
export class Upstream {
  readonly url: string;
  readonly name: string;
  readonly target: URL;
  /** Where connections go (IPv6 literals without their URL brackets). */
  readonly connectTarget: { host: string; port: number };
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
  /** Its last failure said nothing listens there (refused, no such host); cleared by a success. */
  private down = false;
  /** A cluster worker's copy of the primary's fallbackEligible (the primary owns health). */
  private remoteFallback?: boolean;
  /** Failed requests in a row (reset by a request that succeeds). */
  passiveStreak = 0;
  /** Until when (clock ms) it stays out after an ejection; 0 = not ejected. */
  ejectedUntil = 0;
  /** Ejections in a row (each doubles the next one's length); forgotten after a quiet period. */
  ejections = 0;
  private lastEjectionAt = 0;
  readonly pending = new PendingList();
  /** Request counters for the metrics, bumped on the request path. */
  readonly stats = new UpstreamStats();

  constructor(
    config: UpstreamConfig,
    private readonly thresholds: HealthThresholds,
    agentOptions: http.AgentOptions,
    private readonly onTransition: (t: Transition) => void,
    /** Any change of health, admin state or evictions, even one that does not change the shown state. */
    private readonly onChange: () => void = () => {},
    private readonly now: () => number = Date.now,
  ) {
    this.url = config.url;
    this.name = config.name;
    this.target = new URL(config.url);
    this.connectTarget = { host: connectHost(this.target), port: Number(this.target.port || 80) };
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

  /**
   * May take traffic when nothing at all is in rotation (panic routing): enabled by the operator or
   * the deployer, was healthy once, and not ejected for failing requests. Its health checks failed,
   * but on a starved machine that can be slowness, not death; trying it (a request that cannot
   * connect is retried elsewhere) beats answering 503 to everyone. A new instance that never
   * passed a check never qualifies, so the health gate holds.
   */
  get fallbackEligible(): boolean {
    return this.remoteFallback ?? (this.admin === 'active' && this.everHealthy && this.ejectedUntil === 0 && !this.down);
  }

  /** A health check's outcome. */
  reportCheck(result: CheckResult): void {
    this.lastCheck = result;
    const wasFallback = this.fallbackEligible;
    this.down = !result.ok && result.down === true;
    if (result.ok) this.success(result.reason);
    else this.failure(result);
    // Whether it may serve as a panic fallback can change without a state change (slow → refused).
    if (this.fallbackEligible !== wasFallback) this.onChange();
  }

  /** A request that failed on this upstream (connection refused, reset, timed out, cut, invalid response). */
  reportPassiveFailure(result: CheckResult): void {
    this.failures++;
    if (result.down && !this.down) {
      const wasFallback = this.fallbackEligible;
      this.down = true;
      if (this.fallbackEligible !== wasFallback) this.onChange();
    }
    // Unreachable (refused, no route, connect timeout): the checks see the same thing, so it counts
    // like a failed check, and the upstream is back as soon as it answers again (a restart).
    if (result.unreachable) return this.failure(result);
    // It answers pings but its requests fail (reset, timeout, cut mid-body, invalid response):
    // only time out of rotation, not a good ping, may bring it back.
    this.passiveStreak++;
    if (this.passiveStreak >= (this.thresholds.passiveFall ?? this.thresholds.fall) && this.ejectedUntil === 0) this.eject(result);
  }

  /** A request completed after failures: the streak is over. */
  reportPassiveSuccess(): void {
    this.passiveStreak = 0;
  }

  get ejected(): boolean {
    return this.ejectedUntil !== 0;
  }

  private eject(result: CheckResult): void {
    const now = this.now();
    const base = this.thresholds.ejectMs ?? 0;
    const max = this.thresholds.maxEjectMs ?? base;
    // Ejections close together are one problem: each lasts longer. A quiet period forgets them.
    if (now - this.lastEjectionAt > Math.max(max, base) * 2) this.ejections = 0;
    const ms = Math.min(max, base * 2 ** this.ejections);
    this.ejections++;
    this.lastEjectionAt = now;
    this.ejectedUntil = now + ms;
    this.passiveStreak = 0;
    this.riseStreak = 0;
    this.failStreak = 0;
    const reason = `${result.reason} (${this.thresholds.passiveFall ?? this.thresholds.fall} failed requests in a row; out for at least ${ms} ms)`;
    if (this.health === 'healthy') this.change(() => (this.health = 'unhealthy'), reason);
    this.lastCheck = { ok: false, reason };
    this.onChange();
  }

  private evict(): void {
    this.evictions++;
    this.evictConnections();
    this.onChange();
  }

  setAdmin(admin: AdminState, reason: string): void {
    this.change(() => (this.admin = admin), reason);
  }

  private success(reason: string): void {
    this.failStreak = 0;
    // Hysteresis: while ejected by failed requests, a good ping is not enough to come back.
    if (this.ejectedUntil !== 0) {
      if (this.now() < this.ejectedUntil) return;
      this.ejectedUntil = 0;
    }
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
  follow(remote: { health: Health; admin: AdminState; evictions: number; fallback?: boolean }): void {
    this.health = remote.health;
    this.admin = remote.admin;
    // Panic routing follows the primary, which owns health and ejections.
    this.remoteFallback = remote.fallback;
    if (remote.evictions > this.evictions) {
      this.evictions = remote.evictions;
      this.evictConnections();
    }
  }

  private failure(result: CheckResult): void {
    this.riseStreak = 0;
    // Nothing listens at its address any more (the process died): whatever answers there next is a
    // new instance, so an ejection earned by the old one's failed requests no longer applies.
    if (result.unreachable && this.ejectedUntil !== 0) {
      this.ejectedUntil = 0;
      this.passiveStreak = 0;
    }
    this.failStreak++;
    if (this.health === 'healthy' && this.failStreak >= this.thresholds.fall) {
      this.change(() => (this.health = 'unhealthy'), `${result.reason} (${this.failStreak} in a row)`);
    }
    // A host that does not answer at all may be gone without a word (no RST): requests waiting on it
    // would hang, so give them back to the proxy, which retries the idempotent ones elsewhere.
    if (this.health === 'unhealthy' && result.unreachable) this.evict();
  }

  /** Closes its idle pooled sockets and gives its waiting requests back to the proxy. */
  evictConnections(): void {
    for (const sockets of Object.values(this.agent.freeSockets)) for (const s of sockets ?? []) s.destroy();
    this.agent.emit(EVICT_CONNECTIONS);
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
    this.agent.emit(EVICT_CONNECTIONS);
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
      ...(this.ejectedUntil !== 0 ? { ejectedForMs: Math.max(0, this.ejectedUntil - this.now()) } : {}),
    };
  }
}
