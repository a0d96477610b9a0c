import { Upstream, type Transition } from './upstream';

const make = (fall = 3, rise = 1) => {
  const transitions: Transition[] = [];
  const u = new Upstream({ url: 'http://a:1', name: 'a:1' }, { fall, rise }, {}, (t) => transitions.push(t));
  return { u, transitions };
};
const ok = { ok: true, reason: 'GET /ping → 200' };
const bad = { ok: false, reason: 'GET /ping → 503' };

describe('Upstream state machine', () => {
  afterEach(() => jest.restoreAllMocks());

  it('starts out of rotation until a first successful check', () => {
    const { u, transitions } = make();
    expect(u.state).toBe('unhealthy');
    expect(u.inRotation).toBe(false);
    u.reportCheck(ok);
    expect(u.state).toBe('healthy');
    expect(transitions).toEqual([{ upstream: 'a:1', from: 'unhealthy', to: 'healthy', reason: ok.reason }]);
  });

  it('marks an upstream unhealthy after 3 failed pings in a row, not before', () => {
    const { u, transitions } = make();
    u.reportCheck(ok);
    u.reportCheck(bad);
    u.reportCheck(bad);
    expect(u.state).toBe('healthy');
    u.reportCheck(bad);
    expect(u.state).toBe('unhealthy');
    expect(transitions[1]).toMatchObject({ from: 'healthy', to: 'unhealthy', reason: 'GET /ping → 503 (3 in a row)' });
  });

  it('a success in between resets the count', () => {
    const { u } = make();
    u.reportCheck(ok);
    for (const r of [bad, bad, ok, bad, bad]) u.reportCheck(r);
    expect(u.state).toBe('healthy');
  });

  it('comes back after one success (rise 1) and after rise successes when configured', () => {
    const { u } = make(3, 1);
    u.reportCheck(ok);
    for (let i = 0; i < 3; i++) u.reportCheck(bad);
    u.reportCheck(ok);
    expect(u.state).toBe('healthy');
    const { u: u2 } = make(1, 2);
    u2.reportCheck(ok);
    expect(u2.state).toBe('unhealthy');
    u2.reportCheck(ok);
    expect(u2.state).toBe('healthy');
  });

  it('counts passive failures from requests toward the same threshold', () => {
    const { u } = make();
    u.reportCheck(ok);
    u.reportPassiveFailure({ ok: false, reason: 'request failed: ECONNREFUSED', unreachable: true });
    u.reportPassiveFailure({ ok: false, reason: 'request failed: ECONNREFUSED', unreachable: true });
    u.reportCheck(bad);
    expect(u.state).toBe('unhealthy');
    expect(u.failures).toBe(2);
  });

  it('aborts requests waiting on it when it is declared unreachable, not when it answers 503', () => {
    const { u } = make(1, 1);
    const pending = { abortAsDead: jest.fn() };
    u.pending.add(pending);
    u.reportCheck(ok);
    u.reportCheck(bad);
    expect(u.state).toBe('unhealthy');
    expect(pending.abortAsDead).not.toHaveBeenCalled();
    u.reportCheck({ ok: false, reason: 'GET /ping timed out after 500 ms', unreachable: true });
    expect(pending.abortAsDead).toHaveBeenCalledTimes(1);
  });

  it('shows the admin state over health and leaves rotation when not active', () => {
    const { u } = make();
    u.reportCheck(ok);
    u.setAdmin('draining', 'test');
    expect(u.state).toBe('draining');
    expect(u.inRotation).toBe(false);
    u.setAdmin('active', 'test');
    expect(u.inRotation).toBe(true);
  });
});
