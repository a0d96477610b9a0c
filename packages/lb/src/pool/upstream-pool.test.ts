import { validateConfig } from '../config/validate-config';
import { UpstreamPool } from './upstream-pool';

const config = validateConfig({ upstreams: [{ url: 'http://a:1', name: 'a' }, { url: 'http://b:1', name: 'b', group: 'blue' }] }, 'test');
const ok = { ok: true, reason: 'pong' };

describe('UpstreamPool state for cluster workers', () => {
  it('a follower routes exactly like the pool it follows, after every kind of change', () => {
    let changes = 0;
    const primary = new UpstreamPool(config, { onChange: () => changes++ });
    const follower = new UpstreamPool({ ...config, upstreams: [] });
    const sync = () => follower.applyState(primary.exportState());

    for (const u of primary.all()) u.reportCheck(ok);
    sync();
    expect(follower.inRotation.map((u) => u.name)).toEqual(['a', 'b']);

    primary.get('a')!.setAdmin('draining', 'test');
    primary.add({ url: 'http://c:1', name: 'c', group: 'green', weight: 3 });
    primary.setSplit([{ group: 'green', weight: 1 }]);
    sync();
    expect(follower.inRotation.map((u) => u.name)).toEqual(['b']); // c is not healthy yet
    expect(follower.get('a')!.state).toBe('draining');
    expect(follower.get('c')).toMatchObject({ group: 'green', weight: 3 });
    expect(follower.split).toEqual([{ group: 'green', weight: 1 }]);

    primary.remove('a');
    primary.setSplit(undefined);
    sync();
    expect(follower.all().map((u) => u.name)).toEqual(['b', 'c']);
    expect(follower.split).toBeUndefined();
    expect(changes).toBeGreaterThanOrEqual(6);
  });

  it('follows evictions and sends request failures to the hook instead of its own state machine', () => {
    const primary = new UpstreamPool(config);
    const failures: string[] = [];
    const follower = new UpstreamPool({ ...config, upstreams: [] }, { onPassiveFailure: (u, r) => failures.push(`${u.name}: ${r.reason}`) });
    for (const u of primary.all()) u.reportCheck(ok);
    follower.applyState(primary.exportState());
    const fb = follower.get('b')!;
    for (let i = 0; i < 5; i++) follower.reportPassiveFailure(fb, { ok: false, reason: 'refused', unreachable: true });
    expect(fb.state).toBe('healthy'); // only the primary decides
    expect(fb.failures).toBe(5);
    expect(failures).toHaveLength(5);

    const evicted = jest.spyOn(fb, 'evictConnections');
    const pb = primary.get('b')!;
    for (let i = 0; i < 3; i++) pb.reportPassiveFailure({ ok: false, reason: 'refused', unreachable: true });
    expect(pb.evictions).toBe(1);
    follower.applyState(primary.exportState());
    expect(fb.state).toBe('unhealthy');
    expect(evicted).toHaveBeenCalledTimes(1);
    follower.applyState(primary.exportState());
    expect(evicted).toHaveBeenCalledTimes(1); // once per eviction, not per message
  });
});

