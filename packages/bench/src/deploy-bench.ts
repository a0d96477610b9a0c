import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_DEPLOY_OPTIONS, DeployContext, HttpLbAdmin, LocalLab, realClock, rollingDeploy, type DeployReport, type Reporter, type StepRecord } from '@zdl/deployer';
import { LoadChecker, summarize } from '@zdl/loadcheck';
import { onCleanup, sleep } from './procs';

/** Per-instance phases of an in-place rolling deploy, from the report's steps. */
export const PHASES = ['drain', 'stop', 'start', 'health gate'] as const;
export type Phase = (typeof PHASES)[number];
const PHASE_OF: Record<string, Phase | undefined> = {
  drain: 'drain',
  deregister: 'drain',
  stop: 'stop',
  start: 'start',
  register: 'health gate',
  health: 'health gate',
  enable: 'health gate',
};

export interface DeployBenchResult {
  instances: number;
  ok: boolean;
  error?: string;
  durationMs: number;
  /** Mean ms per instance for each phase, and their sum. */
  perInstance: Record<Phase, number> & { total: number };
  /** Each slot's phases in ms. */
  slots: ({ slot: string } & Record<Phase, number>)[];
  /** Steps outside any slot (prepare). */
  otherMs: number;
  load: { rate: number; sent: number; failed: number; failedByCause: Record<string, number> };
  steps: StepRecord[];
}

/**
 * Starts a LocalLab with `instances` instances of v1, waits until all are healthy in the balancer,
 * and rolls them to v2 with the default options under light steady load; returns the time per phase.
 */
export async function benchRollingDeploy(instances: number, say: (s: string) => void, loadRate = 100): Promise<DeployBenchResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `zdl-bench-deploy${instances}-`));
  const lab = new LocalLab({ dir, instances });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await lab.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  onCleanup(`local lab (${instances})`, stop);
  try {
    const t0 = performance.now();
    await lab.start();
    const lb = new HttpLbAdmin(lab.adminUrl, lab.state.adminToken);
    await waitAllHealthy(lb, instances, 20_000);
    say(`  lab of ${instances} instances up and healthy in ${((performance.now() - t0) / 1000).toFixed(1)} s; rolling deploy v1 → v2 under ${loadRate} req/s...`);
    const load = new LoadChecker({ url: `${lab.lbUrl}/api`, rate: loadRate });
    load.start();
    await sleep(500);
    const reporter = slotReporter(say, instances);
    const report: DeployReport = await rollingDeploy(new DeployContext(lb, lab.runtime(), realClock, reporter), { ...DEFAULT_DEPLOY_OPTIONS, version: 'v2' });
    await sleep(500);
    const outcomes = await load.stop();
    const { failed, failedByCause } = summarize(outcomes);
    return {
      instances,
      ok: report.ok,
      error: report.error?.message,
      durationMs: report.durationMs,
      ...breakdown(report.steps),
      load: { rate: loadRate, sent: outcomes.length, failed, failedByCause },
      steps: report.steps,
    };
  } finally {
    await stop();
  }
}

export function breakdown(steps: StepRecord[]): Pick<DeployBenchResult, 'perInstance' | 'slots' | 'otherMs'> {
  const slots = new Map<string, { slot: string } & Record<Phase, number>>();
  let otherMs = 0;
  for (const s of steps) {
    const phase = PHASE_OF[s.step];
    if (s.slot === '*' || !phase) {
      otherMs += s.ms;
      continue;
    }
    let e = slots.get(s.slot);
    if (!e) slots.set(s.slot, (e = { slot: s.slot, drain: 0, stop: 0, start: 0, 'health gate': 0 }));
    e[phase] += s.ms;
  }
  const list = [...slots.values()];
  const n = Math.max(1, list.length);
  const perInstance = { drain: 0, stop: 0, start: 0, 'health gate': 0, total: 0 } as Record<Phase, number> & { total: number };
  for (const p of PHASES) perInstance[p] = list.reduce((a, e) => a + e[p], 0) / n;
  perInstance.total = PHASES.reduce((a, p) => a + perInstance[p], 0);
  return { perInstance, slots: list, otherMs };
}

async function waitAllHealthy(lb: HttpLbAdmin, n: number, timeoutMs: number): Promise<void> {
  const began = Date.now();
  for (;;) {
    const list = await lb.list().catch(() => []);
    if (list.length >= n && list.every((u) => u.state === 'healthy')) return;
    if (Date.now() - began > timeoutMs) throw new Error(`lab: ${list.filter((u) => u.state === 'healthy').length}/${n} healthy after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** Prints one line per replaced slot (with its phases), not one per step. */
function slotReporter(say: (s: string) => void, instances: number): Reporter {
  const bySlot = new Map<string, StepRecord[]>();
  let done = 0;
  return {
    stepStarted: () => {},
    message: (text) => say(`    ${text}`),
    stepDone: (r) => {
      if (r.slot === '*') return;
      const list = bySlot.get(r.slot) ?? [];
      list.push(r);
      bySlot.set(r.slot, list);
      if (!r.ok) say(`    ${r.slot} ${r.step} FAILED after ${r.ms} ms: ${r.detail ?? ''}`);
      if (r.step === 'enable' && r.ok) {
        done++;
        const b = breakdown(list).perInstance;
        say(`    [${done}/${instances}] ${r.slot} replaced in ${(b.total / 1000).toFixed(2)} s: ${PHASES.map((p) => `${p} ${Math.round(b[p])}`).join(', ')} ms`);
      }
    },
  };
}
