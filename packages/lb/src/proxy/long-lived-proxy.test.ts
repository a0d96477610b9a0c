import http from 'node:http';
import net from 'node:net';
import WebSocket from 'ws';
import { validateConfig } from '../config/validate-config';
import { LoadBalancer } from '../lb-server';
import { createLogger, silentLogger } from '../logger';
import { LongLivedUpstream } from '../test-support/long-lived-upstream';
import { waitFor } from '../test-support/test-upstream';

async function setup(proxy: Record<string, number | string> = {}, names = ['a', 'b']) {
  const ups = await Promise.all(names.map((n) => new LongLivedUpstream(n).start()));
  const config = validateConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      upstreams: ups.map((u) => ({ url: u.url, name: u.name })),
      healthCheck: { intervalMs: 100, timeoutMs: 50 },
      admin: { enabled: false },
      proxy: { longLivedGraceMs: 300, ...proxy },
    },
    'test',
  );
  const lb = new LoadBalancer(config, { log: process.env.DEBUG_LB ? createLogger('debug') : silentLogger });
  await lb.start();
  await waitFor(() => lb.pool.inRotation.length === ups.length, 2000, 'upstreams in rotation');
  return { ups, lb };
}

/** A WebSocket client through the balancer that records what it received and how it closed. */
function connect(port: number, path = '/ws', protocols: string[] = [], headers: Record<string, string> = {}) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, protocols, { headers });
  const messages: string[] = [];
  ws.on('message', (m) => messages.push(m.toString()));
  ws.on('error', () => {});
  const upgrade = new Promise<http.IncomingMessage>((resolve) => ws.once('upgrade', resolve));
  const hello = new Promise<{ instance: string }>((resolve, reject) => {
    ws.once('message', (m) => resolve(JSON.parse(m.toString())));
    ws.once('close', (code) => reject(new Error(`closed ${code} before hello`)));
  });
  hello.catch(() => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return { ws, messages, upgrade, hello, closed };
}

/** An event stream through the balancer: every complete event, and how the stream ended. */
function events(port: number, lastEventId?: string, path = '/events') {
  const got: { id?: string; event?: string; data?: string }[] = [];
  let headers: http.IncomingHttpHeaders = {};
  const ended = new Promise<'end' | 'error'>((resolve) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false, headers: lastEventId ? { 'last-event-id': lastEventId } : {} }, (res) => {
        headers = res.headers;
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          buf += c;
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const e: Record<string, string> = {};
            for (const line of buf.slice(0, i).split('\n')) {
              const m = /^(id|event|data): ?(.*)$/.exec(line);
              if (m) e[m[1]] = m[2];
            }
            buf = buf.slice(i + 2);
            if (e.data !== undefined) got.push(e);
          }
        });
        res.on('end', () => resolve('end'));
        res.on('error', () => resolve('error'));
      })
      .on('error', () => resolve('error'));
  });
  return { got, ended, headers: () => headers };
}