describe('panic routing (nothing in rotation)', () => {
  const three = validateConfig(
    { upstreams: [{ url: 'http://a:1', name: 'a' }, { url: 'http://b:1', name: 'b' }, { url: 'http://c:1', name: 'c' }], healthCheck: { fall: 1 } },
    'test',
  );
  const bad = { ok: false, reason: 'GET /ping timed out after 500 ms' };

  it('answers nothing before any upstream was ever healthy (the health gate holds)', () => {
    const pool = new UpstreamPool(three);
    expect(pool.acquire()).toBeUndefined();
    expect(pool.inPanic).toBe(false);
  });

  it('sends requests to upstreams that fell out on failed checks when nothing else is left, and stops once one is back', () => {
    const panics: string[] = [];
    const pool = new UpstreamPool(three, { onPanic: (p, f) => panics.push(`${p} ${f.join(',')}`) });
    for (const u of pool.all()) u.reportCheck(ok);
    pool.get('c')!.setAdmin('draining', 'test'); // a drain is never undone by panic
    for (const u of pool.all()) u.reportCheck(bad);
    expect(pool.inRotation).toHaveLength(0);
    const picked = [0, 1, 2, 3].map(() => {
      const u = pool.acquire()!;
      pool.release(u);
      return u.name;
    });
    expect(new Set(picked)).toEqual(new Set(['a', 'b']));
    expect(pool.acquire(new Set([pool.get('a')!, pool.get('b')!]))).toBeUndefined();
    pool.get('b')!.reportCheck(ok);
    expect(pool.inPanic).toBe(false);
    const u = pool.acquire()!;
    expect(u.name).toBe('b');
    expect(panics).toEqual(['true a,b', 'false ']);
  });

  it('never falls back to an upstream ejected for failing requests, nor to one that was never healthy', () => {
    const pool = new UpstreamPool(three);
    pool.get('a')!.reportCheck(ok);
    pool.get('b')!.reportCheck(ok);
    const a = pool.get('a')!;
    for (let i = 0; i < 3; i++) pool.reportPassiveFailure(a, { ok: false, reason: 'request failed: closed mid-response' });
    expect(a.ejectedUntil).toBeGreaterThan(0);
    pool.get('b')!.reportCheck(bad);
    expect(pool.inRotation).toHaveLength(0);
    // a is ejected, c never passed a check: only b, which fell on a slow ping, takes the traffic.
    for (let i = 0; i < 4; i++) {
      const u = pool.acquire()!;
      expect(u.name).toBe('b');
      pool.release(u);
    }
    expect(pool.acquire(new Set([pool.get('b')!]))).toBeUndefined();
  });

  it('a cluster worker falls back exactly like its primary', () => {
    const primary = new UpstreamPool(three);
    const follower = new UpstreamPool({ ...three, upstreams: [] });
    for (const u of primary.all()) u.reportCheck(ok);
    const a = primary.get('a')!;
    for (let i = 0; i < 3; i++) primary.reportPassiveFailure(a, { ok: false, reason: 'request failed: timed out mid-response' });
    for (const u of primary.all()) u.reportCheck(bad);
    follower.applyState(primary.exportState());
    expect(follower.inPanic).toBe(true);
    const names = new Set([0, 1, 2, 3].map(() => { const u = follower.acquire()!; follower.release(u); return u.name; }));
    expect(names).toEqual(new Set(['b', 'c']));
  });

  it('never falls back to an upstream where nothing listens (refused): that is death, not slowness', () => {
    const pool = new UpstreamPool(three);
    for (const u of pool.all()) u.reportCheck(ok);
    pool.get('a')!.reportCheck({ ok: false, reason: 'GET /ping failed: ECONNREFUSED', unreachable: true, down: true });
    pool.get('b')!.reportCheck(bad);
    pool.get('c')!.reportCheck(bad);
    expect(new Set([0, 1, 2, 3].map(() => { const u = pool.acquire()!; pool.release(u); return u.name; }))).toEqual(new Set(['b', 'c']));
    // b's next check is refused too; a request that found c refused as well: nothing is left.
    pool.get('b')!.reportCheck({ ok: false, reason: 'GET /ping failed: ECONNREFUSED', unreachable: true, down: true });
    pool.reportPassiveFailure(pool.get('c')!, { ok: false, reason: 'request failed: ECONNREFUSED', unreachable: true, down: true });
    expect(pool.acquire()).toBeUndefined();
    expect(pool.inPanic).toBe(false);
  });
});

describe('hasAlternative (may a request waiting on a dead upstream be sent elsewhere?)', () => {
  it('names another upstream in rotation not yet tried, or with none in rotation, in the panic fallback', () => {
    const pool = new UpstreamPool(config);
    const a = pool.get('a')!;
    const b = pool.get('b')!;
    for (const u of pool.all()) u.reportCheck(ok);
    expect(pool.hasAlternative(a)).toBe(true);
    expect(pool.hasAlternative(a, new Set([a, b]))).toBe(false);
    b.setAdmin('draining', 'deploy');
    expect(pool.hasAlternative(a)).toBe(false); // the last one in rotation
    // a falls out on failed checks: nothing in rotation, a is the fallback — still nothing other than a.
    for (let i = 0; i < 3; i++) a.reportCheck({ ok: false, reason: 'timeout' });
    expect(pool.inRotation).toHaveLength(0);
    expect(pool.hasAlternative(a)).toBe(false);
  });

  it('counts the panic fallback when nothing is in rotation', () => {
    const pool = new UpstreamPool(config);
    for (const u of pool.all()) u.reportCheck(ok);
    for (const u of pool.all()) for (let i = 0; i < 3; i++) u.reportCheck({ ok: false, reason: 'timeout' });
    expect(pool.inRotation).toHaveLength(0);
    expect(pool.inPanic).toBe(true);
    expect(pool.hasAlternative(pool.get('a')!)).toBe(true);
    expect(pool.hasAlternative(pool.get('a')!, new Set([pool.get('b')!]))).toBe(false);
  });
});
