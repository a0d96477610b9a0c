import http from 'node:http';
import axios from 'axios';
import { validateConfig } from '../config/validate-config';
import { LoadBalancer } from '../lb-server';
import { silentLogger } from '../logger';
import { request, sleep, TestUpstream, waitFor } from '../test-support/test-upstream';

const TOKEN = 'tok';

async function setup() {
  const ups = await Promise.all(['a', 'b'].map((n) => new TestUpstream(n).start()));
  const config = validateConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      admin: { port: 0 },
      adminToken: TOKEN,
      upstreams: ups.map((u) => ({ url: u.url, name: u.name })),
      healthCheck: { intervalMs: 100, timeoutMs: 50 },
    },
    'test',
  );
  const lb = new LoadBalancer(config, { log: silentLogger });
  await lb.start();
  await waitFor(() => lb.pool.inRotation.length === 2, 2000, 'both in rotation');
  const admin = axios.create({ baseURL: `http://127.0.0.1:${lb.adminPort}`, headers: { authorization: `Bearer ${TOKEN}` }, validateStatus: () => true });
  return { ups, lb, admin };
}

describe('admin API hardening', () => {
  let env: Awaited<ReturnType<typeof setup>> | undefined;
  afterEach(async () => {
    await env?.lb.stop(1000);
    await Promise.all((env?.ups ?? []).map((u) => u.kill()));
    env = undefined;
  });

  it('refuses upstream names that are not valid header values, by the same rule as the YAML file', async () => {
    env = await setup();
    for (const name of ['snow\u2603man', 'a\nb', 'tab\there', 'sp ace', '', 'x'.repeat(256)]) {
      const r = await env.admin.post('/upstreams', { url: 'http://127.0.0.1:1', name });
      expect({ name, status: r.status }).toEqual({ name, status: 400 });
      expect(r.data.error).toMatch(/^name: /);
    }
    expect((await env.admin.post('/upstreams', { url: 'http://127.0.0.1:1', group: 'bad group' })).data.error).toMatch(/^group: may contain only/);
    expect((await env.admin.post('/upstreams', { url: 'http://127.0.0.1:1', weight: 1.5 })).data.error).toBe('weight: expected an integer from 0 to 1000000, got 1.5');
    expect(env.lb.pool.all().map((u) => u.name)).toEqual(['a', 'b']);
    // The same backend spelled differently is one backend.
    const port = env.ups[0].port;
    expect((await env.admin.post('/upstreams', { url: `http://localhost:${port}`, name: 'again' })).status).toBe(409);
  });

  it('answers 415 to a change whose body is not JSON (instead of 200 having done nothing)', async () => {
    env = await setup();
    const r = await env.admin.patch('/upstreams/a', 'weight=5', { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(r.status).toBe(415);
    expect(r.data.code).toBe('LB_ADMIN_UNSUPPORTED_MEDIA_TYPE');
  });

  it('refuses a split that gives traffic to a group no upstream is in; weight 0 for it is fine', async () => {
    env = await setup();
    const r = await env.admin.put('/split', { groups: [{ group: 'ghost', weight: 50 }, { group: 'default', weight: 50 }] });
    expect(r.status).toBe(409);
    expect(r.data.code).toBe('LB_ADMIN_EMPTY_GROUP');
    expect(env.lb.pool.split).toBeUndefined();
    expect((await env.admin.put('/split', { groups: [{ group: 'default', weight: 100 }, { group: 'green', weight: 0 }] })).status).toBe(200);
  });

  it('under load, a pending removal wins over a later enable (409): no request in flight is cut, none fails', async () => {
    env = await setup();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
    const results: number[] = [];
    let stop = false;
    // GETs and POSTs that each take 300 ms upstream, from 20 concurrent clients.
    env.ups.forEach((u) => (u.latencyMs = 300));
    const client = async (i: number) => {
      while (!stop) {
        const r = await request(env!.lb.port, agent, i % 2 ? { method: 'POST', body: '{"n":1}' } : {}).catch(() => ({ status: 0 }));
        results.push(r.status);
      }
    };
    const clients = Array.from({ length: 20 }, (_, i) => client(i));
    await sleep(700);
    const removal = env.admin.delete('/upstreams/a?waitMs=5000');
    await waitFor(() => env!.lb.pool.get('a')?.admin === 'draining', 2000, 'a draining');
    await sleep(100);
    const enable = await env.admin.post('/upstreams/a/enable');
    expect(enable.status).toBe(409);
    expect(enable.data.code).toBe('LB_ADMIN_REMOVAL_PENDING');
    expect((await env.admin.post('/upstreams/a/drain?waitMs=0')).status).toBe(409);
    expect((await env.admin.patch('/upstreams/a', { weight: 5 })).status).toBe(409);
    const removed = await removal;
    expect(removed.status).toBe(200);
    expect(removed.data).toMatchObject({ removed: 'a', drained: true, inFlight: 0 });
    await sleep(500);
    stop = true;
    await Promise.all(clients);
    agent.destroy();
    expect(results.length).toBeGreaterThan(60);
    expect(results.filter((s) => s !== 200)).toEqual([]);
    expect(env.lb.pool.all().map((u) => u.name)).toEqual(['b']);
  });

  it('ends a drain when the upstream is enabled meanwhile (the later decision stands), and says so', async () => {
    env = await setup();
    env.ups[0].latencyMs = 800;
    const agent = new http.Agent({ keepAlive: true });
    const inFlight = Promise.all([request(env.lb.port, agent), request(env.lb.port, agent)]);
    await waitFor(() => env!.lb.pool.get('a')!.inFlight === 1, 2000, 'a request on a');
    const drain = env.admin.post('/upstreams/a/drain?waitMs=5000');
    await sleep(100);
    expect((await env.admin.post('/upstreams/a/enable')).data.state).toBe('healthy');
    const d = await drain;
    expect(d.data).toMatchObject({ drained: false, cancelled: true, admin: 'active' });
    await inFlight;
    agent.destroy();
  });
});
