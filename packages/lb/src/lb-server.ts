import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { LbConfig } from './config/lb-config';
import { createAdminApi } from './admin/admin-api';
import { clusterForker, type ForkWorker, WorkerFleet } from './cluster/worker-fleet';
import { HealthChecker, realTimers, type Timers } from './health/health-checker';
import { httpProbe, type Probe } from './health/http-probe';
import { createLogger, type Logger } from './logger';
import { LbMetrics } from './metrics/lb-metrics';
import type { Transition } from './pool/upstream';
import { UpstreamControl } from './admin/upstream-control';
import { lbDashboardSource } from './dashboard/dashboard-source';
import { UpstreamPool } from './pool/upstream-pool';
import { DnsDiscovery, type Resolve } from './discovery/dns-discovery';
import { LOST_DRAIN_WAIT_MS, poolDiscoverySink } from './discovery/pool-discovery-sink';
import { LeaseRegistry } from './registration/lease-registry';
import { type RegistrationTarget, registrationRoutes } from './registration/registration-routes';
import { LongLivedProxy } from './proxy/long-lived-proxy';
import { ProxyHandler } from './proxy/proxy-handler';
import { closeGracefully, createTrafficServer, listen } from './traffic-server';

export interface LoadBalancerDeps {
  log?: Logger;
  probe?: Probe;
  timers?: Timers;
  /** How cluster workers are started when `workers` > 1 (default: node:cluster running this package's main.js). */
  forkWorker?: ForkWorker;
  /** How `{dns, port}` upstream entries are looked up (default: the system resolver). */
  resolve?: Resolve;
}

/**
 * The balancer: upstream pool + health checker + proxy on one HTTP server, with an explicit
 * start() and an idempotent stop() that stops accepting and lets in-flight requests finish.
 *
 * With `workers` > 1 this object is the cluster's primary: it keeps the pool's state, the health
 * checks and the admin API, and N worker processes serve the traffic port, following its state.
 */
export class LoadBalancer {
  readonly pool: UpstreamPool;
  readonly health: HealthChecker;
  readonly metrics: LbMetrics;
  /** The routing operations the admin API may call (and nothing else of the balancer). */
  readonly control: UpstreamControl;
  /** Keeps the pool's members of each `{dns, port}` entry equal to what DNS says. */
  readonly discovery: DnsDiscovery;
  /** Leases of self-registered instances (POST /registrations on the admin port). */
  readonly leases: LeaseRegistry;
  private readonly proxy: ProxyHandler;
  private readonly longLived: LongLivedProxy;
  private readonly log: Logger;
  private readonly fleet?: WorkerFleet;
  private server?: http.Server;
  private adminServer?: http.Server;
  private stopping?: Promise<void>;
  private readonly setWorkerBuffered: (bytes: number) => void;

  constructor(
    readonly config: LbConfig,
    deps: LoadBalancerDeps = {},
  ) {
    this.log = deps.log ?? createLogger();
    this.pool = new UpstreamPool(config, {
      onTransition: (t) => this.onTransition(t),
      onChange: () => this.fleet?.publish(),
      onPanic: (panic, fallback) =>
        panic
          ? this.log.warn('nothing in rotation: routing to upstreams that failed their checks but were healthy before (panic routing)', { fallback })
          : this.log.info('panic routing over', { inRotation: this.pool.inRotation.length }),
    });
    this.health = new HealthChecker(config.healthCheck, deps.probe ?? httpProbe, deps.timers ?? realTimers);
    this.metrics = new LbMetrics(this.pool);
    this.proxy = new ProxyHandler(this.pool, config.proxy, config.routing, this.log, this.metrics);
    this.longLived = new LongLivedProxy(this.pool, config, this.log);
    let workerBuffered = 0;
    this.metrics.bufferedBytes = () => (this.fleet ? workerBuffered : this.proxy.budget.inUse);
    this.setWorkerBuffered = (n) => (workerBuffered = n);
    if (config.workers > 1) {
      this.fleet = new WorkerFleet(
        config.workers,
        config,
        deps.forkWorker ?? clusterForker(path.join(__dirname, 'main.js')),
        () => this.pool.exportState(),
        (name, result) => (result ? this.pool.get(name)?.reportPassiveFailure(result) : this.pool.get(name)?.reportPassiveSuccess()),
        this.log,
      );
    }
    const fleet = this.fleet;
    this.control = new UpstreamControl({
      pool: this.pool,
      health: this.health,
      metrics: this.metrics,
      log: this.log,
      inFlight: (u) => (fleet ? fleet.inFlight(u.name) : u.inFlight),
      // A drained upstream's WebSockets and event streams are closed cleanly after the grace period.
      closeLongLived: (name, graceMs) => (fleet ? fleet.closeLongLived(name, graceMs) : this.longLived.drain(name, graceMs)),
      longLivedGraceMs: config.proxy.longLivedGraceMs,
      refreshStats: () => this.refreshStats(),
      discovery: () => this.discovery.status(),
      // Reached only for a removal through the admin API (an operator's DELETE, a deploy): the
      // instance's own DELETE and an expiry end the lease first. Its next renewal says so.
      onRemoved: (name) => this.leases.releaseName(name, 'ended: the upstream was removed through the admin API (DELETE /upstreams/:name)'),
    });
    const timers = deps.timers ?? realTimers;
    this.discovery = new DnsDiscovery(config.dnsUpstreams, poolDiscoverySink(this.control, this.log), config.discovery, deps.resolve, timers);
    // An expired lease takes the instance out like a failed health check: drained, then removed.
    this.leases = new LeaseRegistry(config.registration, (name) => {
      this.log.warn('registration lease expired: draining, then removing', { upstream: name });
      this.control.remove(name, LOST_DRAIN_WAIT_MS).catch(() => {});
    }, timers);
  }

