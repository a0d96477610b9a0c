import diagnostics from 'node:diagnostics_channel';
import http from 'node:http';
import { validateConfig } from './config/validate-config';
import { LoadBalancer } from './lb-server';
import { createLogger, silentLogger } from './logger';
import { ScriptedUpstream } from './test-support/raw-http';
import { BIG_BODY, request, sleep, TestUpstream, waitFor } from './test-support/test-upstream';

const INTERVAL = 100;

/** Every test runs on both proxy engines (http-proxy, the default, and undici). */
const ENGINES = ['http-proxy', 'undici'] as const;
type Engine = (typeof ENGINES)[number];

async function setup(engine: Engine, names = ['a', 'b'], proxy: Record<string, unknown> = {}) {
  const ups = await Promise.all(names.map((n) => new TestUpstream(n).start()));
  const config = validateConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      upstreams: ups.map((u) => ({ url: u.url, name: u.name })),
      healthCheck: { intervalMs: INTERVAL, timeoutMs: 50 },
      proxy: { engine, ...proxy },
      admin: { enabled: false },
    },
    'test',
  );
  const lb = new LoadBalancer(config, { log: process.env.DEBUG_LB ? createLogger('debug') : silentLogger });
  await lb.start();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
  await waitFor(() => lb.pool.inRotation.length === ups.length, 2000, 'all upstreams in rotation');
  return { ups, lb, agent };
}

const instanceOf = (r: { body: string }) => (JSON.parse(r.body) as { instance: string }).instance;

