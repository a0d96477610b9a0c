import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { realClock } from '../clock';
import { silentReporter, type Reporter } from '../deploy-report';
import { HttpLbAdmin } from '../lb-client/http-lb-admin';
import { LocalLab } from '../local-lab';
import { DEFAULT_DEPLOY_OPTIONS, DeployContext } from '../strategies/deploy-context';
import { rollingDeploy } from '../strategies/rolling-deploy';
import type { ExperimentRow } from './experiment-rows';
import { knobsFor } from './mechanisms';
import { measureDeploy, readLbLog, type MeasureOptions, type RunResult } from './measure-deploy';

export interface LocalRowOptions extends MeasureOptions {
  /** Called with the lab once it runs, so an interrupted experiment can stop it. */
  onLab?: (lab: LocalLab | undefined) => void;
  reporter?: Reporter;
  /** Where to keep the balancer's log of each run (to see why a row failed). */
  logDir?: string;
}

/**
 * One run of a row on the local runtime: a fresh lab (balancer + 2 instances of v1) with the row's
 * lab switches, the load, a rolling deploy of v2 by the deployer's own strategy, then everything stopped.
 */
export async function runLocalRow(row: ExperimentRow, o: LocalRowOptions): Promise<RunResult> {
  if (row.naive) throw new Error(`row ${row.id} needs the compose runtime`);
  const knobs = knobsFor(row.on);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `zdl-exp-${row.id}-`));
  const lab = new LocalLab({ dir, clientEnv: knobs.clientEnv, lbEnv: knobs.lbEnv });
  o.onLab?.(lab);
  try {
    await lab.start();
    const lb = new HttpLbAdmin(lab.adminUrl, lab.state.adminToken);
    const began = Date.now();
    while ((await lb.list()).some((u) => u.state !== 'healthy')) {
      if (Date.now() - began > 15_000) throw new Error(`${row.id}: the lab's instances did not become healthy (logs in ${dir}/logs)`);
      await realClock.sleep(50);
    }
    const run = await measureDeploy(lab.lbUrl, o, async () => {
      const ctx = new DeployContext(lb, lab.runtime(), realClock, o.reporter ?? silentReporter);
      ctx.labSwitches = knobs.deploy;
      const report = await rollingDeploy(ctx, { ...DEFAULT_DEPLOY_OPTIONS, version: 'v2', healthTimeoutMs: 15_000 });
      return { ok: report.ok, durationMs: report.durationMs, error: report.error?.message };
    });
    const log = path.join(dir, 'logs', 'lb.log');
    if (o.logDir && fs.existsSync(log)) {
      fs.mkdirSync(o.logDir, { recursive: true });
      fs.copyFileSync(log, path.join(o.logDir, `${path.basename(dir)}-lb.log`));
    }
    return { ...run, ...(fs.existsSync(log) ? readLbLog(fs.readFileSync(log, 'utf8')) : {}) };
  } finally {
    await lab.stop();
    o.onLab?.(undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
