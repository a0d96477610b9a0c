import http from 'node:http';
import httpProxy from 'http-proxy';

/**
 * The floor of our stack: http-proxy with one keep-alive agent per upstream, round-robin, and
 * nothing else (no health checks, no retries, no body buffering, no timeouts).
 * Usage: node dist/bare-proxy.js <port> <upstreamUrl,upstreamUrl,...>
 */
const port = Number(process.argv[2]);
const upstreams = (process.argv[3] ?? '').split(',').filter(Boolean).map((url) => ({
  target: url,
  agent: new http.Agent({ keepAlive: true, timeout: 4000, scheduling: 'lifo' }),
}));
if (!port || upstreams.length === 0) {
  process.stderr.write('usage: bare-proxy <port> <url,url,...>\n');
  process.exit(2);
}
// xfwd: the same X-Forwarded-* work our balancer does.
const proxy = httpProxy.createProxyServer({ xfwd: true });
proxy.on('error', (_err, _req, res) => {
  const r = res as http.ServerResponse;
  if (!r.headersSent && typeof r.writeHead === 'function') r.writeHead(502, { 'content-length': 0 });
  r.end();
});
let next = 0;
const server = http.createServer((req, res) => {
  const u = upstreams[next++ % upstreams.length];
  proxy.web(req, res, u);
});
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
