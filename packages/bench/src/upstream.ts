import http from 'node:http';

/**
 * The benchmark's upstream: as small as a Node HTTP server gets, so it is never the bottleneck.
 * GET /api → a small JSON body; /ping → 200. Keep-alive 15 s (longer than every proxy's idle
 * timeout towards it, as in the lab). Usage: node dist/upstream.js <port> <name>
 */
const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
const name = process.argv[3] ?? process.env.INSTANCE_NAME ?? `upstream-${port}`;
const api = Buffer.from(JSON.stringify({ ok: true, instance: name, version: 'bench', message: 'hello from the benchmark upstream' }));
const pong = Buffer.from('pong');

const server = http.createServer((req, res) => {
  if (req.url === '/ping') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': pong.length });
    res.end(pong);
    return;
  }
  if (req.url === '/api' || req.url?.startsWith('/api?')) {
    // Consume any request body (POST) before answering.
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': api.length });
    res.end(api);
    return;
  }
  req.resume();
  res.writeHead(404, { 'content-length': 0 });
  res.end();
});
server.keepAliveTimeout = 15_000;
server.headersTimeout = 16_000;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`upstream ${name} listening on 127.0.0.1:${(server.address() as { port: number }).port}\n`);
});
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
