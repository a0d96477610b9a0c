import http from 'node:http';
import axios from 'axios';
import { validateConfig } from '../config/validate-config';
import { LoadBalancer } from '../lb-server';
import { createLogger, silentLogger } from '../logger';
import { pingOr, rawExchange, ScriptedUpstream, statuses } from '../test-support/raw-http';
import { request, sleep, TestUpstream, waitFor } from '../test-support/test-upstream';

// The balancer probed as an attacker would: raw sockets against it, and scripted upstreams that
// answer with whatever bytes a test wants. Each block is one CLASS of defect, tried with several inputs.

const TOKEN = 'tok';
const log = process.env.DEBUG_LB ? createLogger('debug') : silentLogger;

/** Every test runs on both proxy engines (http-proxy, the default, and undici). */
const ENGINES = ['http-proxy', 'undici'] as const;

async function startLb(engine: string, upstreams: { url: string; name: string }[], extra: { proxy?: object; healthCheck?: object } = {}) {
  const config = validateConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      admin: { port: 0 },
      adminToken: TOKEN,
      upstreams,
      healthCheck: { intervalMs: 100, timeoutMs: 80, ...extra.healthCheck },
      proxy: { engine, upstreamTimeoutMs: 400, ...extra.proxy },
    },
    'test',
  );
  const lb = new LoadBalancer(config, { log });
  await lb.start();
  await waitFor(() => lb.pool.inRotation.length === upstreams.length, 3000, 'upstreams in rotation');
  const admin = axios.create({ baseURL: `http://127.0.0.1:${lb.adminPort}`, headers: { authorization: `Bearer ${TOKEN}` }, validateStatus: () => true });
  return { lb, admin };
}

