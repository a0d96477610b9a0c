import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isFailure, LoadChecker } from '@zdl/loadcheck';
import { HttpLbAdmin } from './lb-client/http-lb-admin';
import { LocalLab } from './local-lab';
import { type KillPoint, processesWithMarker, runDeployer } from './test-support/deployer-process';

// The deployer killed (SIGINT with a second Ctrl-C, and SIGKILL) at every kind of step of every
// strategy, under 200 GET/s + 20 POST/s, then the same command run again. One lab for the whole
// file: each scenario starts from the consistent lab the previous one left, with a new version.
// Instances stop after 200 ms without traffic instead of 1 s: the balancer drained them already,
// and the suite has a time budget.
jest.setTimeout(900_000);

const marker = `ZDL_CRASH_LAB=${crypto.randomBytes(6).toString('hex')}`;
let lab: LocalLab;
let lb: HttpLbAdmin;
let loads: LoadChecker[];
let n = 1;
let kills = 0;
/** SIGINT runs whose second Ctrl-C arrived while the repair still ran (it must only be acknowledged). */
let secondCtrlCLanded = 0;

beforeAll(async () => {
  const [k, v] = marker.split('=');
  lab = new LocalLab({ dir: fs.mkdtempSync(path.join(os.tmpdir(), 'zdl-crash-')), clientEnv: { [k]: v, SHUTDOWN_QUIET_MS: '200' } });
  await lab.start();
  lb = new HttpLbAdmin(lab.adminUrl, lab.state.adminToken);
  const began = Date.now();
  while ((await lb.list()).some((u) => u.state !== 'healthy')) {
    if (Date.now() - began > 10_000) throw new Error('lab did not become healthy');
    await new Promise((r) => setTimeout(r, 50));
  }
  loads = [
    new LoadChecker({ url: `${lab.lbUrl}/api`, rate: 200 }),
    new LoadChecker({ url: `${lab.lbUrl}/api`, rate: 20, method: 'POST', body: { order: 7 } }),
  ];
  loads.forEach((l) => l.start());
});

afterAll(async () => {
  const all = (await Promise.all((loads ?? []).map((l) => l.stop()))).flat();
  console.log(`crash safety: ${kills} deployer kills, each followed by a rerun; ${all.length} requests sent, ${all.filter(isFailure).length} failed; a second Ctrl-C landed during the repair in ${secondCtrlCLanded} run(s)`);
  await lab?.stop();
});

const failures = () => loads.flatMap((l) => l.outcomes).filter(isFailure);

const common = () => ['--runtime', 'local', '--state', lab.stateFile.file, '--drain-timeout', '5s', '--health-timeout', '15s'];

/** What "consistent" means, asked of the balancer, the runtime and the process table. */
async function expectConsistent(version?: string): Promise<void> {
  const rt = lab.runtime();
  const slots = await rt.slots();
  const ups = await lb.list();
  expect(slots.every((s) => s.running)).toBe(true);
  expect(ups.map((u) => `${u.name} ${u.state} ${u.group}`).sort()).toEqual(slots.map((s) => `${s.running!.name} healthy default`).sort());
  expect(await lb.getSplit()).toBeNull();
  expect(await rt.helpers()).toEqual([]);
  if (version) expect(slots.map((s) => s.running!.version)).toEqual(slots.map(() => version));
  // Exactly one process per slot: no orphan instance anywhere.
  expect(processesWithMarker(marker).sort()).toEqual(Object.values(lab.state.slots).map((p) => p.pid).sort());
  expect((await lb.deployState()).lock).toBeNull();
}

