import type { StepRecord } from '../deploy-report';
import type { LbAdmin, UpstreamStatus } from '../lb-client/lb-admin';
import { DeployContext } from '../strategies/deploy-context';
import { FakeClock } from '../test-support/fakes';
import type { Instance, Runtime } from './runtime';
import { swarmRollingUpdate } from './swarm-rolling-update';
import type { SwarmRuntime, SwarmTask, UpdateStatus } from './swarm-runtime';

/** One task's life, in fake-clock ms after the update started (undefined: never). */
interface Script {
  id: string;
  slotNo: number;
  version: string;
  appears: number;
  running?: number;
  healthyInLb?: number;
  stopAsked?: number;
  leftLb?: number;
  shutdown?: number;
  failed?: number;
}

/**
 * A Swarm service whose update unfolds on the fake clock as scripted, and the balancer's view of
 * its tasks (self-registered: they come and go by themselves).
 */
function simulatedSwarm(clock: FakeClock, scripts: Script[], status: (t: number) => UpdateStatus | undefined) {
  let t0: number | undefined;
  const calls: string[] = [];
  const at = (x: number | undefined) => t0 !== undefined && x !== undefined && clock.now() - t0 >= x;
  const before = (s: Script) => s.appears < 0;
  const visible = (s: Script) => before(s) || at(s.appears);
  const current = (s: Script) => (at(s.failed) ? 'failed' : at(s.shutdown) ? 'shutdown' : before(s) || at(s.running) ? 'running' : 'starting');
  const name = (s: Script) => `st_client.${s.slotNo}.${s.id}`;
  const inst = (s: Script): Instance => ({ slot: `client.${s.slotNo}`, name: name(s), url: `http://10.0.0.${s.id}:8081`, version: s.version });
  const runningNow = () => scripts.filter((s) => visible(s) && current(s) === 'running' && !at(s.stopAsked));
  const rt = {
    kind: 'swarm',
    serviceName: 'st_client',
    isServiceTask: () => true,
    async list() {
      const bySlot = new Map<number, Script>();
      for (const s of runningNow().reverse()) bySlot.set(s.slotNo, s);
      return [...bySlot.values()].sort((a, b) => a.slotNo - b.slotNo).map(inst);
    },
    async spec() {
      return { image: t0 === undefined ? 'zdl/swarm-client:v1' : 'zdl/swarm-client:v2', env: { APP_VERSION: t0 === undefined ? 'v1' : 'v2' }, replicas: 2 };
    },
    async prepare(v: string) {
      calls.push(`prepare ${v}`);
    },
    async tasks(): Promise<SwarmTask[]> {
      return scripts.filter(visible).map((s) => ({
        id: s.id,
        slotNo: s.slotNo,
        desired: at(s.stopAsked) || at(s.failed) ? 'shutdown' : 'running',
        current: current(s),
        error: at(s.failed) ? 'task: non-zero exit (137): dockerexec: unhealthy container' : '',
        version: s.version,
      }));
    },
    async updateStatus() {
      return t0 === undefined ? { state: 'completed', startedAt: 'earlier' } : status(clock.now() - t0);
    },
    async startRollingUpdate(v: string, _env: Record<string, string>, u: { parallelism: number }) {
      calls.push(`update ${v} parallelism ${u.parallelism}`);
      t0 = clock.now();
    },
    async rollback() {
      calls.push('rollback');
    },
  };
  const lb: Pick<LbAdmin, 'list' | 'get'> = {
    async list(): Promise<UpstreamStatus[]> {
      return scripts
        .filter((s) => visible(s) && (before(s) || at(s.running)) && !at(s.leftLb) && !at(s.failed))
        .map((s) => {
          const health = before(s) || at(s.healthyInLb) ? 'healthy' : 'unhealthy';
          return { name: name(s), url: inst(s).url, state: health, health, inFlight: 0, requests: 0, failures: 0, group: 'default', weight: 1 };
        });
    },
    async get(n: string) {
      return (await this.list()).find((u) => u.name === n);
    },
  };
  return { rt: rt as unknown as SwarmRuntime & Runtime, lb: lb as LbAdmin, calls };
}

function collect() {
  const steps: StepRecord[] = [];
  const messages: string[] = [];
  return { steps, messages, reporter: { stepStarted: () => {}, stepDone: (r: StepRecord) => steps.push(r), message: (m: string) => messages.push(m) } };
}

const OPTIONS = { version: 'v2', batchSize: 1, drainTimeoutMs: 30_000, healthTimeoutMs: 30_000, pauseMs: 0, surge: false, env: {}, monitorMs: 5000 };
const old = (id: string, slotNo: number, stop?: Partial<Script>): Script => ({ id, slotNo, version: 'v1', appears: -1, ...stop });

