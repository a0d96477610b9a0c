import http from 'node:http';
import { validateConfig } from '../config/validate-config';
import { LoadBalancer } from '../lb-server';
import { createLogger, silentLogger } from '../logger';
import { request, sleep, TestUpstream, waitFor } from '../test-support/test-upstream';

const INTERVAL = 100;

/** A scripted resolver: each name answers what the test says now (addresses, or an error code). */
class FakeResolver {
  readonly answers = new Map<string, string[] | string>();
  lookups = 0;
  readonly resolve = async (host: string): Promise<string[]> => {
    this.lookups++;
    const a = this.answers.get(host) ?? 'ENOTFOUND';
    if (typeof a === 'string') throw Object.assign(new Error(`queryA ${a} ${host}`), { code: a });
    return a;
  };
}

async function setup(entries: Array<{ dns: string; up: TestUpstream }>, resolver: FakeResolver) {
  const config = validateConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      upstreams: entries.map((e) => ({ dns: e.dns, port: e.up.port, group: 'web' })),
      healthCheck: { intervalMs: INTERVAL, timeoutMs: 50 },
      discovery: { missingLookups: 3 },
      admin: { host: '127.0.0.1', port: 0 },
      adminToken: 'admin-secret',
    },
    'test',
  );
  const lb = new LoadBalancer(config, { log: process.env.DEBUG_LB ? createLogger('debug') : silentLogger, resolve: resolver.resolve });
  await lb.start();
  return lb;
}

const adminList = async (lb: LoadBalancer) => {
  const res = await fetch(`http://127.0.0.1:${lb.adminPort}/upstreams`, { headers: { authorization: 'Bearer admin-secret' } });
  return (await res.json()) as { inRotation: string[]; upstreams: Array<{ name: string; state: string; group: string }>; discovery: Array<{ dns: string; port: number; addresses: string[]; error?: string }> };
};

