import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** The body of GET /big: 8 MiB with a byte pattern, so a reordered or lost chunk shows. */
export const BIG_BODY = Buffer.alloc(8 * 1024 * 1024, 0).map((_, i) => (i * 31 + (i >> 16)) & 0xff);

/** A real loopback upstream that can be killed and revived on the same port, for proxy tests. */
export class TestUpstream {
  private server?: http.Server;
  port = 0;
  hits = 0;
  latencyMs = 0;

  constructor(readonly name: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const server = http.createServer((req, res) => {
      if (req.url === '/ping') {
        res.end('pong');
        return;
      }
      this.hits++;
      if (req.url === '/headers') {
        // Hop-by-hop headers the proxy must not pass on, a repeated header, a chunked body.
        res.writeHead(201, 'Made', [
          'Set-Cookie', 'a=1',
          'Set-Cookie', 'b=2',
          'Connection', 'close',
          'Keep-Alive', 'timeout=15',
          'X-Upstream', 'spoofed',
          'X-Custom', this.name,
        ]);
        res.write('part 1, ');
        setTimeout(() => res.end('part 2'), 5);
        return;
      }
      if (req.url === '/big') {
        // 8 MiB in 64 KiB writes, more than any socket buffer: the proxy has to honour backpressure.
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BIG_BODY.length });
        let at = 0;
        const more = () => {
          while (at < BIG_BODY.length) {
            const chunk = BIG_BODY.subarray(at, (at += 65_536));
            if (!res.write(chunk)) return void res.once('drain', more);
          }
          res.end();
        };
        more();
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const reply = () =>
          res.writeHead(200, { 'content-type': 'application/json' }).end(
            JSON.stringify({ instance: this.name, method: req.method, body: Buffer.concat(chunks).toString(), xff: req.headers['x-forwarded-for'] }),
          );
        if (this.latencyMs > 0) setTimeout(reply, this.latencyMs);
        else reply();
      });
    });
    server.keepAliveTimeout = 15_000;
    this.server = server;
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  /** Dies abruptly: stops listening and drops every connection. */
  async kill(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/** Sends requests over keep-alive connections and records every outcome. */
export async function request(
  port: number,
  agent: http.Agent,
  opts: { method?: string; path?: string; body?: string } = {},
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        agent,
        method: opts.method ?? 'GET',
        path: opts.path ?? '/api',
        headers: opts.body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(opts.body) } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
  return Date.now() - start;
}
