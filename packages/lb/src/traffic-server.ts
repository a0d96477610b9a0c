import http from 'node:http';
import express from 'express';
import type { UpstreamPool } from './pool/upstream-pool';
import type { LongLivedProxy } from './proxy/long-lived-proxy';
import type { ProxyHandler } from './proxy/proxy-handler';

/** Paths under this prefix are the balancer's own; everything else is proxied. */
const OWN_PREFIX = '/__lb/';

/**
 * The traffic port's server: the balancer's own `/__lb/health` and the proxy for everything else.
 * Used by the single-process balancer and by each cluster worker.
 */
export function createTrafficServer(pool: UpstreamPool, proxy: ProxyHandler, longLived?: LongLivedProxy): http.Server {
  // The balancer's own endpoints use express; proxied traffic skips its middleware stack, which
  // would only add cost to every request (and body parsers would consume proxied bodies).
  const own = express();
  own.disable('x-powered-by');
  own.get('/__lb/health', (_req, res) => {
    res.json({ status: 'ok', inRotation: pool.inRotation.length, upstreams: pool.all().map((u) => u.snapshot()) });
  });
  own.use((_req, res) => res.status(404).json({ error: 'not found' }));
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith(OWN_PREFIX)) own(req, res);
    else proxy.handle(req, res);
  });
  // Clients may keep connections open; stay above common client idle timeouts.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  // WebSockets and other upgrades; event streams the proxy answers with.
  longLived?.attach(server, proxy);
  return server;
}

/** Stops accepting, closes idle keep-alive connections as they go idle, cuts the rest after `timeoutMs`. */
export async function closeGracefully(server: http.Server, timeoutMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const sweep = setInterval(() => server.closeIdleConnections(), 100);
  const force = setTimeout(() => server.closeAllConnections(), timeoutMs);
  await closed;
  clearInterval(sweep);
  clearTimeout(force);
}

export function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