describe.each(ENGINES)('LoadBalancer on real loopback sockets (engine %s)', (engine) => {
  let env: Awaited<ReturnType<typeof setup>> | undefined;
  afterEach(async () => {
    if (!env) return;
    env.agent.destroy();
    await env.lb.stop();
    await Promise.all(env.ups.map((u) => u.kill()));
    env = undefined;
  });

  it('alternates requests between the upstreams and names the one that answered', async () => {
    env = await setup(engine);
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await request(env.lb.port, env.agent));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const names = answers.map(instanceOf);
    expect(new Set([names[0], names[1]])).toEqual(new Set(['a', 'b']));
    for (let i = 2; i < 6; i++) expect(names[i]).toBe(names[i - 2]);
    expect(answers.map((r) => r.headers['x-upstream'])).toEqual(names.map((n) => env!.ups.find((u) => u.name === n)!.name));
    expect(JSON.parse(answers[0].body).xff).toBe('127.0.0.1');
  });

  it('passes the upstream response through: status, message, repeated headers, chunked body; hop-by-hop headers stay behind', async () => {
    env = await setup(engine, ['a']);
    const r = await new Promise<http.IncomingMessage & { body: string }>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: env!.lb.port, path: '/headers', agent: env!.agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(Object.assign(res, { body })));
      }).on('error', reject);
    });
    expect(r.statusCode).toBe(201);
    expect(r.statusMessage).toBe('Made');
    expect(r.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(r.headers['x-custom']).toBe('a');
    expect(r.headers['x-upstream']).toBe('a');
    // The upstream's Connection/Keep-Alive describe its connection to us; the client's connection
    // to us is ours to describe (Node's server: keep-alive, our 65 s idle timeout).
    expect(r.headers['keep-alive']).toBe('timeout=65');
    expect(r.headers.connection).toBe('keep-alive');
    expect(r.headers['transfer-encoding']).toBe('chunked');
    expect(r.body).toBe('part 1, part 2');
  });

  it('relays a large body intact to a client that stops reading for a while (backpressure)', async () => {
    env = await setup(engine, ['a']);
    const body = await new Promise<Buffer>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: env!.lb.port, path: '/big', agent: env!.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.pause();
        // Socket buffers fill while the client reads nothing; then it reads everything.
        setTimeout(() => {
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks)));
          res.resume();
        }, 300);
        res.on('error', reject);
      }).on('error', reject);
    });
    expect(body.length).toBe(BIG_BODY.length);
    expect(body.equals(BIG_BODY)).toBe(true);
    // The upstream connection went back to the pool: the next request is answered.
    expect((await request(env.lb.port, env.agent)).status).toBe(200);
  });

  it('does not take a connection that opened while the balancer was stalled for one that hangs (connect timer after a stall)', async () => {
    env = await setup(engine, ['a'], { connectTimeoutMs: 50 });
    // The process stalls (a starved machine) for 4× the connect timeout just as a connection to the
    // upstream starts: the kernel completes it meanwhile, and when the loop runs again the connect
    // timer is due in the same turn as the connection's completion.
    const stall = () => {
      const until = performance.now() + 200;
      while (performance.now() < until);
    };
    diagnostics.subscribe('undici:client:beforeConnect', stall);
    diagnostics.subscribe('net.client.socket', stall);
    let r;
    try {
      r = await request(env.lb.port, env.agent);
    } finally {
      diagnostics.unsubscribe('undici:client:beforeConnect', stall);
      diagnostics.unsubscribe('net.client.socket', stall);
    }
    expect(r.status).toBe(200);
    expect(env.lb.pool.inRotation).toHaveLength(1);
  });

  it('proxies POST bodies intact', async () => {
    env = await setup(engine);
    const r = await request(env.lb.port, env.agent, { method: 'POST', body: '{"hello":"world"}' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ method: 'POST', body: '{"hello":"world"}' });
  });

  it('answers 503 at once with a JSON reason when no upstream is in rotation', async () => {
    env = await setup(engine, ['a']);
    await env.ups[0].kill();
    await waitFor(() => env!.lb.pool.inRotation.length === 0, 2000, 'upstream to leave rotation');
    const started = Date.now();
    const r = await request(env.lb.port, env.agent);
    expect(Date.now() - started).toBeLessThan(500);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body)).toEqual({ error: 'no healthy upstream in rotation', code: 'LB_NO_UPSTREAM' });
  });

  it('loses no request when an upstream dies: failover until 3 failed pings take it out, then back after it returns', async () => {
    env = await setup(engine);
    const { lb, agent, ups } = env;
    const [a] = ups;
    let stop = false;
    const results: { status: number; instance?: string; error?: string }[] = [];
    // Steady concurrent GETs over keep-alive connections. (An abrupt kill can cut a POST the upstream
    // was already processing; no proxy can retry that safely. Graceful stops are tested with POSTs.)
    const worker = async () => {
      while (!stop) {
        try {
          const r = await request(lb.port, agent);
          results.push({ status: r.status, instance: r.status === 200 ? instanceOf(r) : undefined });
        } catch (err) {
          results.push({ status: 0, error: String(err) });
        }
      }
    };
    const workers = Array.from({ length: 8 }, () => worker());
    await sleep(200);
    const killedAt = Date.now();
    await a.kill();
    const outAfter = await waitFor(() => lb.pool.get(a.name)!.state === 'unhealthy', 3000, 'a to leave rotation');
    await sleep(300);
    const countAtRestart = results.length;
    await a.start();
    const backAfter = await waitFor(() => lb.pool.get(a.name)!.inRotation, 3000, 'a to come back');
    await sleep(300);
    stop = true;
    await Promise.all(workers);

    const failed = results.filter((r) => r.status !== 200);
    expect(failed).toEqual([]);
    expect(results.length).toBeGreaterThan(100);
    // Within 3 ping intervals (+ one in flight); passive failures may take it out sooner.
    expect(outAfter).toBeLessThanOrEqual(4 * INTERVAL + 100);
    expect(backAfter).toBeLessThanOrEqual(INTERVAL + 100);
    expect(Date.now() - killedAt).toBeGreaterThan(0);
    const afterRestart = results.slice(countAtRestart).map((r) => r.instance);
    expect(afterRestart).toContain('a');
  });

  it('retries a GET whose pooled connection is dead on another upstream', async () => {
    env = await setup(engine);
    const { lb, agent, ups } = env;
    // Warm pooled sockets to both, then kill one between checks: its sockets are now dead.
    for (let i = 0; i < 4; i++) await request(lb.port, agent);
    await ups[0].kill();
    const results = await Promise.all(Array.from({ length: 10 }, () => request(lb.port, agent)));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(results.map(instanceOf)).toEqual(Array(10).fill('b'));
  });

  it('gives a GET waiting on an upstream that goes silent back to another upstream once that one is declared dead', async () => {
    // "hung" accepts requests and never answers them; then its pings stop being answered too (a
    // host gone without RST): health checks time out, it is declared dead and its connections
    // evicted, and the GET waiting there is retried on "b" well before the upstream timeout.
    let gone = false;
    const hung = await new ScriptedUpstream((head, socket) => {
      if (!gone && head.startsWith('GET /ping ')) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\npong');
    }).start();
    const b = await new TestUpstream('b').start();
    const config = validateConfig(
      {
        listen: { host: '127.0.0.1', port: 0 },
        upstreams: [{ url: hung.url, name: 'hung' }, { url: b.url, name: 'b' }],
        healthCheck: { intervalMs: INTERVAL, timeoutMs: 50 },
        proxy: { engine, upstreamTimeoutMs: 20_000 },
        admin: { enabled: false },
      },
      'test',
    );
    const lb = new LoadBalancer(config, { log: silentLogger });
    await lb.start();
    env = { ups: [b], lb, agent: new http.Agent({ keepAlive: true }) };
    try {
      await waitFor(() => lb.pool.inRotation.length === 2, 2000, 'both upstreams in rotation');
      // Round robin: of two GETs, one waits on "hung".
      const pending = [request(lb.port, env.agent), request(lb.port, env.agent)];
      await waitFor(() => lb.pool.get('hung')!.inFlight === 1, 2000, 'a GET waiting on hung');
      gone = true;
      const began = Date.now();
      const results = await Promise.all(pending);
      expect(results.map((r) => r.status)).toEqual([200, 200]);
      expect(results.map(instanceOf)).toEqual(['b', 'b']);
      expect(lb.pool.get('hung')!.state).toBe('unhealthy');
      expect(Date.now() - began).toBeLessThan(5000);
    } finally {
      await hung.stop();
    }
  });

  it('does not abort a GET waiting on the last upstream in rotation when its checks time out (nowhere else to go): it gets the late answer', async () => {
    // "slow" stops answering for 1.5 s (pings included, as on a starved machine): its checks time
    // out, it is declared dead; with no other upstream, the waiting GET is left to its own timers.
    let slowUntil = 0;
    const slow = await new ScriptedUpstream((head, socket) => {
      const answer = () =>
        socket.write(head.startsWith('GET /ping ') ? 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\npong' : 'HTTP/1.1 200 OK\r\nContent-Length: 19\r\n\r\n{"instance":"slow"}');
      const wait = slowUntil - Date.now();
      if (wait > 0) setTimeout(answer, wait);
      else answer();
    }).start();
    const config = validateConfig(
      {
        listen: { host: '127.0.0.1', port: 0 },
        upstreams: [{ url: slow.url, name: 'slow' }],
        healthCheck: { intervalMs: INTERVAL, timeoutMs: 50 },
        proxy: { engine, upstreamTimeoutMs: 20_000 },
        admin: { enabled: false },
      },
      'test',
    );
    const lb = new LoadBalancer(config, { log: silentLogger });
    await lb.start();
    env = { ups: [], lb, agent: new http.Agent({ keepAlive: true }) };
    try {
      await waitFor(() => lb.pool.inRotation.length === 1, 2000, 'slow in rotation');
      slowUntil = Date.now() + 1500;
      const pending = request(lb.port, env.agent);
      await waitFor(() => lb.pool.get('slow')!.state === 'unhealthy', 3000, 'slow declared dead by its checks');
      const r = await pending;
      expect(r.status).toBe(200);
      expect(instanceOf(r)).toBe('slow');
    } finally {
      await slow.stop();
    }
  });

  it('answers 504 when the upstream does not answer in time', async () => {
    const ups = [await new TestUpstream('slow').start()];
    ups[0].latencyMs = 1000;
    const config = validateConfig(
      { listen: { host: '127.0.0.1', port: 0 }, upstreams: [ups[0].url], healthCheck: { intervalMs: INTERVAL, timeoutMs: 50 }, proxy: { engine, upstreamTimeoutMs: 200 }, admin: { enabled: false } },
      'test',
    );
    const lb = new LoadBalancer(config, { log: silentLogger });
    await lb.start();
    env = { ups, lb, agent: new http.Agent({ keepAlive: true }) };
    await waitFor(() => lb.pool.inRotation.length === 1, 2000, 'upstream in rotation');
    const r = await request(lb.port, env.agent);
    expect(r.status).toBe(504);
    expect(JSON.parse(r.body).code).toBe('LB_UPSTREAM_TIMEOUT');
  });
});

describe('the connect timer on a new upstream socket', () => {
  it('leaves no listener of ours on the kept-alive socket once connected (it would hold the first request for the socket\'s life)', async () => {
    const env = await setup('http-proxy', ['a']);
    try {
      // A bare keep-alive agent's socket after one request: the listeners Node itself keeps there.
      const bare = new http.Agent({ keepAlive: true });
      await request(Number(new URL(env.ups[0].url).port), bare);
      const bareSocket = Object.values(bare.freeSockets).flat()[0]!;
      expect((await request(env.lb.port, env.agent)).status).toBe(200);
      const upstream = env.lb.pool.inRotation[0];
      await waitFor(() => Object.values(upstream.agent.freeSockets).flat().length > 0, 2000, 'the upstream socket back in the free list');
      const socket = Object.values(upstream.agent.freeSockets).flat()[0]!;
      expect(socket.listenerCount('connect')).toBe(bareSocket.listenerCount('connect'));
      expect(socket.listenerCount('close')).toBe(bareSocket.listenerCount('close'));
      bare.destroy();
    } finally {
      env.agent.destroy();
      await env.lb.stop();
      await Promise.all(env.ups.map((u) => u.kill()));
    }
  });
});
