import http from 'node:http';
import httpProxy from 'http-proxy';
import { Pool } from 'undici';

/**
 * Bare proxies, round-robin over keep-alive connections and nothing else (no health checks,
 * retries, body buffering or timeouts): the floors our balancer's design sits on.
 *   http-proxy  http-proxy with one keep-alive agent per upstream (the floor of our stack)
 *   node-http   node:http.request + pipe, with the same agents (no http-proxy)
 *   undici      undici.Pool per upstream, responses streamed with pool.stream()
 * Usage: node dist/bare-proxy.js <port> <upstreamUrl,upstreamUrl,...> [http-proxy|node-http|undici]
 */
const port = Number(process.argv[2]);
const urls = (process.argv[3] ?? '').split(',').filter(Boolean);
const mode = process.argv[4] ?? 'http-proxy';
if (!port || urls.length === 0 || !['http-proxy', 'node-http', 'undici'].includes(mode)) {
  process.stderr.write('usage: bare-proxy <port> <url,url,...> [http-proxy|node-http|undici]\n');
  process.exit(2);
}

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);
const bad = (res: http.ServerResponse) => {
  if (!res.headersSent) res.writeHead(502, { 'content-length': 0 });
  res.end();
};
let next = 0;

function httpProxyHandler(): http.RequestListener {
  const upstreams = urls.map((url) => ({ target: url, agent: new http.Agent({ keepAlive: true, timeout: 4000, scheduling: 'lifo' }) }));
  // xfwd: the same X-Forwarded-* work our balancer does.
  const proxy = httpProxy.createProxyServer({ xfwd: true });
  proxy.on('error', (_err, _req, res) => bad(res as http.ServerResponse));
  return (req, res) => proxy.web(req, res, upstreams[next++ % upstreams.length]);
}

function forwardedHeaders(req: http.IncomingMessage): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const k in req.headers) if (!HOP.has(k)) out[k] = req.headers[k]!;
  const addr = req.socket.remoteAddress ?? '';
  out['x-forwarded-for'] = req.headers['x-forwarded-for'] ? `${req.headers['x-forwarded-for']}, ${addr}` : addr;
  out['x-forwarded-proto'] = 'http';
  return out;
}

function responseHeaders(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (!HOP.has(raw[i].toLowerCase())) out.push(raw[i], raw[i + 1]);
  return out;
}

function nodeHttpHandler(): http.RequestListener {
  const upstreams = urls.map((url) => {
    const u = new URL(url);
    return { hostname: u.hostname, port: Number(u.port), agent: new http.Agent({ keepAlive: true, timeout: 4000, scheduling: 'lifo' }) };
  });
  return (req, res) => {
    const u = upstreams[next++ % upstreams.length];
    const preq = http.request({ hostname: u.hostname, port: u.port, agent: u.agent, method: req.method, path: req.url, headers: forwardedHeaders(req) }, (pres) => {
      res.writeHead(pres.statusCode ?? 502, responseHeaders(pres.rawHeaders));
      pres.pipe(res);
    });
    preq.on('error', () => bad(res));
    req.pipe(preq);
  };
}

function undiciHandler(): http.RequestListener {
  const pools = urls.map((url) => new Pool(url, { connections: 256, pipelining: 1, keepAliveTimeout: 4000 }));
  return (req, res) => {
    const pool = pools[next++ % pools.length];
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    pool.stream(
      { path: req.url ?? '/', method: req.method as 'GET', headers: forwardedHeaders(req), body: hasBody ? req : null },
      ({ statusCode, headers }) => {
        const h: Record<string, string | string[]> = {};
        for (const k in headers) if (!HOP.has(k)) h[k] = headers[k] as string | string[];
        res.writeHead(statusCode, h);
        return res;
      },
      (err) => {
        if (err) bad(res);
      },
    );
  };
}

const handler = mode === 'undici' ? undiciHandler() : mode === 'node-http' ? nodeHttpHandler() : httpProxyHandler();
const server = http.createServer(handler);
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.listen(port, '127.0.0.1');
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
