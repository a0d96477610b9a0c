import { Upstream } from '../pool/upstream';
import { FakeTimers } from '../test-support/fake-timers';
import { HealthChecker } from './health-checker';
import type { Probe } from './http-probe';

const opts = { path: '/ping', intervalMs: 1000, timeoutMs: 500 };

describe('HealthChecker', () => {
  it('pings every interval and takes the upstream out after 3 failures, back after 1 success', async () => {
    const timers = new FakeTimers();
    let answer = true;
    const calls: number[] = [];
    const probe: Probe = async () => {
      calls.push(timers.now());
      return answer ? { ok: true, reason: '200' } : { ok: false, reason: '503' };
    };
    const u = new Upstream({ url: 'http://a:1', name: 'a' }, { fall: 3, rise: 1 }, {}, () => {});
    const checker = new HealthChecker(opts, probe, timers);
    checker.start([u]);
    await timers.advance(0);
    expect(u.state).toBe('healthy');
    answer = false;
    await timers.advance(2000);
    expect(u.state).toBe('healthy');
    await timers.advance(1000);
    expect(u.state).toBe('unhealthy');
    answer = true;
    await timers.advance(1000);
    expect(u.state).toBe('healthy');
    expect(calls).toEqual([0, 1000, 2000, 3000, 4000]);
    checker.stop();
    await timers.advance(5000);
    expect(calls).toHaveLength(5);
  });

  it('checks a new upstream every startIntervalMs until it is first healthy, then at the normal interval', async () => {
    const timers = new FakeTimers();
    let answer = false;
    const calls: number[] = [];
    const probe: Probe = async () => {
      calls.push(timers.now());
      return answer ? { ok: true, reason: '200' } : { ok: false, reason: 'ECONNREFUSED', unreachable: true };
    };
    const u = new Upstream({ url: 'http://a:1', name: 'a' }, { fall: 3, rise: 1 }, {}, () => {});
    const checker = new HealthChecker({ ...opts, startIntervalMs: 200 }, probe, timers);
    checker.start([u]);
    await timers.advance(500);
    expect(calls).toEqual([0, 200, 400]);
    answer = true;
    await timers.advance(100);
    expect(u.state).toBe('healthy'); // the probe at 600 ms, not at 1000 ms
    answer = false;
    await timers.advance(4000);
    // Once it has been healthy, a failing upstream is checked at the normal pace.
    expect(calls.slice(3)).toEqual([600, 1600, 2600, 3600, 4600]);
    expect(u.state).toBe('unhealthy');
    checker.stop();
  });

  it('never has more than one probe in flight per upstream', async () => {
    const timers = new FakeTimers();
    let inFlight = 0;
    let most = 0;
    const probe: Probe = () => {
      inFlight++;
      most = Math.max(most, inFlight);
      return new Promise((resolve) =>
        timers.setTimeout(() => {
          inFlight--;
          resolve({ ok: false, reason: 'timeout', unreachable: true });
        }, 900),
      );
    };
    const u = new Upstream({ url: 'http://a:1', name: 'a' }, { fall: 3, rise: 1 }, {}, () => {});
    const checker = new HealthChecker(opts, probe, timers);
    checker.start([u]);
    await timers.advance(10_000);
    checker.stop();
    expect(most).toBe(1);
  });

  it('starts checking upstreams added later and stops for removed ones', async () => {
    const timers = new FakeTimers();
    const seen: string[] = [];
    const probe: Probe = async (target) => {
      seen.push(target.host);
      return { ok: true, reason: '200' };
    };
    const a = new Upstream({ url: 'http://a:1', name: 'a' }, { fall: 3, rise: 1 }, {}, () => {});
    const b = new Upstream({ url: 'http://b:1', name: 'b' }, { fall: 3, rise: 1 }, {}, () => {});
    const checker = new HealthChecker(opts, probe, timers);
    checker.start([a]);
    checker.watch(b);
    await timers.advance(1000);
    checker.unwatch(a);
    await timers.advance(2000);
    checker.stop();
    expect(seen.filter((h) => h === 'a:1')).toHaveLength(2);
    expect(seen.filter((h) => h === 'b:1')).toHaveLength(4);
  });
});
