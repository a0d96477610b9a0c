import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Announcer, type AnnounceEvent } from './announcer';

/** A scripted stand-in for the balancer's registration endpoints (the real ones are tested in packages/lb). */
function fakeBalancer() {
  const log: string[] = [];
  let forget = false;
  let removed = false;
  let n = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      log.push(`${req.method} ${req.url} ${req.headers.authorization}`);
      const json = (status: number, v: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(v));
      if (req.method === 'POST' && req.url === '/registrations') {
        const b = JSON.parse(body) as { url: string; name?: string };
        return json(201, { id: `lease-${++n}`, name: b.name ?? 'x', leaseMs: 150, heartbeatMs: 30 });
      }
      if (req.method === 'PUT' && removed) return json(404, { error: 'lease ended: the upstream was removed through the admin API', code: 'LB_LEASE_REMOVED' });
      if (req.method === 'PUT') return forget ? json(404, { error: 'lease expired', code: 'LB_LEASE_UNKNOWN' }) : json(200, { expiresInMs: 150 });
      if (req.method === 'POST' && req.url?.includes('/drain')) return json(200, { drained: true, inFlight: 0, waitedMs: 12 });
      if (req.method === 'DELETE') return json(200, { removed: 'x' });
      json(404, { error: 'no' });
    });
  });
  return {
    log,
    forgetLeases: () => (forget = true),
    rememberLeases: () => (forget = false),
    removeByOperator: () => (removed = true),
    start: () => new Promise<string>((r) => server.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))),
    stop: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('Announcer', () => {
  it('registers with the registration token, renews every heartbeat, and re-registers when the balancer forgot the lease', async () => {
    const lb = fakeBalancer();
    const url = await lb.start();
    const events: AnnounceEvent[] = [];
    const a = new Announcer({ balancerUrl: url, token: 'reg-secret', url: 'http://127.0.0.1:5000', name: 'web-1', version: 'v2', onEvent: (e) => events.push(e) });
    a.start();
    await a.registered;
    await until(() => lb.log.filter((l) => l.startsWith('PUT /registrations/lease-1')).length >= 3);
    expect(lb.log[0]).toBe('POST /registrations Bearer reg-secret');
    lb.forgetLeases();
    await until(() => lb.log.includes('POST /registrations Bearer reg-secret') && lb.log.filter((l) => l.startsWith('POST /registrations ')).length === 2);
    lb.rememberLeases();
    await until(() => lb.log.some((l) => l.startsWith('PUT /registrations/lease-2')));
    a.stop();
    await lb.stop();
    expect(events.filter((e) => e.type === 'registered')).toHaveLength(2);
    expect(JSON.stringify(events)).not.toContain('reg-secret');
  });

  it('respects an operator removing it: says so, stops renewing and does not register again; a later drain says why it cannot', async () => {
    const lb = fakeBalancer();
    const url = await lb.start();
    const events: AnnounceEvent[] = [];
    const a = new Announcer({ balancerUrl: url, token: 't', url: 'http://127.0.0.1:5000', name: 'web-1', onEvent: (e) => events.push(e) });
    a.start();
    await a.registered;
    await until(() => lb.log.some((l) => l.startsWith('PUT /registrations/lease-1')));
    lb.removeByOperator();
    await until(() => events.some((e) => e.type === 'removed'));
    const calls = lb.log.length;
    await new Promise((r) => setTimeout(r, 200)); // ~7 heartbeats of 30 ms
    expect(lb.log.length).toBe(calls);
    expect(lb.log.filter((l) => l.startsWith('POST /registrations '))).toHaveLength(1);
    expect(events.find((e) => e.type === 'removed')).toEqual({
      type: 'removed',
      reason: 'lease ended: the upstream was removed through the admin API; not registering again until this instance restarts',
    });
    const outcome = await a.drainAndLeave(1000);
    expect(outcome).toEqual(expect.objectContaining({ drained: false, reason: expect.stringContaining('not registered any more: lease ended') }));
    expect(lb.log.length).toBe(calls);
    await lb.stop();
  });

  it('on shutdown asks the balancer to drain it, then removes its entry', async () => {
    const lb = fakeBalancer();
    const url = await lb.start();
    const a = new Announcer({ balancerUrl: url, token: 't', url: 'http://127.0.0.1:5000' });
    a.start();
    await a.registered;
    const outcome = await a.drainAndLeave(2000);
    expect(outcome).toEqual({ drained: true, inFlight: 0, waitedMs: 12 });
    expect(lb.log.slice(-2)).toEqual(['POST /registrations/lease-1/drain?waitMs=2000 Bearer t', 'DELETE /registrations/lease-1?waitMs=0 Bearer t']);
    const renewsAfter = lb.log.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(lb.log.length).toBe(renewsAfter);
    await lb.stop();
  });

  it('keeps retrying while the balancer is not up, and says why a drain could not happen', async () => {
    const events: AnnounceEvent[] = [];
    const a = new Announcer({ balancerUrl: 'http://127.0.0.1:1', token: 't', url: 'http://127.0.0.1:5000', onEvent: (e) => events.push(e) });
    expect(await a.drainAndLeave(100)).toMatchObject({ drained: false, reason: 'never registered with the balancer' });
    a.start();
    await until(() => events.filter((e) => e.type === 'register-failed').length >= 2);
    a.stop();
  });
});
