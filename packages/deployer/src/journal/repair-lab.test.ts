import { Interrupts } from '../cli/interrupts';
import { parseArgs } from '../cli/parse-args';
import { runDeployCommand } from '../cli/run-deploy-command';
import { silentReporter } from '../deploy-report';
import { FakeClock, fakeBalancer, FakeLb, FakeLockApi, FakeRuntime, mortal, trafficMetrics } from '../test-support/fakes';
import { asJournal } from './journal-data';

// Replay of the journal for every step: the deployer dies (like a SIGKILL) at each step of each
// strategy, either right after writing its intent (nothing of the step done) or right after the
// step's action (not yet recorded); then the next deploy command, given the same arguments, finds
// the unfinished deploy, repairs it and deploys.

const STRATEGIES: Record<string, string[]> = {
  rolling: ['--strategy', 'rolling'],
  'rolling with surge': ['--strategy', 'rolling', '--surge'],
  'blue-green': ['--strategy', 'blue-green'],
  canary: ['--strategy', 'canary', '--canary-steps', '50,100', '--step-duration', '2s', '--min-requests', '1'],
};

function world() {
  const clock = new FakeClock();
  const runtime = new FakeRuntime(clock, ['c1', 'c2']);
  const lb = new FakeLb(runtime);
  for (const p of runtime.procs.values()) lb.register(p.inst);
  lb.metricsText = trafficMetrics(lb, 0);
  const lock = new FakeLockApi();
  return { clock, runtime, lb, lock, balancer: fakeBalancer(lb, lock) };
}

type World = ReturnType<typeof world>;

function run(w: World, argv: string[], pid: number, mortalState?: { dead: boolean }) {
  const args = parseArgs([...argv, '--version', 'v2', '--health-timeout', '5s'], {});
  return runDeployCommand({
    args,
    lb: mortalState ? mortal(w.balancer, mortalState) : w.balancer,
    runtime: mortalState ? mortal(w.runtime, mortalState) : w.runtime,
    clock: w.clock,
    reporter: silentReporter,
    holder: { host: 'here', pid, user: 'test' },
    // The dead deployer (pid 1) is gone; the next one is alive.
    isAlive: (p) => p !== 1,
    interrupts: new Interrupts(() => {}, { on: () => process, off: () => process } as never),
    renewMs: 3_600_000,
  });
}

/** Steps a clean deploy goes through (the kill points). */
async function stepCount(argv: string[]): Promise<number> {
  const w = world();
  const r = await run(w, argv, 7);
  expect(r.exitCode).toBe(0);
  return asJournal(w.lock.journal!.data)!.entries.length;
}

function expectConsistent(w: World, version: string): void {
  const slots = [...w.runtime.procs.values()];
  expect(slots.map((p) => `${p.inst.name} ${p.inst.version} ${p.running}`).sort()).toEqual([`c1 ${version} true`, `c2 ${version} true`]);
  expect([...w.lb.ups.entries()].map(([n, u]) => `${n} ${u.admin} ${u.group}`).sort()).toEqual(['c1 active default', 'c2 active default']);
  expect(w.lb.split).toBeNull();
  expect(w.lb.inRotation().sort()).toEqual(['c1', 'c2']);
  expect(w.lock.lock).toBeNull();
}

