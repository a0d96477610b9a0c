import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeClock } from '../test-support/fakes';
import { SelfRegisteredLbAdmin } from './self-registered-lb-admin';

/** A minimal admin API on a real loopback socket: upstreams by name, every call logged. */
async function adminApi() {
  const ups = new Map<string, { name: string; url: string; group: string; version?: string }>();
  const calls: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      calls.push(`${req.method} ${req.url}`);
      const m = /^\/upstreams(?:\/([^/?]+))?(\/drain)?/.exec(req.url ?? '');
      const name = m?.[1] ? decodeURIComponent(m[1]) : undefined;
      const send = (status: number, v: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(v));
      if (req.method === 'POST' && !name) {
        const u = JSON.parse(body) as { name: string; url: string; group?: string };
        ups.set(u.name, { name: u.name, url: u.url, group: u.group ?? 'default' });
        return send(201, ups.get(u.name));
      }
      const u = name ? ups.get(name) : undefined;
      if (!u) return send(404, { error: `unknown upstream ${name}` });
      if (req.method === 'GET') return send(200, { ...u, health: 'healthy', state: 'healthy' });
      if (req.method === 'PATCH') return send(200, Object.assign(u, JSON.parse(body)));
      if (req.method === 'POST' && m?.[2]) return send(200, { drained: true, waitedMs: 3, inFlight: 0 });
      if (req.method === 'DELETE') {
        ups.delete(u.name);
        return send(200, { drained: true, waitedMs: 0, inFlight: 0 });
      }
      send(405, {});
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { ups, calls, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(r)) };
}

describe('SelfRegisteredLbAdmin (real loopback HTTP)', () => {
  const selfRegistering = (n: string) => n.startsWith('st_client.');

  it('"registering" a self-registered task adopts its own entry (group, version), waiting for it; other names are added as usual', async () => {
    const api = await adminApi();
    const clock = new FakeClock();
    const lb = new SelfRegisteredLbAdmin(api.url, 't', selfRegistering, clock);
    // The task registers itself a little later (the deployer asked first).
    const origSleep = clock.sleep;
    clock.sleep = async (ms) => {
      await origSleep(ms);
      if (clock.now() >= 600) api.ups.set('st_client.1.abc', { name: 'st_client.1.abc', url: 'http://10.0.0.5:8081', group: 'default' });
    };
    const u = await lb.add({ url: 'http://10.0.0.5:8081', name: 'st_client.1.abc', enabled: false, group: 'green', version: 'v2' });
    expect(u).toMatchObject({ name: 'st_client.1.abc', group: 'green', version: 'v2' });
    expect(api.calls.filter((c) => !c.startsWith('GET'))).toEqual(['PATCH /upstreams/st_client.1.abc']);
    await lb.add({ url: 'http://st-client-green-1:8081', name: 'st-client-green-1', enabled: false, group: 'green' });
    expect(api.calls[api.calls.length - 1]).toBe('POST /upstreams');
    await api.close();
  });

  it('a task that never registers itself is a clear error after the wait, naming it', async () => {
    const api = await adminApi();
    const lb = new SelfRegisteredLbAdmin(api.url, 't', selfRegistering, new FakeClock(), 5000);
    await expect(lb.add({ url: 'http://10.0.0.9:8081', name: 'st_client.2.zzz', enabled: false })).rejects.toThrow('st_client.2.zzz did not register itself with the balancer within 5000 ms');
    await api.close();
  });

  it('draining or removing a task that already left through its handshake is done; a helper that is gone is still an error', async () => {
    const api = await adminApi();
    const lb = new SelfRegisteredLbAdmin(api.url, 't', selfRegistering, new FakeClock());
    await expect(lb.drain('st_client.1.gone', 1000)).resolves.toEqual({ drained: true, waitedMs: 0, inFlight: 0 });
    await expect(lb.remove('st_client.1.gone', 0)).resolves.toEqual({ drained: true, waitedMs: 0, inFlight: 0 });
    api.ups.set('st_client.2.here', { name: 'st_client.2.here', url: 'http://10.0.0.6:8081', group: 'default' });
    await expect(lb.drain('st_client.2.here', 1000)).resolves.toEqual({ drained: true, waitedMs: 3, inFlight: 0 });
    await expect(lb.drain('st-client-green-1', 1000)).rejects.toThrow(/404/);
    await api.close();
  });
});
