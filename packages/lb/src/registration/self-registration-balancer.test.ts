import http from 'node:http';
import { validateConfig } from '../config/validate-config';
import { LoadBalancer } from '../lb-server';
import { createLogger, silentLogger } from '../logger';
import { request, TestUpstream, waitFor } from '../test-support/test-upstream';

const ADMIN = 'admin-secret';
const REG = 'registration-secret';

async function setup(registration: Record<string, number> = {}) {
  const fixed = await new TestUpstream('fixed').start();
  const config = validateConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      upstreams: [{ url: fixed.url, name: 'fixed' }],
      healthCheck: { intervalMs: 100, timeoutMs: 50 },
      admin: { host: '127.0.0.1', port: 0 },
      registration,
      adminToken: ADMIN,
      registrationToken: REG,
    },
    'test',
  );
  const lb = new LoadBalancer(config, { log: process.env.DEBUG_LB ? createLogger('debug') : silentLogger });
  await lb.start();
  await waitFor(() => lb.pool.inRotation.length === 1, 2000, 'fixed in rotation');
  const call = async (method: string, path: string, token: string, body?: unknown) => {
    const r = await fetch(`http://127.0.0.1:${lb.adminPort}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    return { status: r.status, body: (text.startsWith('{') ? JSON.parse(text) : text) as Record<string, unknown> };
  };
  return { lb, fixed, call };
}

describe('self-registration on the balancer (real admin API, real loopback upstreams)', () => {
  let env: Awaited<ReturnType<typeof setup>> | undefined;
  const ups: TestUpstream[] = [];
  const agent = new http.Agent({ keepAlive: true });
  afterEach(async () => {
    await env?.lb.stop();
    await env?.fixed.kill();
    env = undefined;
    await Promise.all(ups.splice(0).map((u) => u.kill()));
  });
  afterAll(() => agent.destroy());

  it('answers the registration token with 403 on every other admin operation, and changes nothing', async () => {
    env = await setup();
    const { call, lb } = env;
    const inst = await new TestUpstream('inst').start();
    ups.push(inst);
    const reg = await call('POST', '/registrations', REG, { url: inst.url, name: 'inst', group: 'canary' });
    expect(reg.status).toBe(201);
    await waitFor(() => lb.pool.inRotation.length === 2, 2000, 'registered instance in rotation');

    const forbidden: Array<[string, string, unknown?]> = [
      ['GET', '/upstreams'],
      ['PUT', '/split', { groups: [{ group: 'canary', weight: 100 }] }],
      ['DELETE', '/split'],
      ['POST', '/deploy/lock', { owner: 'x' }],
      ['DELETE', '/deploy/lock'],
      ['POST', '/upstreams/fixed/drain'],
      ['DELETE', '/upstreams/fixed'],
      ['POST', '/upstreams/fixed/disable'],
      ['POST', '/upstreams/fixed/enable'],
      ['PATCH', '/upstreams/fixed', { weight: 0 }],
      ['PATCH', '/upstreams/inst', { weight: 5 }], // even its own entry: only /registrations is open to it
      ['POST', '/upstreams', { url: 'http://127.0.0.1:1', name: 'other' }],
      ['GET', '/metrics'],
    ];
    for (const [method, path, body] of forbidden) {
      const r = await call(method, path, REG, body);
      expect({ method, path, status: r.status, body: r.body }).toEqual({
        method,
        path,
        status: 403,
        body: { error: 'the registration token can only manage its own registration', code: 'LB_ADMIN_FORBIDDEN' },
      });
    }
    const list = await call('GET', '/upstreams', ADMIN);
    expect(list.body.split).toBeNull();
    expect((list.body.upstreams as Array<{ name: string; state: string; weight: number }>).map((u) => [u.name, u.state, u.weight])).toEqual([
      ['fixed', 'healthy', 1],
      ['inst', 'healthy', 1],
    ]);
    expect((await call('GET', '/deploy', ADMIN)).body).toEqual(expect.objectContaining({ lock: null }));
    // A wrong token is still 401, and the admin token does not open /registrations.
    expect((await call('GET', '/upstreams', 'nope')).status).toBe(401);
    expect((await call('POST', '/registrations', ADMIN, { url: 'http://127.0.0.1:2' })).status).toBe(401);
  });

  it('adds a registered instance out of rotation until a health check passes; an expired lease drains and removes it', async () => {
    env = await setup({ leaseMs: 600, heartbeatMs: 200 });
    const { call, lb } = env;
    const inst = await new TestUpstream('inst').start();
    ups.push(inst);
    await inst.kill(); // registered before it answers: health checks keep it out
    const reg = await call('POST', '/registrations', REG, { url: inst.url, version: 'v7' });
    expect(reg.body).toEqual({ id: expect.any(String), name: `127.0.0.1:${inst.port}`, leaseMs: 600, heartbeatMs: 200 });
    const name = reg.body.name as string;
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 150));
      await call('PUT', `/registrations/${reg.body.id}`, REG);
    }
    expect(lb.pool.get(name)?.snapshot()).toEqual(expect.objectContaining({ state: 'unhealthy', version: 'v7' }));
    expect(lb.pool.get(name)?.snapshot().lastCheck).not.toBe('pending');
    expect(lb.pool.inRotation.map((u) => u.name)).toEqual(['fixed']);
    await inst.start();
    await waitFor(() => lb.pool.inRotation.length === 2, 2000, 'in rotation after its first passing check');

    // Renewed: stays in over several lease periods.
    for (let i = 0; i < 8; i++) {
      expect((await call('PUT', `/registrations/${reg.body.id}`, REG)).body).toEqual({ name, expiresInMs: 600 });
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(lb.pool.get(name)?.state).toBe('healthy');
    // Not renewed: gone, and the lease says why.
    await waitFor(() => lb.pool.get(name) === undefined, 3000, 'removed after the lease expired');
    const late = await call('PUT', `/registrations/${reg.body.id}`, REG);
    expect(late.status).toBe(404);
    expect(late.body.error).toMatch(/expired/);
  });

  it('the drain handshake waits for a 2 s request in flight (it completes 200), then the instance leaves', async () => {
    env = await setup();
    const { call, lb } = env;
    const inst = await new TestUpstream('inst').start();
    ups.push(inst);
    const reg = await call('POST', '/registrations', REG, { url: inst.url, name: 'inst', group: 'solo' });
    await waitFor(() => lb.pool.inRotation.length === 2, 2000, 'in rotation');
    await call('PUT', '/split', ADMIN, { groups: [{ group: 'solo', weight: 100 }] }); // every request to the instance
    inst.latencyMs = 2000;
    const order: string[] = [];
    const slow = request(lb.port, agent).then((r) => (order.push('request'), r));
    await waitFor(() => lb.pool.get('inst')?.inFlight === 1, 1000, 'request in flight');
    const drain = await call('POST', `/registrations/${reg.body.id}/drain?waitMs=10000`, REG).then((r) => (order.push('drain'), r));
    expect(drain.body).toEqual(expect.objectContaining({ name: 'inst', drained: true, inFlight: 0 }));
    expect(drain.body.waitedMs).toBeGreaterThan(1000);
    expect(order).toEqual(['request', 'drain']);
    const r = await slow;
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).instance).toBe('inst');
    expect((await call('DELETE', `/registrations/${reg.body.id}?waitMs=0`, REG)).body).toEqual(expect.objectContaining({ removed: 'inst', drained: true }));
    expect(lb.pool.get('inst')).toBeUndefined();
  });

  it('an upstream removed through the admin API ends its lease', async () => {
    env = await setup();
    const { call, lb } = env;
    const inst = await new TestUpstream('inst').start();
    ups.push(inst);
    const reg = await call('POST', '/registrations', REG, { url: inst.url, name: 'inst' });
    expect(lb.leases.size).toBe(1);
    expect((await call('DELETE', '/upstreams/inst?waitMs=0', ADMIN)).status).toBe(200);
    expect(lb.leases.size).toBe(0);
    const r = await call('PUT', `/registrations/${reg.body.id}`, REG);
    // A code of its own, so the instance can tell an operator's removal from an expired lease.
    expect(r).toEqual({ status: 404, body: { error: 'lease ended: the upstream was removed through the admin API (DELETE /upstreams/:name)', code: 'LB_LEASE_REMOVED' } });
    // Its name is free again.
    expect((await call('POST', '/registrations', REG, { url: inst.url, name: 'inst' })).status).toBe(201);
  });
});
