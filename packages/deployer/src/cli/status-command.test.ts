import { FakeClock, fakeBalancer, FakeLb, FakeLockApi, FakeRuntime } from '../test-support/fakes';
import { formatStatus, labStatus } from './status-command';

function setup() {
  const clock = new FakeClock();
  const runtime = new FakeRuntime(clock, ['c1', 'c2']);
  runtime.bootMs = 0;
  const lb = new FakeLb(runtime);
  for (const p of runtime.procs.values()) lb.register(p.inst);
  const lock = new FakeLockApi();
  const balancer = Object.assign(fakeBalancer(lb, lock), { baseUrl: 'http://127.0.0.1:1' });
  return { runtime, lb, lock, balancer };
}

const journal = (outcome?: string) => ({
  v: 1,
  command: 'deploy',
  strategy: 'rolling',
  version: 'v2',
  runtime: 'fake',
  holder: { host: 'h', pid: 42, user: 'ann' },
  startedAt: 'T0',
  phase: 'deploying',
  slots: [],
  registered: [],
  recovered: [],
  entries: [{ at: 'T1', slot: 'c1', step: 'stop', state: 'started' }],
  ...(outcome ? { outcome, exitCode: 0 } : {}),
});

describe('deploy status', () => {
  it('shows upstreams with versions, the split, the lock, the last deploy, and an unfinished one whose deployer is gone', async () => {
    const { runtime, lb, lock, balancer } = setup();
    await runtime.stop(runtime.procs.get('c2')!.inst);
    await lb.setSplit([{ group: 'canary', weight: 10 }]);
    await lock.acquireLock({ holder: { host: 'h', pid: 42, user: 'ann' }, strategy: 'rolling', version: 'v2', leaseMs: 10_000 });
    lock.previousJournal = { id: 'old', updatedAt: 'T', data: journal('done') };
    lock.journal = { id: lock.lock!.id, updatedAt: 'T', data: journal() };
    const alive = await labStatus(balancer, runtime, { name: 'h', isAlive: () => true });
    expect(alive.needsRecovery).toBeNull();
    const s = await labStatus(balancer, runtime, { name: 'h', isAlive: () => false });
    expect(s.upstreams.map((u) => `${u.name} ${u.version} ${u.role}`)).toEqual(['c1 v1 slot', 'c2 ? unknown']);
    expect(s.emptySlots).toEqual(['c2']);
    expect(s.split).toEqual([{ group: 'canary', weight: 10 }]);
    expect(s.lock).toMatchObject({ holder: 'ann@h pid 42', strategy: 'rolling', version: 'v2', holderGone: true });
    expect(s.lastDeploy).toMatchObject({ id: 'old', outcome: 'done' });
    expect(s.needsRecovery!.description).toContain('last step: c1 stop started');
    expect(s.pages).toEqual([]);
    const text = formatStatus(s);
    expect(text).toContain('slot c2: nothing running');
    expect(text).toContain('needs recovery: yes');
    expect(text).toContain('pages: none');
  });

  it("lists the balancer's pages with their address, and the dashboard's login URL from the deployer's own token", async () => {
    const { lock, balancer } = setup();
    lock.pages = [{ name: 'dashboard', url: '/dashboard' }];
    const s = await labStatus(Object.assign(balancer, { dashboardLoginUrl: () => 'http://127.0.0.1:1/dashboard?token=t' }), undefined);
    expect(s.pages).toEqual([{ name: 'dashboard', url: 'http://127.0.0.1:1/dashboard', loginUrl: 'http://127.0.0.1:1/dashboard?token=t' }]);
    expect(formatStatus(s)).toContain('pages: dashboard http://127.0.0.1:1/dashboard (login: http://127.0.0.1:1/dashboard?token=t)');
  });
});
