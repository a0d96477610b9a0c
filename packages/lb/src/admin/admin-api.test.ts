import http from 'node:http';
import axios, { type AxiosInstance } from 'axios';
import { validateConfig } from '../config/validate-config';
import { LoadBalancer } from '../lb-server';
import { silentLogger } from '../logger';
import { request, TestUpstream, waitFor } from '../test-support/test-upstream';

const TOKEN = 'test-token';

async function setup(token: string | null = TOKEN) {
  const ups = await Promise.all(['a', 'b'].map((n) => new TestUpstream(n).start()));
  const config = validateConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      admin: { port: 0 },
      upstreams: ups.map((u) => ({ url: u.url, name: u.name })),
      healthCheck: { intervalMs: 100, timeoutMs: 50 },
      ...(token ? { adminToken: token } : {}),
    },
    'test',
  );
  const lb = new LoadBalancer(config, { log: silentLogger });
  await lb.start();
  await waitFor(() => lb.pool.inRotation.length === 2, 2000, 'both in rotation');
  const admin = axios.create({ baseURL: `http://127.0.0.1:${lb.adminPort}`, headers: { authorization: `Bearer ${TOKEN}` }, validateStatus: () => true });
  return { ups, lb, admin, agent: new http.Agent({ keepAlive: true }) };
}

describe('admin API', () => {
  let env: Awaited<ReturnType<typeof setup>> | undefined;
  let extra: TestUpstream | undefined;
  afterEach(async () => {
    env?.agent.destroy();
    await env?.lb.stop();
    await Promise.all([...(env?.ups ?? []), ...(extra ? [extra] : [])].map((u) => u.kill()));
    env = extra = undefined;
  });

  it('refuses requests without the right bearer token, and changes nothing', async () => {
    env = await setup();
    const anon: AxiosInstance = axios.create({ baseURL: `http://127.0.0.1:${env.lb.adminPort}`, validateStatus: () => true });
    expect((await anon.get('/upstreams')).status).toBe(401);
    const wrong = await anon.post('/upstreams/a/drain', {}, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(wrong.data.code).toBe('LB_ADMIN_UNAUTHORIZED');
    expect(env.lb.pool.get('a')!.state).toBe('healthy');
  });

  it('refuses everything when no token is configured', async () => {
    env = await setup(null);
    const r = await env.admin.get('/upstreams');
    expect(r.status).toBe(401);
    expect(r.data.code).toBe('LB_ADMIN_NO_TOKEN');
  });

  it('lists upstreams with state and counters', async () => {
    env = await setup();
    await request(env.lb.port, env.agent);
    const r = await env.admin.get('/upstreams');
    expect(r.status).toBe(200);
    expect(r.data.inRotation).toEqual(['a', 'b']);
    expect(r.data.upstreams[0]).toMatchObject({ name: 'a', state: 'healthy', inFlight: 0, failures: 0 });
    expect(r.data.upstreams[0].requests + r.data.upstreams[1].requests).toBe(1);
  });

  it('drains an upstream: no new requests, waits for in-flight ones, says whether it drained', async () => {
    env = await setup();
    env.ups[0].latencyMs = 300;
    env.ups[1].latencyMs = 300;
    const slow = [request(env.lb.port, env.agent), request(env.lb.port, env.agent)];
    await waitFor(() => env!.lb.pool.get('a')!.inFlight === 1, 1000, 'a request in flight on a');
    const drain = await env.admin.post('/upstreams/a/drain?waitMs=2000');
    expect(drain.status).toBe(200);
    expect(drain.data).toMatchObject({ state: 'draining', drained: true, inFlight: 0 });
    expect(drain.data.waitedMs).toBeGreaterThan(100);
    expect((await Promise.all(slow)).map((r) => r.status)).toEqual([200, 200]);
    const hitsBefore = env.ups[0].hits;
    for (let i = 0; i < 4; i++) expect((await request(env.lb.port, env.agent)).status).toBe(200);
    expect(env.ups[0].hits).toBe(hitsBefore);
    // A drain that times out says so.
    env.ups[1].latencyMs = 500;
    const pending = request(env.lb.port, env.agent);
    await waitFor(() => env!.lb.pool.get('b')!.inFlight === 1, 1000, 'a request in flight on b');
    const timedOut = await env.admin.post('/upstreams/b/drain', { waitMs: 50 });
    expect(timedOut.data).toMatchObject({ drained: false, inFlight: 1 });
    expect((await pending).status).toBe(200);
    const enabled = await env.admin.post('/upstreams/a/enable');
    expect(enabled.data.state).toBe('healthy');
  });

  it('adds an upstream disabled, reports it healthy without traffic, enables it, then removes it', async () => {
    env = await setup();
    extra = await new TestUpstream('c').start();
    const add = await env.admin.post('/upstreams', { url: extra.url, name: 'c', enabled: false });
    expect(add.status).toBe(201);
    expect(add.data).toMatchObject({ name: 'c', state: 'disabled' });
    await waitFor(() => env!.lb.pool.get('c')!.health === 'healthy', 2000, 'c healthy');
    expect((await env.admin.get('/upstreams/c')).data).toMatchObject({ state: 'disabled', health: 'healthy' });
    for (let i = 0; i < 4; i++) await request(env.lb.port, env.agent);
    expect(extra.hits).toBe(0);
    await env.admin.post('/upstreams/c/enable');
    for (let i = 0; i < 6; i++) await request(env.lb.port, env.agent);
    expect(extra.hits).toBe(2);
    const del = await env.admin.delete('/upstreams/c');
    expect(del.status).toBe(200);
    expect(del.data).toMatchObject({ removed: 'c', drained: true });
    expect((await env.admin.get('/upstreams/c')).status).toBe(404);
  });

  it.each([
    ['missing url', { name: 'x' }, 'url: missing'],
    ['bad url', { url: 'ftp://x' }, 'url: "ftp://x": only http:// upstreams are supported'],
    ['unknown field', { url: 'http://x:1', colour: 3 }, 'colour: unknown key (expected one of: url, name, enabled, group, weight, version)'],
    ['bad enabled', { url: 'http://x:1', enabled: 'yes' }, 'enabled: expected true or false'],
  ])('rejects an add with %s (400) and adds nothing', async (_n, body, message) => {
    env = env ?? (await setup());
    const r = await env.admin.post('/upstreams', body);
    expect(r.status).toBe(400);
    expect(r.data.error).toBe(message);
    expect(env.lb.pool.all().map((u) => u.name)).toEqual(['a', 'b']);
  });

  it('answers 404 for an unknown upstream, 409 for a duplicate, 400 for bad JSON or a bad wait', async () => {
    env = await setup();
    expect((await env.admin.post('/upstreams/zz/drain')).status).toBe(404);
    expect((await env.admin.post('/upstreams', { url: env.ups[0].url })).status).toBe(409);
    const badJson = await env.admin.post('/upstreams', '{"url":', { headers: { 'content-type': 'application/json' } });
    expect(badJson.status).toBe(400);
    const badWait = await env.admin.post('/upstreams/a/drain?waitMs=-5');
    expect(badWait.status).toBe(400);
    expect(env.lb.pool.get('a')!.state).toBe('healthy');
  });
});