describe('a deploy killed at any step is repaired by the next deploy command (fake runtime, fake balancer)', () => {
  for (const [name, argv] of Object.entries(STRATEGIES)) {
    it(`${name}: dies before or after each step; the next command repairs, then deploys, never with nothing in rotation`, async () => {
      const steps = await stepCount(argv);
      expect(steps).toBeGreaterThan(5);
      const seen: string[] = [];
      for (let k = 1; k <= steps; k++) {
        for (const when of ['before', 'after'] as const) {
          const w = world();
          const state = { dead: false };
          let starts = 0;
          let dones = 0;
          let at = '';
          w.lock.onDeath = () => (state.dead = true);
          w.lock.beforeWrite = (raw) => {
            const j = asJournal(raw)!;
            const s = j.entries.length;
            const d = j.entries.filter((e) => e.state !== 'started').length;
            const isStart = s > starts;
            const isDone = d > dones;
            starts = s;
            dones = d;
            const e = isStart ? j.entries[s - 1] : undefined;
            if (when === 'before' && isStart && s === k) {
              at = `${e!.slot} ${e!.step}`;
              return 'store-then-die';
            }
            if (when === 'after' && isDone && d === k) {
              at = `after ${j.entries.filter((x) => x.state !== 'started').slice(-1)[0]?.step}`;
              return 'die';
            }
            return undefined;
          };
          await run(w, argv, 1, state).catch(() => undefined);
          if (!state.dead) continue;
          seen.push(`${when} ${at}`);
          w.lock.beforeWrite = undefined;
          const next = await run(w, argv, 2);
          if (next.exitCode !== 0) throw new Error(`${name}, killed ${when} step ${k} (${at}): exit ${next.exitCode}: ${next.summary}\n${JSON.stringify(next.repair)}`);
          expect(next.found).toMatch(/unfinished/);
          expectConsistent(w, 'v2');
          expect(w.lb.minInRotation).toBeGreaterThanOrEqual(1);
        }
      }
      // Every kind of step was a kill point.
      expect(seen.length).toBeGreaterThanOrEqual(steps);
    });
  }

  it('a command killed while repairing hands the dead deploy\'s steps on: the third command still finishes the stop in progress', async () => {
    const w = world();
    const first = { dead: false };
    w.lock.onDeath = () => (first.dead = true);
    w.lock.beforeWrite = (raw) => (asJournal(raw)!.entries.some((e) => e.slot === 'c1' && e.step === 'stop' && e.state === 'started') ? 'store-then-die' : undefined);
    await run(w, ['--strategy', 'rolling'], 1, first).catch(() => undefined);
    expect(first.dead).toBe(true);
    // The second command dies as it begins to repair.
    const second = { dead: false };
    w.lock.onDeath = () => (second.dead = true);
    w.lock.beforeWrite = (raw) => (asJournal(raw)!.phase === 'repairing' ? 'store-then-die' : undefined);
    await run(w, ['--strategy', 'rolling'], 1, second).catch(() => undefined);
    expect(second.dead).toBe(true);
    expect(asJournal(w.lock.journal!.data)!.inherited!.some((e) => e.slot === 'c1' && e.step === 'stop')).toBe(true);
    w.lock.beforeWrite = undefined;
    const third = await run(w, ['--strategy', 'rolling'], 2);
    expect(third.exitCode).toBe(0);
    expect(third.repair!.actions[0]).toMatch(/^c1: (finishing the stop|nothing running)/);
    expectConsistent(w, 'v2');
  });

  it('--recover only repairs: the slots keep the versions they ended with', async () => {
    const w = world();
    const state = { dead: false };
    w.lock.onDeath = () => (state.dead = true);
    w.lock.beforeWrite = (raw) => (asJournal(raw)!.entries.some((e) => e.slot === 'c1' && e.step === 'stop' && e.state === 'started') ? 'store-then-die' : undefined);
    await run(w, ['--strategy', 'rolling'], 1, state).catch(() => undefined);
    expect(state.dead).toBe(true);
    w.lock.beforeWrite = undefined;
    const r = await runDeployCommand({
      args: parseArgs(['--recover'], {}),
      lb: w.balancer,
      runtime: w.runtime,
      clock: w.clock,
      reporter: silentReporter,
      holder: { host: 'here', pid: 2, user: 'test' },
      isAlive: () => false,
      interrupts: new Interrupts(() => {}, { on: () => process, off: () => process } as never),
      renewMs: 3_600_000,
    });
    expect(r.exitCode).toBe(0);
    expect(r.repair!.actions.join('\n')).toMatch(/c1: finishing the stop|c1: nothing running; starting v1/);
    expectConsistent(w, 'v1');
  });
});
