import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { LbConfig } from './config/lb-config';
import { createAdminApi } from './admin/admin-api';
import { HealthChecker, realTimers, type Timers } from './health/health-checker';
import { httpProbe, type Probe } from './health/http-probe';
import { createLogger, type Logger } from './logger';
import { LbMetrics } from './metrics/lb-metrics';
import type { Transition, Upstream } from './pool/upstream';
import type { UpstreamConfig } from './config/lb-config';
import type { SplitEntry } from './balancing/traffic-split';
import { UpstreamPool } from './pool/upstream-pool';
import { ProxyHandler } from './proxy/proxy-handler';

export interface LoadBalancerDeps {
  log?: Logger;
  probe?: Probe;
  timers?: Timers;
}

/** Paths under this prefix are the balancer's own; everything else is proxied. */
const OWN_PREFIX = '/__lb/';

/**
 * The balancer: upstream pool + health checker + proxy on one HTTP server, with an explicit
 * start() and an idempotent stop() that stops accepting and lets in-flight requests finish.
 */
export class LoadBalancer {
  readonly pool: UpstreamPool;
  readonly health: HealthChecker;
  readonly metrics: LbMetrics;
  private readonly proxy: ProxyHandler;
  private readonly log: Logger;
  private server?: http.Server;
  private adminServer?: http.Server;
  private stopping?: Promise<void>;

  constructor(
    readonly config: LbConfig,
    deps: LoadBalancerDeps = {},
  ) {
    this.log = deps.log ?? createLogger();
    this.pool = new UpstreamPool(config, (t) => this.onTransition(t));
    this.health = new HealthChecker(config.healthCheck, deps.probe ?? httpProbe, deps.timers ?? realTimers);
    this.metrics = new LbMetrics(this.pool);
    this.proxy = new ProxyHandler(this.pool, config.proxy, config.routing, this.log, this.metrics);
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  get adminPort(): number {
    return (this.adminServer?.address() as AddressInfo | null)?.port ?? 0;
  }

  async start(): Promise<void> {
    // The balancer's own endpoints use express; proxied traffic skips its middleware stack, which
    // would only add cost to every request (and body parsers would consume proxied bodies).
    const own = express();
    own.disable('x-powered-by');
    own.get('/__lb/health', (_req, res) => {
      res.json({ status: 'ok', inRotation: this.pool.inRotation.length, upstreams: this.pool.all().map((u) => u.snapshot()) });
    });
    own.use((_req, res) => res.status(404).json({ error: 'not found' }));
    const server = http.createServer((req, res) => {
      if (req.url?.startsWith(OWN_PREFIX)) own(req, res);
      else this.proxy.handle(req, res);
    });
    // Clients may keep connections open; stay above common client idle timeouts.
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    this.server = server;
    await listen(server, this.config.listen.port, this.config.listen.host);
    const { admin } = this.config;
    if (admin.enabled) {
      this.adminServer = http.createServer(createAdminApi(this, admin.token));
      await listen(this.adminServer, admin.port, admin.host);
      if (!admin.token) this.log.warn('admin API refuses every request: no LB_ADMIN_TOKEN set', { port: this.adminPort });
    }
    this.health.start(this.pool.all());
    this.log.info('listening', {
      host: this.config.listen.host,
      port: this.port,
      admin: admin.enabled ? `${admin.host}:${this.adminPort}` : 'disabled',
      upstreams: this.pool.all().map((u) => u.url),
      healthCheck: this.config.healthCheck,
    });
  }

  /** Adds an upstream at runtime; it is health-checked at once and gets traffic once healthy (and enabled). */
  addUpstream(config: UpstreamConfig, enabled: boolean): Upstream {
    const u = this.pool.add(config);
    if (!enabled) u.setAdmin('disabled', 'added disabled');
    this.log.info('upstream added', { upstream: u.name, url: u.url, group: u.group, weight: u.weight, enabled });
    this.health.watch(u);
    return u;
  }

  /**
   * Stops sending new requests to an upstream and waits (up to `waitMs`) for its in-flight requests.
   * Resolves with whether it drained; the upstream stays draining either way.
   */
  async drain(u: Upstream, waitMs: number): Promise<{ drained: boolean; waitedMs: number }> {
    u.setAdmin('draining', 'drain requested');
    const began = Date.now();
    while (u.inFlight > 0 && Date.now() - began < waitMs) await new Promise((r) => setTimeout(r, 10));
    return { drained: u.inFlight === 0, waitedMs: Date.now() - began };
  }

  /** Drains (up to `waitMs`), then removes the upstream; requests still in flight after that are cut. */
  async removeUpstream(u: Upstream, waitMs: number): Promise<{ drained: boolean; waitedMs: number }> {
    const result = await this.drain(u, waitMs);
    this.health.unwatch(u);
    this.pool.remove(u.name);
    this.log.info('upstream removed', { upstream: u.name, ...result });
    return result;
  }

  /** Sets or clears the traffic split between groups, in one step. */
  setSplit(entries: readonly SplitEntry[] | undefined): void {
    this.pool.setSplit(entries);
    this.log.info('traffic split', { split: entries ?? 'none (all groups by weight)' });
  }

  private onTransition(t: Transition): void {
    this.log.info('upstream state', { ...t, inRotation: this.pool.inRotation.length });
  }

  /** Stops accepting, lets in-flight requests finish (up to `timeoutMs`), then closes everything. Idempotent. */
  stop(timeoutMs = 8000): Promise<void> {
    this.stopping ??= (async () => {
      this.health.stop();
      this.adminServer?.close();
      this.adminServer?.closeAllConnections();
      const server = this.server;
      if (server) {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const sweep = setInterval(() => server.closeIdleConnections(), 100);
        const force = setTimeout(() => server.closeAllConnections(), timeoutMs);
        await closed;
        clearInterval(sweep);
        clearTimeout(force);
      }
      this.proxy.close();
      this.pool.destroy();
    })();
    return this.stopping;
  }
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
