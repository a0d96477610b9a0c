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
  // A bare status for whoever can reach the traffic port: upstream URLs and counters are the
  // admin API's business (GET /upstreams), not the public's.
  own.get('/__lb/health', (_req, res) => {
    // 200 whenever the balancer itself runs (the container's liveness check), with a bare count.
    res.json({ status: 'ok', inRotation: pool.inRotation.length });
  });
  own.use((_req, res) => res.status(404).json({ error: 'not found' }));
  const t = proxy.clientTimeouts;
  const server = http.createServer(
    {
      // A client must send its request head within headerTimeoutMs and the whole request within
      // requestTimeoutMs (slowloris); Node checks both on this interval (default 30 s, too coarse).
      headersTimeout: t.headerTimeoutMs,
      requestTimeout: t.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, t.headerTimeoutMs),
    },
    (req, res) => {
      if (req.url?.startsWith(OWN_PREFIX)) own(req, res);
      else proxy.handle(req, res);
    },
  );
  // Clients may keep connections open; stay above common client idle timeouts. (Node requires
  // headersTimeout ≤ requestTimeout; the idle keep-alive time is separate.)
  server.keepAliveTimeout = 65_000;
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
