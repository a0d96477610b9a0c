import { DeployError } from '../lb-client/deploy-error';
import type { LockView } from '../lb-client/deploy-lock-api';
import { FakeClock, FakeLockApi } from '../test-support/fakes';
import { LockSession } from './lock-session';

const holder = (host: string, pid: number) => ({ host, pid, user: 'u' });

function setup(alive: (pid: number) => boolean) {
  const clock = new FakeClock();
  const api = new FakeLockApi();
  const said: string[] = [];
  const session = (host: string, pid: number) =>
    new LockSession(api, clock, { holder: holder(host, pid), leaseMs: 10_000, renewMs: 1000, isAlive: alive, say: (l) => said.push(l) });
  return { clock, api, said, session };
}

/** A lock held by someone else, with a lease the test controls. */
function heldBy(api: FakeLockApi, host: string, pid: number, remainingMs: number): LockView {
  api.lock = { id: 'theirs', holder: holder(host, pid), strategy: 'rolling', version: 'v2', acquiredAt: 'T0', renewedAt: 'T0', leaseMs: 10_000, expiresAt: 'T10', expired: remainingMs <= 0, remainingMs };
  return api.lock;
}

describe('deploy lock session', () => {
  it('refuses a live holder on this host, naming it', async () => {
    const { api, session } = setup(() => true);
    heldBy(api, 'here', 42, 8000);
    const err = await session('here', 7).acquire('canary', 'v3', false).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeployError);
    expect((err as DeployError).code).toBe('DEPLOY_ERR_LOCKED');
    expect((err as Error).message).toContain('another deploy is running: u@here (pid 42) since T0: rolling deploy of v2');
    expect(api.lock!.id).toBe('theirs');
  });

  it('takes over at once from a holder on this host whose process is gone', async () => {
    const { api, said, session } = setup(() => false);
    heldBy(api, 'here', 42, 8000);
    const s = session('here', 7);
    const l = await s.acquire('rolling', 'v3', false);
    expect(l.holder.pid).toBe(7);
    expect(s.tookOver!.id).toBe('theirs');
    expect(said[0]).toMatch(/pid 42.*is gone \(no process 42 on this host\): taking over/);
    await s.release();
    expect(api.lock).toBeNull();
  });

  it('from another host: a lease that is not renewed is waited out with a countdown', async () => {
    const { api, clock, said, session } = setup(() => true);
    const theirs = heldBy(api, 'elsewhere', 42, 6000);
    // The lease runs down with the clock; nobody renews it.
    const started = clock.t;
    api.deployState = async () => {
      const left = 6000 - (clock.t - started);
      return { lock: { ...theirs, remainingMs: Math.max(0, left), expired: left <= 0 }, journal: null, previousJournal: null, activity: [], pages: [] };
    };
    const acquire = api.acquireLock.bind(api);
    api.acquireLock = async (r) => (clock.t - started >= 6000 && api.lock?.id === 'theirs' ? ((api.lock = { ...theirs, expired: true }), acquire(r)) : acquire(r));
    const s = session('here', 7);
    const l = await s.acquire('rolling', 'v3', false);
    expect(l.holder.host).toBe('here');
    expect(clock.t - started).toBeGreaterThanOrEqual(6000);
    const countdown = said.filter((x) => x.includes('waiting for its lease to lapse'));
    expect(countdown.map((x) => /, (\d+) s\.\.\./.exec(x)![1])).toEqual(['3', '2', '1']);
    await s.release();
  });

  it('from another host: a lease renewed while we watch is a live holder', async () => {
    const { api, clock, session } = setup(() => true);
    const theirs = heldBy(api, 'elsewhere', 42, 9000);
    api.deployState = async () => ({ lock: { ...theirs, renewedAt: clock.t > 1500 ? 'T1' : 'T0' }, journal: null, previousJournal: null, activity: [], pages: [] });
    const err = await session('here', 7).acquire('rolling', 'v3', false).catch((e: unknown) => e);
    expect((err as DeployError).code).toBe('DEPLOY_ERR_LOCKED');
  });

  it('--force takes the lock with a warning', async () => {
    const { api, said, session } = setup(() => true);
    heldBy(api, 'elsewhere', 42, 9000);
    const s = session('here', 7);
    await s.acquire('rolling', 'v3', true);
    expect(said[0]).toMatch(/^WARNING: --force: taking the deploy lock from u@elsewhere \(pid 42\)/);
    expect(api.lockHeader).toBe(api.lock!.id);
    await s.release();
  });
});
