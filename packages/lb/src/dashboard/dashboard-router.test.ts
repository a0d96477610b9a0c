import http from 'node:http';
import axios from 'axios';
import { validateConfig } from '../config/validate-config';
import { LoadBalancer } from '../lb-server';
import { silentLogger } from '../logger';
import { request, TestUpstream, waitFor } from '../test-support/test-upstream';

const TOKEN = 'dash-test-token';

async function setup() {
  const ups = await Promise.all(['a', 'b'].map((n) => new TestUpstream(n).start()));
  const config = validateConfig(
    { listen: { host: '127.0.0.1', port: 0 }, admin: { port: 0 }, upstreams: ups.map((u) => ({ url: u.url, name: u.name })), healthCheck: { intervalMs: 100, timeoutMs: 50 }, adminToken: TOKEN },
    'test',
  );
  const lb = new LoadBalancer(config, { log: silentLogger });
  await lb.start();
  await waitFor(() => lb.pool.inRotation.length === 2, 2000, 'both in rotation');
  const base = `http://127.0.0.1:${lb.adminPort}`;
  const anon = axios.create({ baseURL: base, validateStatus: () => true, maxRedirects: 0 });
  const admin = axios.create({ baseURL: base, validateStatus: () => true, headers: { authorization: `Bearer ${TOKEN}` } });
  return { ups, lb, anon, admin, base };
}

/** Reads a Server-Sent Events stream until `until` is true of an event's data; then closes it. */
function readEvents(url: string, cookie: string, until: (data: any) => boolean, timeoutMs = 5000): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { cookie } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`));
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const m = /^data: (.*)$/m.exec(block);
          if (!m) continue;
          const data = JSON.parse(m[1]);
          if (until(data)) {
            clearTimeout(timer);
            req.destroy();
            resolve(data);
          }
        }
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error('no matching event in time'));
    }, timeoutMs);
    req.on('error', () => {});
  });
}

describe('dashboard on the admin port', () => {
  let env: Awaited<ReturnType<typeof setup>> | undefined;
  afterEach(async () => {
    await env?.lb.stop();
    await Promise.all((env?.ups ?? []).map((u) => u.kill()));
    env = undefined;
  });

  it('logs in with the token in the URL: HttpOnly SameSite=Strict cookie, redirect without the token; refused without it', async () => {
    env = await setup();
    const { anon } = env;
    expect((await anon.get('/dashboard')).status).toBe(401);
    expect((await anon.get('/dashboard/events')).status).toBe(401);
    expect((await anon.get('/dashboard/app.js')).status).toBe(401);
    const wrong = await anon.get('/dashboard?token=nope');
    expect(wrong.status).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();

    const login = await anon.get(`/dashboard?token=${TOKEN}`);
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe('/dashboard');
    const cookie = String(login.headers['set-cookie']);
    expect(cookie).toMatch(/^zdl_dashboard=[^;]+;/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).toMatch(/Path=\/dashboard/);
    expect(cookie).not.toContain(TOKEN);
    expect(login.headers['referrer-policy']).toBe('no-referrer');

    const jar = cookie.split(';')[0];
    const page = await anon.get('/dashboard', { headers: { cookie: jar } });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.data).toContain('/dashboard/app.js');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect((await anon.get('/dashboard/app.js', { headers: { cookie: jar } })).status).toBe(200);
    expect((await anon.get('/dashboard', { headers: { cookie: 'zdl_dashboard=forged' } })).status).toBe(401);
    // The cookie opens the dashboard only, not the admin API.
    expect((await anon.get('/upstreams', { headers: { cookie: jar } })).status).toBe(401);
  });

  it('is read-only: a cookie cannot post, other methods are refused, the timeline needs the bearer token and valid events', async () => {
    env = await setup();
    const { anon, admin } = env;
    const jar = String((await anon.get(`/dashboard?token=${TOKEN}`)).headers['set-cookie']).split(';')[0];
    const event = { deploy: 'd1', type: 'start', strategy: 'canary', from: 'v1', to: 'v2' };
    expect((await anon.post('/dashboard/timeline', event, { headers: { cookie: jar } })).status).toBe(401);
    expect((await anon.delete('/dashboard', { headers: { cookie: jar } })).status).toBe(405);
    const bad = await admin.post('/dashboard/timeline', { deploy: 'd 1', type: 'nope', extra: 1 });
    expect(bad.status).toBe(400);
    expect(bad.data.error).toMatch(/deploy: .*type: .*|extra: unknown field/);
    expect((await admin.post('/dashboard/timeline', event)).status).toBe(204);
    const state = await anon.get('/dashboard/state', { headers: { cookie: jar } });
    expect(state.data.deploys[0]).toMatchObject({ id: 'd1', strategy: 'canary', from: 'v1', to: 'v2', status: 'running' });
  });

  it('streams the upstreams with the version the deployer registered, and the traffic by version', async () => {
    env = await setup();
    const { anon, admin, lb, base } = env;
    expect((await admin.patch('/upstreams/a', { version: 'v1' })).data.version).toBe('v1');
    expect((await admin.patch('/upstreams/b', { version: 'v2' })).data.version).toBe('v2');
    expect((await admin.patch('/upstreams/b', { version: 'not ok!' })).status).toBe(400);
    const extra = await new TestUpstream('c').start();
    try {
      const added = await admin.post('/upstreams', { url: extra.url, name: 'c', version: 'v3', enabled: false });
      expect(added.status).toBe(201);
      expect(added.data.version).toBe('v3');
      const jar = String((await anon.get(`/dashboard?token=${TOKEN}`)).headers['set-cookie']).split(';')[0];
      const agent = new http.Agent({ keepAlive: true });
      const load = setInterval(() => void request(lb.port, agent).catch(() => {}), 10);
      try {
        const data = await readEvents(`${base}/dashboard/events`, jar, (d) => d.samples.some((s: any) => (s.byVersion.v1 ?? 0) > 0 && (s.byVersion.v2 ?? 0) > 0));
        expect(data.upstreams.map((u: any) => [u.name, u.version])).toEqual([
          ['a', 'v1'],
          ['b', 'v2'],
          ['c', 'v3'],
        ]);
        expect(data.totals.failed).toBe(0);
      } finally {
        clearInterval(load);
        agent.destroy();
      }
    } finally {
      await extra.kill();
    }
  });
});