describe('the balancer with {dns, port} upstream entries (fake resolver, real loopback upstreams)', () => {
  let lb: LoadBalancer | undefined;
  const ups: TestUpstream[] = [];
  const agent = new http.Agent({ keepAlive: true });
  afterEach(async () => {
    await lb?.stop();
    lb = undefined;
    await Promise.all(ups.splice(0).map((u) => u.kill()));
  });
  afterAll(() => agent.destroy());

  it('shows an unresolvable name with its error, then adds the address out of rotation until its first passing health check', async () => {
    const b = await new TestUpstream('b').start();
    ups.push(b);
    await b.kill(); // its port is known, nothing listens yet: health checks must keep it out
    const resolver = new FakeResolver();
    lb = await setup([{ dns: 'svc-b', up: b }], resolver);

    await waitFor(() => resolver.lookups >= 2, 2000, 'two lookups');
    let list = await adminList(lb);
    expect(list.discovery).toEqual([expect.objectContaining({ dns: 'svc-b', port: b.port, addresses: [], error: 'ENOTFOUND: no address for svc-b' })]);
    expect(list.upstreams).toEqual([]);
    // The admin health endpoint says the same, as a problem a person (or a monitor) can read.
    const health = (await (await fetch(`http://127.0.0.1:${lb.adminPort}/health`, { headers: { authorization: 'Bearer admin-secret' } })).json()) as Record<string, unknown>;
    expect(health).toEqual({
      status: 'degraded',
      inRotation: 0,
      upstreams: 0,
      discovery: [expect.objectContaining({ dns: 'svc-b', port: b.port, addresses: [], error: 'ENOTFOUND: no address for svc-b' })],
      problems: ['no upstream in rotation: requests get 503 (or panic routing)', `dns svc-b:${b.port}: no address (ENOTFOUND: no address for svc-b); still looking it up`],
    });
    expect((await fetch(`http://127.0.0.1:${lb.adminPort}/health`)).status).toBe(401);

    resolver.answers.set('svc-b', ['127.0.0.1']);
    const name = `svc-b@127.0.0.1:${b.port}`;
    await waitFor(() => lb!.pool.get(name) !== undefined, 2000, 'the address added');
    list = await adminList(lb);
    expect(list.discovery[0]).toEqual(expect.objectContaining({ addresses: ['127.0.0.1'] }));
    expect(list.discovery[0].error).toBeUndefined();
    expect(list.upstreams.map((u) => [u.name, u.group])).toEqual([[name, 'web']]);
    // Nothing answers its health checks yet: it stays out of rotation through several of them.
    await sleep(5 * INTERVAL);
    expect(lb.pool.inRotation.map((u) => u.name)).toEqual([]);

    await b.start(); // same port
    await waitFor(() => lb!.pool.inRotation.some((u) => u.name === name), 2000, 'in rotation after a passing check');
    const r = await request(lb.port, agent);
    expect(r.status).toBe(200);
    expect(r.headers['x-upstream']).toBe(name);
    const healthy = (await (await fetch(`http://127.0.0.1:${lb.adminPort}/health`, { headers: { authorization: 'Bearer admin-secret' } })).json()) as Record<string, unknown>;
    expect(healthy).toEqual(expect.objectContaining({ status: 'ok', inRotation: 1, problems: [] }));
  });

  it('drains an address that left DNS: a 2 s request in flight finishes (200), then the upstream is removed', async () => {
    const a = await new TestUpstream('a').start();
    ups.push(a);
    const resolver = new FakeResolver();
    resolver.answers.set('svc-a', ['127.0.0.1']);
    lb = await setup([{ dns: 'svc-a', up: a }], resolver);
    const name = `svc-a@127.0.0.1:${a.port}`;
    await waitFor(() => lb!.pool.inRotation.length === 1, 2000, 'in rotation');

    a.latencyMs = 2000;
    const slow = request(lb.port, agent);
    await waitFor(() => lb!.pool.get(name)?.inFlight === 1, 1000, 'the slow request in flight');
    const lookupsBefore = resolver.lookups;
    resolver.answers.set('svc-a', []); // a successful answer without it
    await waitFor(() => lb!.pool.get(name)?.state === 'draining', 2000, 'draining');
    expect(resolver.lookups - lookupsBefore).toBeGreaterThanOrEqual(3); // missing from 3 consecutive lookups
    expect(lb.pool.get(name)?.inFlight).toBe(1); // still there while the request runs: drained, not cut
    const r = await slow;
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).instance).toBe('a');
    await waitFor(() => lb!.pool.get(name) === undefined, 2000, 'removed');
    expect((await adminList(lb)).discovery[0].addresses).toEqual([]);
  });

  it('drains nothing while the resolver fails or flaps (missing from fewer than 3 successful lookups in a row)', async () => {
    const a = await new TestUpstream('a').start();
    ups.push(a);
    const resolver = new FakeResolver();
    resolver.answers.set('svc-a', ['127.0.0.1']);
    lb = await setup([{ dns: 'svc-a', up: a }], resolver);
    const name = `svc-a@127.0.0.1:${a.port}`;
    await waitFor(() => lb!.pool.inRotation.length === 1, 2000, 'in rotation');

    // The resolver fails (timeouts, SERVFAIL): a failed lookup counts for nothing.
    let from = resolver.lookups;
    resolver.answers.set('svc-a', 'ETIMEOUT');
    await waitFor(() => resolver.lookups - from >= 6, 3000, '6 failed lookups');
    const list = await adminList(lb);
    expect(list.discovery[0]).toEqual(expect.objectContaining({ addresses: ['127.0.0.1'], error: expect.stringContaining('ETIMEOUT') }));
    expect(list.inRotation).toEqual([name]);

    // Flapping: without it, with it, without it twice, with it... never 3 in a row.
    const script: Array<string[] | string> = [[], ['127.0.0.1'], [], [], ['127.0.0.1'], 'SERVFAIL', [], [], 'SERVFAIL', ['127.0.0.1']];
    from = resolver.lookups;
    for (const step of script) {
      resolver.answers.set('svc-a', step);
      const n = resolver.lookups;
      await waitFor(() => resolver.lookups > n, 2000, 'next lookup');
      expect(lb.pool.get(name)?.state).toBe('healthy');
    }
    expect(resolver.lookups - from).toBeGreaterThanOrEqual(script.length);
    expect(lb.pool.inRotation.map((u) => u.name)).toEqual([name]);
  });
});
