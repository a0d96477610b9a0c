import http from 'node:http';
import axios, { type AxiosInstance } from 'axios';
import { validateConfig } from '../config/validate-config';
import { LoadBalancer } from '../lb-server';
import { silentLogger } from '../logger';
import { TestUpstream, waitFor } from '../test-support/test-upstream';

// Traffic split through the admin API, measured on real loopback sockets.
describe('traffic split: canary shares, sticky users, forced group, atomic swap, metrics', () => {
  let ups: TestUpstream[];
  let lb: LoadBalancer;
  let admin: AxiosInstance;
  let client: AxiosInstance;

  beforeAll(async () => {
    ups = await Promise.all(['a', 'b', 'c'].map((n) => new TestUpstream(n).start()));
    const config = validateConfig(
      {
        listen: { host: '127.0.0.1', port: 0 },
        admin: { port: 0 },
        adminToken: 't',
        upstreams: [
          { url: ups[0].url, name: 'a', group: 'v1' },
          { url: ups[1].url, name: 'b', group: 'v1' },
          { url: ups[2].url, name: 'c', group: 'v2' },
        ],
        healthCheck: { intervalMs: 100, timeoutMs: 50 },
      },
      'test',
    );
    lb = new LoadBalancer(config, { log: silentLogger });
    await lb.start();
    await waitFor(() => lb.pool.inRotation.length === 3, 2000, 'all in rotation');
    admin = axios.create({ baseURL: `http://127.0.0.1:${lb.adminPort}`, headers: { authorization: 'Bearer t' }, validateStatus: () => true });
    client = axios.create({ baseURL: `http://127.0.0.1:${lb.port}`, httpAgent: new http.Agent({ keepAlive: true }) });
  });

  afterAll(async () => {
    await lb.stop();
    await Promise.all(ups.map((u) => u.kill()));
  });

  const who = async (headers: Record<string, string> = {}) => (await client.get('/api', { headers })).headers['x-upstream'] as string;

  it('sends each group its weight share (within 1 percentage point over 1,000 requests)', async () => {
    expect((await admin.put('/split', { groups: [{ group: 'v2', weight: 10 }, { group: 'v1', weight: 90 }] })).status).toBe(200);
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 1000; i++) counts[await who()]++;
    expect(Math.abs(counts.c - 100)).toBeLessThanOrEqual(10);
    expect(Math.abs(counts.a - counts.b)).toBeLessThanOrEqual(10);
  });

  it('keeps a user on one group, and a forced group wins', async () => {
    const groupOf = (name: string) => (name === 'c' ? 'v2' : 'v1');
    for (const user of ['alice', 'bob', 'carol', 'dave', 'erin']) {
      const seen = new Set<string>();
      for (let i = 0; i < 20; i++) seen.add(groupOf(await who({ 'x-user-id': user })));
      expect(seen.size).toBe(1);
    }
    for (let i = 0; i < 10; i++) expect(await who({ 'x-route-group': 'v2' })).toBe('c');
    for (let i = 0; i < 10; i++) expect(await who({ cookie: 'route_group=v2' })).toBe('c');
  });

  it('swaps all traffic to another group in one call, with no interleaving after it', async () => {
    await admin.put('/split', { groups: [{ group: 'v1', weight: 100 }, { group: 'v2', weight: 0 }] });
    for (let i = 0; i < 20; i++) expect(await who()).not.toBe('c');
    const swap = await admin.put('/split', { groups: [{ group: 'v2', weight: 100 }, { group: 'v1', weight: 0 }] });
    expect(swap.data.groups).toEqual([{ group: 'v2', weight: 100 }, { group: 'v1', weight: 0 }]);
    for (let i = 0; i < 50; i++) expect(await who()).toBe('c');
    expect((await admin.delete('/split')).data).toEqual({ groups: null, generation: swap.data.generation + 1 });
  });

  it('changes an upstream group or weight with PATCH and rejects bad ones', async () => {
    expect((await admin.patch('/upstreams/c', { group: 'v1', weight: 2 })).data).toMatchObject({ group: 'v1', weight: 2 });
    expect((await admin.patch('/upstreams/c', { weight: -1 })).status).toBe(400);
    expect((await admin.put('/split', { groups: [{ group: 'x', weight: 0 }] })).status).toBe(400);
    await admin.patch('/upstreams/c', { group: 'v2', weight: 1 });
  });

  it('exposes Prometheus metrics by upstream, group and status class, with latency', async () => {
    const text = (await admin.get('/metrics')).data as string;
    expect(text).toMatch(/lb_requests_total\{upstream="c",group="v2",status_class="2xx"\} \d+/);
    expect(text).toMatch(/lb_request_duration_seconds_bucket\{le="0.005",upstream="a",group="v1"\} \d+/);
    expect(text).toMatch(/lb_upstream_state\{upstream="a",group="v1",state="healthy"\} 1/);
    expect((await axios.get(`http://127.0.0.1:${lb.adminPort}/metrics`, { validateStatus: () => true })).status).toBe(401);
  });
});
