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