async function killThenRerun(strategyArgs: string[], kill: KillPoint): Promise<void> {
  const version = `v${++n}`;
  const args = [...common(), ...strategyArgs, '--version', version];
  const first = await runDeployer(args, kill);
  kills++;
  const where = `${strategyArgs.join(' ')} killed with ${kill.signal} at ${kill.step}#${kill.nth ?? 1}`;
  if (!first.killed) throw new Error(`${where}: the deployer never reported that step:\n${first.output}`);
  if (kill.signal === 'SIGKILL') expect(first.signal).toBe('SIGKILL');
  else {
    // Interrupted: repaired before exiting, consistent, exit 1 (or 0 if the step was the last).
    if (first.code !== 1) throw new Error(`${where}: exit ${first.code}\n${first.output}`);
    expect(first.output).toContain('the lab is consistent');
    // A second Ctrl-C during the repair changes nothing (it is only acknowledged). The repair can end
    // before the signal arrives (a fast step), so the message is asserted only when it was seen.
    if (first.output.includes(' again: ')) expect(first.output).toContain('again: already stopping');
    if (first.output.includes(' again: ')) secondCtrlCLanded++;
    await expectConsistent();
  }
  const again = await runDeployer(args);
  if (again.code !== 0) throw new Error(`${where}, then run again: exit ${again.code}\n${again.output}`);
  if (kill.signal === 'SIGKILL') expect(again.output).toMatch(/is gone \(no process \d+ on this host\): taking over[\s\S]*found an unfinished/);
  await expectConsistent(version);
  const f = failures();
  if (f.length > 0) throw new Error(`${where}: ${f.length} failed requests so far, e.g. ${JSON.stringify(f.slice(0, 3))}\n${first.output}\n${again.output}`);
}

const signals: KillPoint['signal'][] = ['SIGINT', 'SIGKILL'];
const point = (step: string, signal: KillPoint['signal'], nth = 1): KillPoint => ({ step, nth, signal, ...(signal === 'SIGINT' ? { again: true } : {}) });

describe('a deployer interrupted or killed at any step loses nothing (local runtime, under load)', () => {
  it('rolling: drain, stop, start, health gate', async () => {
    for (const step of ['drain', 'stop', 'start', 'health']) {
      for (const s of signals) await killThenRerun(['--strategy', 'rolling'], point(step, s));
    }
    // The second slot's steps too: the first one is already on the new version when it dies.
    await killThenRerun(['--strategy', 'rolling'], point('stop', 'SIGKILL', 2));
    expect(failures()).toEqual([]);
  });

  it('blue/green: green start, green health gate, swap, blue drain, refill', async () => {
    for (const step of ['start-beside', 'health', 'switch', 'drain', 'stop', 'remove-beside']) {
      for (const s of signals) await killThenRerun(['--strategy', 'blue-green'], point(step, s));
    }
    expect(failures()).toEqual([]);
  });

  it('canary: canary start, health gate, canary step, promotion refill', async () => {
    // Short steps over few requests: latency is not what is tested here (a p99 over 1 s of a fresh
    // instance on a busy machine is noise), so it gets a wide margin; errors are still judged.
    const canary = ['--strategy', 'canary', '--canary-steps', '50,100', '--step-duration', '1s', '--analysis-interval', '500ms', '--min-requests', '5', '--p99-slack', '10s'];
    // (Helper removal on real processes is covered by blue/green; the fake replay covers every step.)
    for (const step of ['start-beside', 'health', 'canary-step', 'stop']) {
      for (const s of signals) await killThenRerun(canary, point(step, s));
    }
    expect(failures()).toEqual([]);
  });

  it('a second deployer is refused with the holder named (exit 2), and --force takes over with a warning', async () => {
    const version = `v${++n}`;
    const slow = ['--strategy', 'canary', '--canary-steps', '100', '--step-duration', '3s', '--analysis-interval', '500ms', '--min-requests', '5', '--p99-slack', '10s'];
    const holder = runDeployer([...common(), ...slow, '--version', version]);
    // Wait for the lock to be held (the holder's journal has a step).
    for (let i = 0; i < 200 && !(await lb.deployState()).lock; i++) await new Promise((r) => setTimeout(r, 25));
    const second = await runDeployer([...common(), '--strategy', 'rolling', '--version', 'v99']);
    expect(second.code).toBe(2);
    expect(second.output).toMatch(/another deploy is running: \S+@\S+ \(pid \d+\) since \S+: canary deploy of v\d+/);
    expect(second.output).toContain('nothing was changed');
    // An operator forces a recovery: the holder is fenced out (exit 3, it changes nothing more), the lab repaired.
    const forced = await runDeployer([...common(), '--recover', '--force']);
    expect(forced.output).toMatch(/WARNING: --force: taking the deploy lock from \S+ \(pid \d+\)/);
    if (forced.code !== 0) throw new Error(`--recover --force: exit ${forced.code}\n${forced.output}`);
    const first = await holder;
    expect(first.code).toBe(3);
    expect(first.output).toContain('stopped without repairing');
    await expectConsistent();
    expect(failures()).toEqual([]);
  });
});
