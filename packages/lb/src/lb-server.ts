import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { LbConfig } from './config/lb-config';
import { HealthChecker, realTimers, type Timers } from './health/health-checker';
import { httpProbe, type Probe } from './health/http-probe';
import { createLogger, type Logger } from './logger';
import type { Transition } from './pool/upstream';
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
  private readonly proxy: ProxyHandler;
  private readonly log: Logger;
  private server?: http.Server;
  private stopping?: Promise<void>;

  constructor(
    readonly config: LbConfig,
    deps: LoadBalancerDeps = {},
  ) {
    this.log = deps.log ?? createLogger();
    this.pool = new UpstreamPool(config, (t) => this.onTransition(t));
    this.health = new HealthChecker(config.healthCheck, deps.probe ?? httpProbe, deps.timers ?? realTimers);
    this.proxy = new ProxyHandler(this.pool, config.proxy, this.log);
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
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
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.listen.port, this.config.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.health.start(this.pool.all());
    this.log.info('listening', {
      host: this.config.listen.host,
      port: this.port,
      upstreams: this.pool.all().map((u) => u.url),
      healthCheck: this.config.healthCheck,
    });
  }

  private onTransition(t: Transition): void {
    this.log.info('upstream state', { ...t, inRotation: this.pool.inRotation.length });
  }

  /** Stops accepting, lets in-flight requests finish (up to `timeoutMs`), then closes everything. Idempotent. */
  stop(timeoutMs = 8000): Promise<void> {
    this.stopping ??= (async () => {
      this.health.stop();
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