// Event streams come through the proxy engine: both engines (WebSockets are proxied apart).
describe.each(['http-proxy', 'undici'])('long-lived connections through the balancer (engine %s)', (engine) => {
  let env: Awaited<ReturnType<typeof setup>> | undefined;
  afterEach(async () => {
    if (!env) return;
    await env.lb.stop(2000);
    await Promise.all(env.ups.map((u) => u.kill()));
    env = undefined;
  });

  it('proxies a WebSocket: the upstream chosen, its subprotocol, messages both ways, counted in flight until closed', async () => {
    env = await setup({ engine });
    const c = connect(env.lb.port, '/ws', ['chat'], { 'keep-alive': 'timeout=5', cookie: 'k=v' });
    const res = await c.upgrade;
    const hello = await c.hello;
    expect(res.headers['x-upstream']).toBe(hello.instance);
    expect(c.ws.protocol).toBe('chat');
    const up = env.ups.find((u) => u.name === hello.instance)!;
    // Hop-by-hop headers stay behind, end-to-end ones are passed on, X-Forwarded-For is added.
    expect(up.lastUpgradeHeaders['keep-alive']).toBeUndefined();
    expect(up.lastUpgradeHeaders.cookie).toBe('k=v');
    expect(up.lastUpgradeHeaders['x-forwarded-for']).toBe('127.0.0.1');
    c.ws.send('m1');
    c.ws.send(Buffer.from([1, 2, 3]));
    await waitFor(() => c.messages.length === 3, 2000, 'echoes');
    expect(c.messages[1]).toBe('m1');
    expect(env.lb.pool.get(hello.instance)!.inFlight).toBe(1);
    c.ws.close(4000, 'bye');
    await c.closed;
    await waitFor(() => env!.lb.pool.get(hello.instance)!.inFlight === 0 && up.openWebSockets === 0, 2000, 'released');
  });

  it('drain: WebSockets get close frame 1012 and event streams a final event after the grace period; the drain counts them; reconnects go elsewhere', async () => {
    env = await setup({ engine });
    const a = env.lb.pool.get('a')!;
    // Connect until one WebSocket and one event stream are on "a".
    const sockets = [connect(env.lb.port), connect(env.lb.port)];
    const onA = (await Promise.all(sockets.map(async (s) => ({ s, hello: await s.hello })))).find((x) => x.hello.instance === 'a')!.s;
    const streams = [events(env.lb.port, '41'), events(env.lb.port, '41')];
    await waitFor(() => streams.every((s) => s.got.length >= 2), 2000, 'events');
    const streamOnA = streams.find((s) => s.headers()['x-upstream'] === 'a')!;
    expect(Number(streamOnA.got[0].id)).toBe(42);
    expect(a.inFlight).toBe(2);

    const result = await env.lb.control.drain(a.name, 5000);
    expect(result).toMatchObject({ drained: true, longLivedClosed: 2, longLivedCut: 0 });
    expect(result.waitedMs).toBeGreaterThanOrEqual(300);
    expect(await onA.closed).toEqual({ code: 1012, reason: 'upstream restarting, reconnect' });
    expect(await streamOnA.ended).toBe('end');
    const last = streamOnA.got[streamOnA.got.length - 1];
    expect(last.event).toBe('close');
    expect(last.id).toBeUndefined();
    // Every event before the final one is complete and numbered without a gap.
    const ids = streamOnA.got.slice(0, -1).map((e) => Number(e.id));
    expect(ids).toEqual(ids.map((_, i) => 42 + i));

    const again = connect(env.lb.port);
    expect((await again.hello).instance).toBe('b');
    const resumed = events(env.lb.port, String(ids[ids.length - 1]));
    await waitFor(() => resumed.got.length >= 1, 2000, 'resumed events');
    expect(Number(resumed.got[0].id)).toBe(ids[ids.length - 1] + 1);
    expect(resumed.headers()['x-upstream']).toBe('b');
    again.ws.close();
  });

  it('a subprotocol the upstream does not pick is passed on as none, not an error (as a browser accepts it)', async () => {
    env = await setup({ engine }, ['a']);
    const s = net.connect(env.lb.port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => (got += d.toString('latin1')));
    s.write('GET /ws HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-protocol: other\r\n\r\n');
    await waitFor(() => got.includes('hello'), 2000, 'hello');
    expect(got).toMatch(/^HTTP\/1.1 101/);
    expect(got.toLowerCase()).not.toContain('sec-websocket-protocol');
    s.destroy();
  });

  it('drain of an event stream caught in the middle of an event: the event is completed, then the final event', async () => {
    env = await setup({ engine, longLivedGraceMs: 0 }, ['a']);
    const stream = events(env.lb.port, undefined, '/events?splitMs=400');
    await waitFor(() => stream.got.length >= 1, 3000, 'a first event');
    // The next event's first half ("id: 2") is out within 20 ms; its data follows 400 ms later.
    await new Promise((r) => setTimeout(r, 100));
    const result = await env.lb.control.drain('a', 3000);
    expect(result).toMatchObject({ longLivedClosed: 1, longLivedCut: 0 });
    expect(await stream.ended).toBe('end');
    expect(stream.got.map((e) => `${e.id ?? '-'}:${e.event ?? 'message'}`)).toEqual(['1:message', '2:message', '-:close']);
    expect(result.waitedMs).toBeGreaterThanOrEqual(250);
  });

  it('an upgrade is retried on the next upstream when the first refuses the connection', async () => {
    env = await setup({ engine, maxUpgraded: 10 }, ['a', 'b']);
    await env.ups[0].kill();
    const hellos = [];
    for (let i = 0; i < 2; i++) {
      const c = connect(env.lb.port);
      hellos.push((await c.hello).instance);
      c.ws.close();
    }
    expect(hellos).toEqual(['b', 'b']);
  });

  it('an upstream that dies with WebSockets open: its clients see an abnormal close (1006)', async () => {
    env = await setup({ engine }, ['a']);
    const c = connect(env.lb.port);
    await c.hello;
    await env.ups[0].kill();
    expect((await c.closed).code).toBe(1006);
    await waitFor(() => env!.lb.pool.get('a')!.inFlight === 0, 2000, 'released');
  });

  it('passes an upstream refusal on; refuses upgrades beyond maxUpgraded with 503', async () => {
    env = await setup({ engine, maxUpgraded: 1 }, ['a']);
    const first = connect(env.lb.port);
    await first.hello;
    const second = new WebSocket(`ws://127.0.0.1:${env.lb.port}/ws`);
    second.on('error', () => {});
    expect(await new Promise((r) => second.once('unexpected-response', (_q, res) => r(res.statusCode)))).toBe(503);
    first.ws.close();
    await first.closed;
    await waitFor(() => env!.lb.pool.get('a')!.inFlight === 0, 2000, 'released');
    const refused = new WebSocket(`ws://127.0.0.1:${env.lb.port}/404`);
    refused.on('error', () => {});
    expect(await new Promise((r) => refused.once('unexpected-response', (_q, res) => r(res.statusCode)))).toBe(404);
  });

  it('pipes other Upgrade protocols raw; a drain can only cut them (counted as cut)', async () => {
    env = await setup({ engine }, ['a']);
    const s = net.connect(env.lb.port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => (got += d.toString('latin1')));
    const closed = new Promise((r) => s.once('close', r));
    s.write('GET /raw HTTP/1.1\r\nhost: x\r\nconnection: upgrade, x-hop\r\nx-hop: drop me\r\nte: trailers\r\nx-end: keep\r\nupgrade: echo/1\r\n\r\n');
    await waitFor(() => got.includes('\r\n\r\n'), 2000, '101');
    // Hop-by-hop headers (and those the client's Connection names) stay behind; the upgrade is re-created.
    const h = env.ups[0].lastUpgradeHeaders;
    expect([h['x-hop'], h.te, h['x-end'], h.upgrade, h.connection]).toEqual([undefined, undefined, 'keep', 'echo/1', 'upgrade']);
    expect(got).toMatch(/^HTTP\/1.1 101/);
    expect(got.toLowerCase()).toContain('x-upstream: a');
    s.write('ping-bytes');
    await waitFor(() => got.endsWith('ping-bytes'), 2000, 'echo');
    const result = await env.lb.control.drain('a', 2000);
    expect(result).toMatchObject({ drained: true, longLivedClosed: 0, longLivedCut: 1 });
    await closed;
  });
});

