import axios from 'axios';
import { validateConfig } from '../config/validate-config';
import { LoadBalancer } from '../lb-server';
import { silentLogger } from '../logger';
import { TestUpstream, waitFor } from '../test-support/test-upstream';

// The lock and journal through the real admin API (authenticated like everything else).
describe('deploy lock on the admin API', () => {
  let lb: LoadBalancer;
  let ups: TestUpstream[];
  beforeAll(async () => {
    ups = await Promise.all(['a', 'b'].map((n) => new TestUpstream(n).start()));
    lb = new LoadBalancer(
      validateConfig({ listen: { host: '127.0.0.1', port: 0 }, admin: { port: 0 }, adminToken: 'tok', upstreams: ups.map((u) => ({ url: u.url, name: u.name })), healthCheck: { intervalMs: 100, timeoutMs: 50 } }, 'test'),
      { log: silentLogger },
    );
    await lb.start();
    await waitFor(() => lb.pool.inRotation.length === 2, 2000, 'both in rotation');
  });
  afterAll(async () => {
    await lb.stop();
    await Promise.all(ups.map((u) => u.kill()));
  });
  const admin = () => axios.create({ baseURL: `http://127.0.0.1:${lb.adminPort}`, headers: { authorization: 'Bearer tok' }, validateStatus: () => true });
  const body = { holder: { host: 'h', pid: 1, user: 'u' }, strategy: 'rolling', version: 'v2', leaseMs: 10_000 };

  it('needs the token', async () => {
    const anon = axios.create({ baseURL: `http://127.0.0.1:${lb.adminPort}`, validateStatus: () => true });
    expect((await anon.post('/deploy/lock', body)).status).toBe(401);
    expect((await anon.get('/deploy')).status).toBe(401);
  });

  it('validates the whole body at once', async () => {
    const r = await admin().post('/deploy/lock', { holder: { host: '', pid: -1 }, leaseMs: 5, extra: 1 });
    expect(r.status).toBe(400);
    expect(r.data.error.split('; ')).toEqual([
      'extra: unknown field (expected holder, strategy, version, leaseMs, takeOver, force)',
      'holder.host: expected a non-empty string',
      'holder.pid: expected a non-negative integer',
      'holder.user: expected a non-empty string',
      'strategy: expected a non-empty string',
      'version: expected a non-empty string',
      'leaseMs: expected an integer from 1000 to 600000',
    ]);
  });

  it('one holder at a time; journal beside it; calls under a lost lock are refused; changes outside a deploy are recorded', async () => {
    const a = await admin().post('/deploy/lock', body);
    expect(a.status).toBe(201);
    const id = a.data.lock.id as string;
    const b = await admin().post('/deploy/lock', { ...body, holder: { host: 'h2', pid: 2, user: 'v' } });
    expect(b.status).toBe(409);
    expect(b.data.code).toBe('LB_DEPLOY_LOCKED');
    expect(b.data.error).toMatch(/held by u@h \(pid 1\) since .*rolling deploy of v2/);
    expect((await admin().put('/deploy/journal', { id, journal: { steps: ['drain a'] } })).status).toBe(200);
    // Under the lock: allowed.
    expect((await admin().post('/upstreams/a/enable', {}, { headers: { 'x-deploy-lock': id } })).status).toBe(200);
    // Forced takeover: the first holder is fenced out and nothing changes.
    const f = await admin().post('/deploy/lock', { ...body, force: true });
    expect(f.data.lock.tookOverFrom).toMatchObject({ id, how: 'force' });
    const fenced = await admin().post('/upstreams/a/drain?waitMs=0', {}, { headers: { 'x-deploy-lock': id } });
    expect(fenced.status).toBe(409);
    expect(fenced.data.code).toBe('LB_DEPLOY_LOCK_LOST');
    expect(lb.pool.get('a')!.state).toBe('healthy');
    // An operator's change without the header works and shows up.
    expect((await admin().post('/upstreams/b/disable')).status).toBe(200);
    expect((await admin().post('/upstreams/b/enable')).status).toBe(200);
    const s = await admin().get('/deploy');
    expect(s.data.lock.id).toBe(f.data.lock.id);
    expect(s.data.journal).toMatchObject({ id, data: { steps: ['drain a'] } });
    expect(s.data.activity.map((x: { method: string; path: string; duringDeploy?: string }) => `${x.method} ${x.path} ${x.duringDeploy === f.data.lock.id}`)).toEqual([
      'POST /upstreams/b/disable true',
      'POST /upstreams/b/enable true',
    ]);
    expect(s.data.pages).toEqual([{ name: 'dashboard', url: '/dashboard' }]);
    expect((await admin().delete(`/deploy/lock?id=${f.data.lock.id}`)).status).toBe(200);
    expect((await admin().get('/deploy')).data.lock).toBeNull();
  });
});