  get port(): number {
    if (this.fleet) return this.fleet.port;
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  get adminPort(): number {
    return (this.adminServer?.address() as AddressInfo | null)?.port ?? 0;
  }

  async start(): Promise<void> {
    if (this.fleet) await this.fleet.start();
    else {
      this.server = createTrafficServer(this.pool, this.proxy, this.longLived);
      await listen(this.server, this.config.listen.port, this.config.listen.host);
    }
    const { admin } = this.config;
    if (admin.enabled) {
      const registration = { token: admin.registrationToken, routes: registrationRoutes(admin.registrationToken, this.leases, this.registrationTarget()) };
      this.adminServer = http.createServer(createAdminApi(this.control, admin.token, { dashboard: lbDashboardSource(this), registration }));
      await listen(this.adminServer, admin.port, admin.host);
      if (!admin.token) this.log.warn('admin API refuses every request: no LB_ADMIN_TOKEN set', { port: this.adminPort });
    }
    this.health.start(this.pool.all());
    this.discovery.start();
    this.log.info('listening', {
      host: this.config.listen.host,
      port: this.port,
      workers: this.config.workers,
      proxyEngine: this.config.proxy.engine,
      admin: admin.enabled ? `${admin.host}:${this.adminPort}` : 'disabled',
      upstreams: this.pool.all().map((u) => u.url),
      dns: this.config.dnsUpstreams.map((e) => `${e.dns}:${e.port}`),
      healthCheck: this.config.healthCheck,
    });
  }

  /** What a registered instance may do to the pool: add itself, drain and remove its own entry (the routes check the lease). */
  private registrationTarget(): RegistrationTarget {
    return {
      add: (u) => this.control.add(u, true),
      drain: async (name, waitMs) => {
        const r = await this.control.drain(name, waitMs);
        return { drained: r.drained, waitedMs: r.waitedMs, inFlight: r.drained ? 0 : await this.inFlightOf(name) };
      },
      remove: (name, waitMs) => this.control.remove(name, waitMs),
    };
  }

  private async inFlightOf(name: string): Promise<number> {
    await this.refreshStats();
    return this.pool.get(name)?.inFlight ?? 0;
  }

  /**
   * Brings the counters shown by the admin API and /metrics up to date. In cluster mode the requests
   * are counted in the workers: their sums are copied onto the primary's upstreams (which proxy nothing).
   */
  async refreshStats(): Promise<void> {
    if (!this.fleet) return;
    const stats = await this.fleet.stats();
    this.metrics.noUpstream = stats.noUpstream;
    if (stats.own) this.metrics.ownByClass.set(stats.own);
    this.setWorkerBuffered(stats.buffered ?? 0);
    for (const u of this.pool.all()) {
      const c = stats.upstreams[u.name];
      if (!c) continue;
      u.inFlight = c.inFlight;
      u.requests = c.requests;
      u.failures = c.failures;
      u.retries = c.retries;
      u.stats.retries = c.retries;
      u.stats.byClass.set(c.byClass);
      u.stats.buckets.set(c.buckets);
      u.stats.sum = c.sum;
      u.stats.count = c.count;
    }
  }

  private onTransition(t: Transition): void {
    this.log.info('upstream state', { ...t, inRotation: this.pool.inRotation.length });
  }

  /** Stops accepting, lets in-flight requests finish (up to `timeoutMs`), then closes everything. Idempotent. */
  stop(timeoutMs = 8000): Promise<void> {
    this.stopping ??= (async () => {
      this.health.stop();
      this.discovery.stop();
      this.leases.stop();
      this.adminServer?.close();
      this.adminServer?.closeAllConnections();
      const closing = this.longLived.closeAll();
      if (this.server) await closeGracefully(this.server, timeoutMs);
      await closing;
      await this.fleet?.stop(timeoutMs);
      this.longLived.close();
      this.proxy.close();
      this.pool.destroy();
    })();
    return this.stopping;
  }
}