describe('swarmRollingUpdate (Swarm simulated on a fake clock)', () => {
  it('starts one start-first update and reports each task: start, health in the balancer, drain through the handshake, stop', async () => {
    const clock = new FakeClock();
    const { rt, lb, calls } = simulatedSwarm(
      clock,
      [
        old('a', 1, { stopAsked: 2500, leftLb: 3000, shutdown: 4000 }),
        old('b', 2, { stopAsked: 6500, leftLb: 7000, shutdown: 8000 }),
        { id: 'c', slotNo: 1, version: 'v2', appears: 500, running: 2000, healthyInLb: 2200 },
        { id: 'd', slotNo: 2, version: 'v2', appears: 4500, running: 6000, healthyInLb: 6200 },
      ],
      (t) => ({ state: t < 8500 ? 'updating' : 'completed', startedAt: 'now', message: 'update in progress' }),
    );
    const r = collect();
    const report = await swarmRollingUpdate(new DeployContext(lb, rt, clock, r.reporter), rt, OPTIONS);
    expect(report.error).toBeUndefined();
    expect(report.ok).toBe(true);
    expect(calls).toEqual(['prepare v2', 'update v2 parallelism 1']);
    const lines = r.steps.filter((s) => s.slot !== '*').map((s) => `${s.slot} ${s.step} ${s.ok ? 'ok' : 'FAILED'}`);
    for (const slot of ['client.1', 'client.2']) {
      expect(lines.filter((l) => l.startsWith(slot))).toEqual([`${slot} start ok`, `${slot} health ok`, `${slot} drain ok`, `${slot} stop ok`]);
    }
    // Timings come from what was observed: task c ran 1.5 s after it appeared (polled every 250 ms).
    const start1 = r.steps.find((s) => s.slot === 'client.1' && s.step === 'start')!;
    expect(start1.ms).toBeGreaterThanOrEqual(1250);
    expect(start1.ms).toBeLessThanOrEqual(1750);
    expect(report.slots.map((s) => `${s.slot} ${s.result}`)).toEqual(['client.1 updated', 'client.2 updated']);
  });

  it('a new task that fails its health check: Swarm rolls back, the report says whose rollback, the old tasks never stopped', async () => {
    const clock = new FakeClock();
    const { rt, lb, calls } = simulatedSwarm(
      clock,
      [old('a', 1), old('b', 2), { id: 'c', slotNo: 1, version: 'v2', appears: 500, failed: 9000 }],
      (t) => ({ state: t < 9500 ? 'updating' : t < 11_000 ? 'rollback_started' : 'rollback_completed', startedAt: 'now', message: t < 11_000 ? '' : 'rollback completed' }),
    );
    const r = collect();
    const report = await swarmRollingUpdate(new DeployContext(lb, rt, clock, r.reporter), rt, OPTIONS);
    expect(report.ok).toBe(false);
    expect(report.error?.code).toBe('DEPLOY_ERR_ROLLED_BACK');
    expect(report.error?.message).toMatch(/^the update to v2 was rolled back by Swarm \(failure_action rollback\): rollback completed \(client\.1: a new task failed/);
    expect(calls).not.toContain('rollback');
    expect(r.steps.filter((s) => !s.ok).map((s) => `${s.slot} ${s.step}`)).toEqual(['client.1 start']);
    expect(r.steps.some((s) => s.step === 'drain' || s.step === 'stop')).toBe(false);
    expect(report.slots.map((s) => s.result)).toEqual(['rolled-back', 'rolled-back']);
  });

  it('an update that neither completes nor fails within the time budget: the deployer asks Swarm to roll back, and says so', async () => {
    const clock = new FakeClock();
    let asked = -1;
    const { rt, lb, calls } = simulatedSwarm(clock, [old('a', 1), old('b', 2), { id: 'c', slotNo: 1, version: 'v2', appears: 500 }], (t) => {
      if (asked < 0 && calls.includes('rollback')) asked = t;
      return asked < 0 ? { state: 'updating', startedAt: 'now' } : { state: t - asked < 2000 ? 'rollback_started' : 'rollback_completed', startedAt: 'now', message: 'rollback completed' };
    });
    const report = await swarmRollingUpdate(new DeployContext(lb, rt, clock, collect().reporter), rt, { ...OPTIONS, healthTimeoutMs: 10_000 });
    expect(calls).toContain('rollback');
    // Budget: 2 batches × (health 10 s + monitor 5 s) + drain 30 s.
    expect(asked).toBeGreaterThanOrEqual(60_000);
    expect(asked).toBeLessThan(61_000);
    expect(report.error?.message).toMatch(/rolled back by the deployer \(docker service rollback: not done within 60000 ms\)/);
  });

  it('every task already on the version: nothing is started', async () => {
    const clock = new FakeClock();
    const { rt, lb, calls } = simulatedSwarm(clock, [old('a', 1), old('b', 2)], () => undefined);
    const report = await swarmRollingUpdate(new DeployContext(lb, rt, clock, collect().reporter), rt, { ...OPTIONS, version: 'v1' });
    expect(report.ok).toBe(true);
    expect(calls).toEqual([]);
    expect(report.slots.map((s) => s.result)).toEqual(['unchanged', 'unchanged']);
  });
});
