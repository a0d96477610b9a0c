import http from 'node:http';
import { validateConfig } from '../config/validate-config';
import { httpProbe } from './http-probe';
import { LoadBalancer } from '../lb-server';
import { silentLogger } from '../logger';
import { Upstream, type Transition } from '../pool/upstream';
import { pingOr, ScriptedUpstream } from '../test-support/raw-http';
import { request, sleep, TestUpstream, waitFor } from '../test-support/test-upstream';

// Requests are evidence about an upstream too: timeouts and responses cut mid-body count against
// it, with hysteresis (an ejected upstream stays out even when its /ping answers).

describe('passive health on real sockets', () => {
  const cleanup: Array<() => Promise<unknown> | void> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function lbWith(bad: ScriptedUpstream) {
    const good = await new TestUpstream('good').start();
    cleanup.push(() => good.kill(), () => bad.stop());
    const config = validateConfig(
      {
        listen: { host: '127.0.0.1', port: 0 },
        admin: { enabled: false },
        upstreams: [{ url: bad.url, name: 'bad' }, { url: good.url, name: 'good' }],
        healthCheck: { intervalMs: 100, timeoutMs: 80, passiveFall: 3, ejectMs: 2000, maxEjectMs: 8000 },
        proxy: { upstreamTimeoutMs: 300 },
      },
      'test',
    );
    const transitions: Transition[] = [];
    const lb = new LoadBalancer(config, { log: { ...silentLogger, info: (msg, f) => msg === 'upstream state' && transitions.push(f as unknown as Transition) } });
    await lb.start();
    cleanup.push(() => lb.stop(1000));
    await waitFor(() => lb.pool.inRotation.length === 2, 3000, 'both in rotation');
    const agent = new http.Agent({ keepAlive: true });
    cleanup.push(() => agent.destroy());
    return { lb, transitions, agent };
  }

  it('ejects an upstream whose requests time out while its /ping is fine, and keeps it out across good pings', async () => {
    const { lb, agent } = await lbWith(await new ScriptedUpstream(pingOr(() => {})).start());
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await request(lb.port, agent)).status);
    // At most passiveFall (3) requests meet the hung upstream; then it is out.
    expect(statuses.filter((s) => s === 504).length).toBeLessThanOrEqual(3);
    expect(statuses.slice(-6)).toEqual([200, 200, 200, 200, 200, 200]);
    const bad = lb.pool.get('bad')!;
    expect(bad.state).toBe('unhealthy');
    await sleep(500); // five good pings meanwhile
    expect(bad.state).toBe('unhealthy');
    expect(bad.snapshot().ejectedForMs).toBeGreaterThan(0);
  });

  it('ejects an upstream that cuts its responses mid-body, without flapping (few transitions over 3 s)', async () => {
    const cutter = await new ScriptedUpstream(
      pingOr((_h, socket) => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf');
        setTimeout(() => socket.destroy(), 5);
      }),
    ).start();
    const { lb, transitions, agent } = await lbWith(cutter);
    let cut = 0;
    const began = Date.now();
    while (Date.now() - began < 3000) {
      const r = await request(lb.port, agent).catch(() => undefined);
      if (!r || r.status !== 200 || r.headers['x-upstream'] === 'bad') cut++;
      await sleep(10);
    }
    const ofBad = transitions.filter((t) => t.upstream === 'bad');
    // With rise: 1 and no hysteresis it flapped on every good ping; now: out once, and at most
    // one trial return after the 2 s ejection (which fails again, doubling the next one).
    expect(ofBad.length).toBeLessThanOrEqual(4);
    expect(lb.pool.get('bad')!.failures).toBeGreaterThanOrEqual(3);
    expect(cut).toBeLessThanOrEqual(8);
  });
});

describe('health probe', () => {
  it('closes its socket when an upstream sends headers and never ends the body (and does not pass it)', async () => {
    const hanging = await new ScriptedUpstream((_h, socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npo')).start();
    try {
      const target = new URL(hanging.url);
      for (let i = 0; i < 5; i++) {
        const r = await httpProbe(target, '/ping', 100);
        expect(r.ok).toBe(false);
      }
      await waitFor(() => hanging.sockets.size === 0, 2000, 'every probe socket closed');
    } finally {
      await hanging.stop();
    }
  });

  it('passes a normal 200 and reads its body to the end', async () => {
    const ok = await new ScriptedUpstream((_h, socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\npong')).start();
    try {
      expect(await httpProbe(new URL(ok.url), '/ping', 500)).toEqual({ ok: true, reason: 'GET /ping → 200' });
    } finally {
      await ok.stop();
    }
  });
});

describe('Upstream ejection (fake clock)', () => {
  it('stays out for ejectMs whatever its checks say, doubles on the next ejection, and forgets after a quiet period', () => {
    let now = 0;
    const u = new Upstream({ url: 'http://a:1', name: 'a' }, { fall: 3, rise: 1, passiveFall: 2, ejectMs: 1000, maxEjectMs: 3000 }, {}, () => {}, () => {}, () => now);
    const fail = { ok: false, reason: 'reset' };
    u.reportCheck({ ok: true, reason: 'ping' });
    expect(u.inRotation).toBe(true);
    u.reportPassiveFailure(fail);
    expect(u.inRotation).toBe(true);
    u.reportPassiveFailure(fail);
    expect(u.inRotation).toBe(false);
    now = 999;
    u.reportCheck({ ok: true, reason: 'ping' });
    expect(u.inRotation).toBe(false);
    now = 1000;
    u.reportCheck({ ok: true, reason: 'ping' });
    expect(u.inRotation).toBe(true);
    // Fails again soon: out for twice as long.
    u.reportPassiveFailure(fail);
    u.reportPassiveFailure(fail);
    now = 2999;
    u.reportCheck({ ok: true, reason: 'ping' });
    expect(u.inRotation).toBe(false);
    now = 3000;
    u.reportCheck({ ok: true, reason: 'ping' });
    expect(u.inRotation).toBe(true);
    // A success ends a streak: failures that are not in a row do not eject.
    u.reportPassiveFailure(fail);
    u.reportPassiveSuccess();
    u.reportPassiveFailure(fail);
    expect(u.inRotation).toBe(true);
    // After a quiet period the next ejection is short again.
    now = 100_000;
    u.reportPassiveFailure(fail);
    expect(u.inRotation).toBe(false);
    expect(u.snapshot().ejectedForMs).toBe(1000);
    // The process behind it died (connection refused) and a new one answers: no ejection carried over.
    u.reportCheck({ ok: false, reason: 'refused', unreachable: true });
    u.reportCheck({ ok: true, reason: 'ping' });
    expect(u.inRotation).toBe(true);
  });
});
