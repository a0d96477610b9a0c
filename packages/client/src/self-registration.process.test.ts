import http from 'node:http';
import { isFailure, LoadChecker } from '../../loadcheck/src';
import { CLIENT_MAIN, freePort, LB_MAIN, type Proc, run, waitFor } from './test-support/processes';

// Real processes on loopback, from the built entry points (npm test builds first).
const ADMIN = 'admin-secret-for-test';
const REG = 'registration-secret-for-test';

interface ListedUpstream {
  name: string;
  state: string;
  inFlight: number;
  lastCheck: string;
  ejectedForMs?: number;
}

function get(port: number, pathname: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: pathname, headers, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      })
      .on('error', reject);
  });
}

describe('the demo service self-registered with the balancer (real processes on loopback)', () => {
  const procs: Proc[] = [];
  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
  });

  it('SIGTERM: the drain handshake lets a 2 s request finish (200), 0 failed under load, the balancer removes it; SIGKILL: it leaves rotation', async () => {
    const lb = run(LB_MAIN, {
      LB_HOST: '127.0.0.1',
      LB_PORT: '0',
      LB_ADMIN_PORT: '0',
      LB_ADMIN_TOKEN: ADMIN,
      LB_REGISTRATION_TOKEN: REG,
      // A static upstream nobody listens on: every request goes to the registered instances.
      LB_UPSTREAMS: 'http://127.0.0.1:1',
    });
    procs.push(lb);
    const { port, adminPort } = await waitFor(
      () => {
        const line = lb.output().split('\n').find((l) => l.includes('"msg":"listening"'));
        if (!line) return undefined;
        const j = JSON.parse(line) as { port: number; admin: string };
        return { port: j.port, adminPort: Number(j.admin.split(':').pop()) };
      },
      10_000,
      'the balancer listening',
    );
    const list = async () => JSON.parse((await get(adminPort, '/upstreams', { authorization: `Bearer ${ADMIN}` })).body) as { inRotation: string[]; upstreams: ListedUpstream[] };

    const clients: Record<string, Proc> = {};
    for (const name of ['a', 'b', 'c']) {
      const p = await freePort();
      clients[name] = run(CLIENT_MAIN, {
        HOST: '127.0.0.1',
        PORT: String(p),
        INSTANCE_NAME: name,
        APP_VERSION: 'v1',
        LB_REGISTER_URL: `http://127.0.0.1:${adminPort}`,
        LB_REGISTRATION_TOKEN: REG,
        ANNOUNCE_URL: `http://127.0.0.1:${p}`,
        ANNOUNCE_NAME: name,
      });
      procs.push(clients[name]);
    }
    await waitFor(async () => ((await list()).inRotation.length === 3 ? true : undefined), 10_000, 'three registered instances in rotation');

    const load = new LoadChecker({ url: `http://127.0.0.1:${port}/api`, rate: 50, connections: 16, timeoutMs: 10_000 });
    load.start();
    // Slow requests on every instance (round robin): some are on "a" when it gets SIGTERM.
    const slow = Array.from({ length: 6 }, () => get(port, '/api?delayMs=2000'));
    await waitFor(async () => ((await list()).upstreams.find((u) => u.name === 'a')?.inFlight ?? 0) >= 1 || undefined, 2000, 'a 2 s request in flight on a');

    clients.a.child.kill('SIGTERM');
    const slowDone = await Promise.all(slow);
    const onA = slowDone.filter((r) => r.headers['x-upstream'] === 'a');
    expect(onA.length).toBeGreaterThanOrEqual(1);
    expect(slowDone.map((r) => r.status)).toEqual(slowDone.map(() => 200));
    expect(await clients.a.exited).toBe(0); // exit 1 would mean its shutdown cut a request
    expect(clients.a.output()).toMatch(/"msg":"drain handshake".*"drained":true/);
    expect((await list()).upstreams.map((u) => u.name)).not.toContain('a');

    // SIGKILL: no handshake. It must leave rotation by the health checks (fall 3 × 1 s), a passive
    // ejection, or its lease (3 s), whichever is first; the balancer's own answer says which.
    clients.b.child.kill('SIGKILL');
    const killedAt = Date.now();
    const left = await waitFor(
      async () => {
        const l = await list();
        if (l.inRotation.includes('b')) return undefined;
        return { afterMs: Date.now() - killedAt, entry: l.upstreams.find((u) => u.name === 'b') };
      },
      5000,
      'b out of rotation',
    );
    await waitFor(async () => ((await list()).upstreams.some((u) => u.name === 'b') ? undefined : true), 40_000, 'b removed after its lease expired');
    const removedAfterMs = Date.now() - killedAt;
    process.stdout.write(
      `SIGKILLed instance: out of rotation after ${left.afterMs} ms (${left.entry ? `state ${left.entry.state}, last check "${left.entry.lastCheck}"${left.entry.ejectedForMs !== undefined ? ', passively ejected' : ''}` : 'already removed: lease expired'}); removed after ${removedAfterMs} ms\n`,
    );
    expect(left.afterMs).toBeLessThan(3500);
    expect(lb.output()).toMatch(/registration lease expired.*"upstream":"b"/);

    const outcomes = await load.stop();
    const failed = outcomes.filter(isFailure);
    process.stdout.write(`load: sent ${outcomes.length}, failed ${failed.length}\n`);
    expect(outcomes.length).toBeGreaterThan(100);
    expect(failed).toEqual([]);
    expect((await list()).inRotation).toEqual(['c']);
  }, 90_000);
});
