import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Many upstreams in one process (the membership bench): one small HTTP server per loopback port,
 * all on one event loop, so 500 upstreams cost 500 sockets, not 500 processes. Each port answers
 * like upstream.ts (GET /api, /ping) and remembers when it answered its first /ping and its first
 * /api (epoch ms, this process's clock), served at GET /__first: how long a new upstream waited
 * between its first passing health check and its first proxied request.
 * Usage: node dist/many-upstreams.js <count>; prints one line `ports <json array>` once all listen.
 */
export interface FirstSeen {
  firstPingAt?: number;
  firstApiAt?: number;
  api: number;
  /** TCP connections accepted (health checks open one each; proxied requests should reuse theirs). */
  connections: number;
}

const api = (port: number) => Buffer.from(JSON.stringify({ ok: true, instance: `m${port}`, version: 'bench' }));
const pong = Buffer.from('pong');

function serve(): Promise<number> {
  const seen: FirstSeen = { api: 0, connections: 0 };
  let body: Buffer | undefined;
  const server = http.createServer((req, res) => {
    req.resume();
    if (req.url === '/ping') {
      seen.firstPingAt ??= Date.now();
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': pong.length }).end(pong);
    } else if (req.url === '/api' || req.url?.startsWith('/api?')) {
      seen.firstApiAt ??= Date.now();
      seen.api++;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body!.length }).end(body);
    } else if (req.url === '/__first') {
      const b = Buffer.from(JSON.stringify(seen));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': b.length }).end(b);
    } else {
      res.writeHead(404, { 'content-length': 0 }).end();
    }
  });
  server.on('connection', () => seen.connections++);
  // As in the lab: the service keeps idle sockets longer than the balancer (4 s).
  server.keepAliveTimeout = 15_000;
  server.headersTimeout = 16_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      body = api(port);
      resolve(port);
    });
  });
}

async function main(): Promise<void> {
  const count = Number(process.argv[2]);
  if (!Number.isInteger(count) || count < 1 || count > 5000) {
    process.stderr.write(`many-upstreams: <count> must be an integer 1..5000, got "${process.argv[2] ?? ''}"\n`);
    process.exit(2);
  }
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await serve());
  process.stdout.write(`ports ${JSON.stringify(ports)}\n`);
}

process.once('SIGTERM', () => process.exit(0));
process.once('SIGINT', () => process.exit(0));
main().catch((err: Error) => {
  process.stderr.write(`many-upstreams: ${err.message}\n`);
  process.exit(1);
});
