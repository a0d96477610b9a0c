import { CLIENT_MAIN, freePort, LB_MAIN, type Proc, run, waitFor } from './test-support/processes';

// Real processes on loopback, from the built entry points (npm test builds first): an operator
// removes a self-registered instance through the admin API; the instance must not come back by
// itself (it would undo the operator's decision a second later), must say so in its log, and must
// still stop cleanly on SIGTERM.
const ADMIN = 'admin-secret-for-test';
const REG = 'registration-secret-for-test';

const lines = (p: Proc) => p.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; [k: string]: unknown });

describe('an operator removes a self-registered instance (real processes on loopback)', () => {
  const procs: Proc[] = [];
  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
  });

  it('the instance stays out (no new registration), logs why, and still stops cleanly on SIGTERM', async () => {
    const lb = run(LB_MAIN, { LB_HOST: '127.0.0.1', LB_PORT: '0', LB_ADMIN_PORT: '0', LB_ADMIN_TOKEN: ADMIN, LB_REGISTRATION_TOKEN: REG, LB_UPSTREAMS: 'http://127.0.0.1:1' });
    procs.push(lb);
    const adminPort = await waitFor(() => {
      const l = lines(lb).find((x) => x.msg === 'listening');
      return l ? Number(String(l.admin).split(':').pop()) : undefined;
    }, 10_000, 'the balancer listening');
    const admin = (method: string, p: string) => fetch(`http://127.0.0.1:${adminPort}${p}`, { method, headers: { authorization: `Bearer ${ADMIN}` } });
    const names = async () => ((await (await admin('GET', '/upstreams')).json()) as { upstreams: { name: string }[] }).upstreams.map((u) => u.name);

    const port = await freePort();
    const inst = run(CLIENT_MAIN, {
      HOST: '127.0.0.1',
      PORT: String(port),
      INSTANCE_NAME: 'web-7',
      LB_REGISTER_URL: `http://127.0.0.1:${adminPort}`,
      LB_REGISTRATION_TOKEN: REG,
      ANNOUNCE_URL: `http://127.0.0.1:${port}`,
      ANNOUNCE_NAME: 'web-7',
    });
    procs.push(inst);
    await waitFor(async () => ((await names()).includes('web-7') ? true : undefined), 10_000, 'web-7 registered');

    expect((await admin('DELETE', '/upstreams/web-7?waitMs=0')).status).toBe(200);
    const removed = await waitFor(() => lines(inst).find((l) => l.msg === 'announce: removed'), 5000, 'the instance noticing its removal');
    expect(String(removed.reason)).toContain('removed through the admin API');
    expect(String(removed.reason)).toContain('not registering again until this instance restarts');
    // Several heartbeats (1 s) and a lease (3 s) later it is still out, and it never tried again.
    await new Promise((r) => setTimeout(r, 3500));
    expect(await names()).not.toContain('web-7');
    expect(lines(inst).filter((l) => l.msg === 'announce: registered')).toHaveLength(1);

    // SIGTERM: nothing to drain in the balancer; the instance says why and shuts down as usual.
    inst.child.kill('SIGTERM');
    expect(await inst.exited).toBe(0);
    const handshake = lines(inst).find((l) => l.msg === 'drain handshake');
    expect(handshake).toEqual(expect.objectContaining({ drained: false, reason: expect.stringContaining('not registered any more') }));
    expect(await names()).not.toContain('web-7');
  });
});
