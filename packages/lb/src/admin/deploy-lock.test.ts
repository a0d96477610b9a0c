import { DeployLock, type LockRequest } from './deploy-lock';

const req = (over: Partial<LockRequest> = {}): LockRequest => ({
  holder: { host: 'h1', pid: 11, user: 'ann' },
  strategy: 'rolling',
  version: 'v2',
  leaseMs: 10_000,
  ...over,
});

function setup() {
  let t = 1_000_000;
  let n = 0;
  const lock = new DeployLock(() => t, () => `id${++n}`);
  return { lock, advance: (ms: number) => (t += ms) };
}

describe('deploy lock', () => {
  it('grants one holder; a second is refused with the holder and since when', () => {
    const { lock } = setup();
    const a = lock.acquire(req());
    expect(a).toMatchObject({ ok: true, lock: { id: 'id1', holder: { host: 'h1', pid: 11, user: 'ann' }, expired: false, remainingMs: 10_000 } });
    const b = lock.acquire(req({ holder: { host: 'h2', pid: 22, user: 'bob' } }));
    expect(b.ok).toBe(false);
    if (b.ok) return;
    expect(b.code).toBe('LB_DEPLOY_LOCKED');
    expect(b.message).toContain('ann@h1 (pid 11) since 1970-01-01T00:16:40.000Z: rolling deploy of v2');
    expect(lock.lock!.id).toBe('id1');
  });

  it('lapses when not renewed; renewals keep it; a lapsed lock is taken and the old holder fenced out', () => {
    const { lock, advance } = setup();
    lock.acquire(req());
    advance(9_000);
    expect(lock.renew('id1').ok).toBe(true);
    advance(9_000);
    expect(lock.activeId).toBe('id1');
    advance(1_001);
    expect(lock.lock!.expired).toBe(true);
    expect(lock.activeId).toBeUndefined();
    const b = lock.acquire(req({ holder: { host: 'h2', pid: 22, user: 'bob' } }));
    expect(b).toMatchObject({ ok: true, lock: { id: 'id2', tookOverFrom: { id: 'id1', how: 'expired' } } });
    expect(lock.renew('id1')).toMatchObject({ ok: false, code: 'LB_DEPLOY_LOCK_LOST' });
    expect(lock.check('id1').ok).toBe(false);
    expect(lock.writeJournal('id1', {}).ok).toBe(false);
    expect(lock.check('id2').ok).toBe(true);
  });

  it('takes over a running lease only with its id (a dead holder) or force', () => {
    const { lock } = setup();
    lock.acquire(req());
    expect(lock.acquire(req({ takeOver: 'other' })).ok).toBe(false);
    expect(lock.acquire(req({ takeOver: 'id1' }))).toMatchObject({ ok: true, lock: { id: 'id2', tookOverFrom: { how: 'takeover' } } });
    expect(lock.acquire(req({ force: true }))).toMatchObject({ ok: true, lock: { id: 'id3', tookOverFrom: { id: 'id2', how: 'force' } } });
  });

  it('keeps the journal beside the lock after a release or a lapse, and the previous one when a new deploy writes', () => {
    const { lock, advance } = setup();
    lock.acquire(req());
    lock.writeJournal('id1', { step: 1 });
    advance(20_000);
    expect(lock.snapshot().journal).toMatchObject({ id: 'id1', data: { step: 1 } });
    lock.acquire(req());
    expect(lock.writeJournal('id2', { step: 'a' }).ok).toBe(true);
    const s = lock.snapshot();
    expect(s.journal).toMatchObject({ id: 'id2', data: { step: 'a' } });
    expect(s.previousJournal).toMatchObject({ id: 'id1', data: { step: 1 } });
    expect(lock.release('id2').ok).toBe(true);
    expect(lock.snapshot().lock).toBeNull();
    expect(lock.snapshot().journal!.id).toBe('id2');
  });

  it('records routing changes made outside a deploy, bounded', () => {
    const { lock } = setup();
    for (let i = 0; i < 60; i++) lock.recordActivity({ method: 'POST', path: `/upstreams/a/drain?i=${i}`, status: 200 });
    const a = lock.snapshot().activity;
    expect(a).toHaveLength(50);
    expect(a[49].path).toBe('/upstreams/a/drain?i=59');
    lock.acquire(req());
    lock.recordActivity({ method: 'DELETE', path: '/split', status: 200 });
    expect(lock.snapshot().activity[49]).toMatchObject({ method: 'DELETE', duringDeploy: 'id1' });
  });
});