describe.each(ENGINES)('hostile input on the traffic port (engine %s)', (engine) => {
  const cleanup: Array<() => Promise<unknown> | void> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  const agent = new http.Agent({ keepAlive: true });
  afterAll(() => agent.destroy());

  async function lbWith(ups: Array<TestUpstream | ScriptedUpstream>, extra?: Parameters<typeof startLb>[2]) {
    for (const u of ups) cleanup.push(() => (u instanceof TestUpstream ? u.kill() : u.stop()));
    const env = await startLb(engine, ups.map((u, i) => ({ url: u.url, name: `u${i}` })), extra);
    cleanup.push(() => env.lb.stop(1000));
    return env;
  }

  it('answers 400 to request targets the engine cannot parse, and stays up', async () => {
    const up = await new TestUpstream('a').start();
    const { lb } = await lbWith([up]);
    const targets = ['http://[::1/x', 'http://[fe80::1%25/x', 'http://a:99999/x', '*', 'foo/bar', 'host.example:443', 'ftp://x/y', 'http://%zz/'];
    for (const t of targets) {
      const r = await rawExchange(lb.port, `GET ${t} HTTP/1.1\r\nHost: x\r\n\r\n`);
      expect({ t, status: statuses(r.text)[0] }).toEqual({ t, status: 400 });
    }
    // An absolute-form target that is fine is proxied as its origin form.
    const ok = await rawExchange(lb.port, 'GET http://example.test/api?q=1 HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n');
    expect(statuses(ok.text)).toEqual([200]);
    expect((await request(lb.port, agent)).status).toBe(200);
    expect(lb.metrics.noUpstream).toBe(0);
  });

  it('never lets a request body be read upstream as a second request (framing always matches the body), for every method', async () => {
    // A real Node server as the upstream: its parser is what a pooled connection meets in production.
    const seen: Array<{ url: string; host?: string; body: string }> = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url !== '/ping') seen.push({ url: req.url ?? '', host: req.headers.host, body: Buffer.concat(chunks).toString() });
        res.end(JSON.stringify({ path: req.url }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const env = await startLb(engine, [{ url, name: 'real' }], { proxy: { retryBodyLimitBytes: 64 } });
    cleanup.push(() => env.lb.stop(1000));
    const smuggled = 'GET /SMUGGLED HTTP/1.1\r\nHost: internal\r\n\r\n';
    const chunk = (s: string) => `${s.length.toString(16)}\r\n${s}\r\n0\r\n\r\n`;
    const big = 'x'.repeat(200) + smuggled; // over the retry buffer limit: streamed, not buffered
    for (const method of ['DELETE', 'OPTIONS', 'GET', 'HEAD', 'POST', 'PUT', 'PATCH']) {
      for (const body of [smuggled, big]) {
        seen.length = 0;
        const r = await rawExchange(env.lb.port, `${method} /first HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunk(body)}GET /second HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        expect({ method, statuses: statuses(r.text) }).toEqual({ method, statuses: [200, 200] });
        expect(r.text).not.toContain('SMUGGLED');
        // The upstream parsed exactly our two requests, the body as a body.
        expect(seen.map((s) => s.url).sort()).toEqual(['/first', '/second']);
        expect(seen.find((s) => s.url === '/first')!.body).toBe(body);
      }
    }
  });

  it.each([
    ['a control character in the reason', 'HTTP/1.1 200 O\x01K\r\nContent-Length: 2\r\n\r\nok'],
    ['a status below 100', 'HTTP/1.1 099 Weird\r\nContent-Length: 2\r\n\r\nok'],
    ['a status above 599', 'HTTP/1.1 999 Weird\r\nContent-Length: 2\r\n\r\nok'],
    ['a non-ASCII reason beyond latin-1', Buffer.concat([Buffer.from('HTTP/1.1 200 '), Buffer.from('☃', 'utf8'), Buffer.from('\r\nContent-Length: 2\r\n\r\nok')]).toString('latin1')],
  ])('answers 502 for an upstream response with %s, counts it against the upstream, and stays up', async (_name, raw) => {
    const bad = await new ScriptedUpstream(pingOr((_h, socket) => socket.write(Buffer.from(raw, 'latin1')))).start();
    const { lb } = await lbWith([bad]);
    const r = await request(lb.port, agent);
    expect([502, 200]).toContain(r.status);
    if (r.status === 200) expect(r.headers['x-upstream']).toBe('u0'); // a latin-1 reason Node can write is passed on
    else {
      expect(JSON.parse(r.body).code).toBe('LB_UPSTREAM_BAD_RESPONSE');
      expect(lb.pool.get('u0')!.failures).toBeGreaterThan(0);
    }
    expect((await rawExchange(lb.port, 'GET /__lb/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).text).toContain('"status"');
  });

  it('answers 502 to a request whose handling throws, and keeps serving (an exception ends one request, not the process)', async () => {
    const up = await new TestUpstream('a').start();
    const { lb } = await lbWith([up]);
    const pool = lb.pool as unknown as { acquire: (...a: unknown[]) => unknown };
    const real = pool.acquire.bind(lb.pool);
    let throwOnce = true;
    pool.acquire = (...a: unknown[]) => {
      if (throwOnce) {
        throwOnce = false;
        throw new Error('injected fault');
      }
      return real(...a);
    };
    const r = await request(lb.port, agent);
    expect(r.status).toBe(502);
    expect(JSON.parse(r.body).code).toBe('LB_INTERNAL');
    expect((await request(lb.port, agent)).status).toBe(200);
  });

  it('keeps the upstream timeout for requests with Expect: 100-continue', async () => {
    const hung = await new ScriptedUpstream(pingOr(() => {})).start();
    const { lb } = await lbWith([hung]);
    const began = Date.now();
    const r = await rawExchange(lb.port, 'POST /api HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}', 5000);
    expect(statuses(r.text)).toContain(504);
    expect(Date.now() - began).toBeLessThan(3000);
    // The upstream was not asked to send 100-continue: we hold the body already.
    expect(hung.received.join('')).not.toMatch(/expect:/i);
  });

  it('answers an upgrade the upstream does not take (or a malformed one) clearly and never leaves it in flight', async () => {
    const up = await new TestUpstream('a').start();
    const { lb, admin } = await lbWith([up]);
    const seen: Record<string, number[]> = {};
    for (const proto of ['websocket', 'h2c', 'anything']) {
      const r = await rawExchange(lb.port, `GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: ${proto}\r\n\r\n`);
      seen[proto] = statuses(r.text);
      expect(r.closed).toBe(true);
    }
    // A WebSocket handshake without Sec-WebSocket-Key is refused by the balancer itself; other
    // protocols go to the upstream, whose refusal (it answers a plain response, not 101) comes back.
    expect(seen.websocket).toEqual([400]);
    for (const proto of ['h2c', 'anything']) expect(seen[proto]).toHaveLength(1);
    expect(lb.pool.get('u0')!.inFlight).toBe(0);
    const drain = await admin.post('/upstreams/u0/drain?waitMs=1000');
    expect(drain.data.drained).toBe(true);
  });

  it('forwards no hop-by-hop header either way, keeps upstream connections pooled, and sets X-Forwarded-* itself', async () => {
    const up = await new ScriptedUpstream(
      pingOr((_h, socket) => socket.write('HTTP/1.1 200 OK\r\nConnection: X-Private\r\nX-Private: secret\r\nX-Public: yes\r\nContent-Length: 2\r\n\r\nok')),
    ).start();
    const { lb } = await lbWith([up]);
    for (let i = 0; i < 3; i++) {
      const r = await rawExchange(
        lb.port,
        'GET /api HTTP/1.1\r\nHost: front.test\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\nTE: trailers\r\nKeep-Alive: timeout=5\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.test\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n',
      );
      expect(statuses(r.text)).toEqual([200]);
      expect(r.text).toContain('X-Public: yes');
      expect(r.text).not.toMatch(/x-private/i);
    }
    const seen = up.received.join('').split('\r\n\r\n').filter((h) => h.startsWith('GET /api'));
    expect(seen).toHaveLength(3);
    for (const h of seen) {
      expect(h).not.toMatch(/^(x-hop|te|keep-alive):/im);
      expect(h).not.toMatch(/^connection: .*(close|x-hop)/im);
      expect(h).toMatch(/^x-forwarded-proto: http$/im);
      expect(h).toMatch(/^x-forwarded-host: front\.test$/im);
      expect(h).toMatch(/^x-forwarded-for: 127\.0\.0\.1$/im);
    }
    // The client's Connection: close is about its own connection: the upstream one stays pooled.
    const apiConnections = up.received.filter((r) => r.includes('GET /api')).length;
    expect(apiConnections).toBe(1);
  });

  it('shows only a bare status on the public /__lb/health', async () => {
    const up = await new TestUpstream('a').start();
    const { lb } = await lbWith([up]);
    const r = await request(lb.port, agent, { path: '/__lb/health' });
    expect(JSON.parse(r.body)).toEqual({ status: 'ok', inRotation: 1 });
    expect(r.body).not.toContain(up.url);
  });

  it('does not count a client that aborts its upload as a server error', async () => {
    const up = await new TestUpstream('a').start();
    const { lb, admin } = await lbWith([up]);
    await rawExchange(lb.port, 'POST /api HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\npartial', 200);
    await sleep(100);
    const metrics = (await admin.get('/metrics')).data as string;
    expect(metrics).toMatch(/lb_requests_total\{upstream="none",group="none",status_class="5xx"\} 0/);
    expect(metrics).toMatch(/lb_requests_total\{upstream="none",group="none",status_class="aborted"\} 1/);
  });

  it('tags every proxied response with the split generation that routed it (x-lb-split)', async () => {
    const up = await new TestUpstream('a').start();
    const { lb, admin } = await lbWith([up]);
    expect((await request(lb.port, agent)).headers['x-lb-split']).toBe('0');
    await admin.patch('/upstreams/u0', { group: 'blue' });
    const put = await admin.put('/split', { groups: [{ group: 'blue', weight: 100 }, { group: 'green', weight: 0 }] });
    expect(put.data.generation).toBe(1);
    expect((await admin.get('/split')).data).toEqual({ groups: [{ group: 'blue', weight: 100 }, { group: 'green', weight: 0 }], generation: 1 });
    expect((await request(lb.port, agent)).headers['x-lb-split']).toBe('1');
    expect((await admin.delete('/split')).data.generation).toBe(2);
    expect((await request(lb.port, agent)).headers['x-lb-split']).toBe('2');
  });

  it('proxies to and health-checks an IPv6 upstream', async () => {
    const server = http.createServer((req, res) => res.end(req.url === '/ping' ? 'pong' : 'v6'));
    await new Promise<void>((r) => server.listen(0, '::1', r));
    cleanup.push(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
    const port = (server.address() as { port: number }).port;
    const { lb } = await startLb(engine, [{ url: `http://[::1]:${port}`, name: `[::1]:${port}` }]);
    cleanup.push(() => lb.stop(1000));
    const r = await request(lb.port, agent);
    expect(r.status).toBe(200);
    expect(r.body).toBe('v6');
    expect(r.headers['x-upstream']).toBe(`[::1]:${port}`);
  });

  it('answers 408 and closes a request whose body stalls, and cuts one that trickles past the request timeout', async () => {
    const up = await new TestUpstream('a').start();
    const { lb } = await lbWith([up], { proxy: { bodyIdleTimeoutMs: 500, requestTimeoutMs: 2000, headerTimeoutMs: 1000 } });
    // Stalls: half the body, then nothing.
    const began = Date.now();
    const stalled = await rawExchange(lb.port, 'POST /api HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhalf', 5000);
    expect(statuses(stalled.text)).toEqual([408]);
    expect(stalled.closed).toBe(true);
    expect(Date.now() - began).toBeLessThan(3000);
    // Trickles one byte every 200 ms (never idle for 500 ms): the request timeout ends it.
    const socket = (await import('node:net')).connect(lb.port, '127.0.0.1');
    socket.on('error', () => {});
    let text = '';
    socket.on('data', (d) => (text += d.toString()));
    const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now() - t0)));
    const t0 = Date.now();
    socket.write('POST /api HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n');
    const drip = setInterval(() => socket.write('x'), 200);
    const after = await closed;
    clearInterval(drip);
    expect(after).toBeLessThan(5000);
    expect(statuses(text).every((s) => s === 408)).toBe(true);
    expect(lb.pool.get('u0')!.failures).toBe(0);
  });
});