describe('hostile upgrade requests', () => {
  it('answers malformed handshakes and odd targets with 400, leaves nothing open, stays up', async () => {
    const env = await setup({}, ['a']);
    try {
      const send = (text: string) =>
        new Promise<string>((resolve) => {
          const s = net.connect(env.lb.port, '127.0.0.1');
          let got = '';
          s.on('data', (d) => (got += d.toString()));
          s.on('close', () => resolve(got));
          s.on('error', () => resolve(got));
          s.write(text);
        });
      const ws = (extra: string, target = '/ws') => `GET ${target} HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\n${extra}\r\n`;
      expect(await send(ws('sec-websocket-key: short\r\n'))).toMatch(/^HTTP\/1.1 400/);
      expect(await send(ws(''))).toMatch(/^HTTP\/1.1 400/);
      expect(await send(ws('sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n', 'http://[::1/x'))).toMatch(/^HTTP\/1.1 400/);
      // A subprotocol list the ws library refuses after the upstream accepted: the upstream side is closed too.
      expect(await send(ws('sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-protocol: a,,b\r\n'))).toMatch(/^HTTP\/1.1 400/);
      await waitFor(() => env.lb.pool.get('a')!.inFlight === 0 && env.ups[0].openWebSockets === 0, 2000, 'nothing left open');
      const ok = connect(env.lb.port);
      expect((await ok.hello).instance).toBe('a');
      ok.ws.close();
    } finally {
      await env.lb.stop(2000);
      await Promise.all(env.ups.map((u) => u.kill()));
    }
  });
});
