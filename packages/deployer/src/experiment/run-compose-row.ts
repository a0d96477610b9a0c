import fs from 'node:fs';
import path from 'node:path';
import { realClock } from '../clock';
import { silentReporter, type Reporter } from '../deploy-report';
import { HttpLbAdmin } from '../lb-client/http-lb-admin';
import type { CommandRunner } from '../runtime/command-runner';
import { ComposeRuntime, versionVar } from '../runtime/compose-runtime';
import { DEFAULT_DEPLOY_OPTIONS, DeployContext } from '../strategies/deploy-context';
import { rollingDeploy } from '../strategies/rolling-deploy';
import { COMPOSE_SERVICES, ComposeExperimentLab } from './compose-experiment-lab';
import type { ExperimentRow } from './experiment-rows';
import { knobsFor } from './mechanisms';
import { measureDeploy, readLbLog, type MeasureOptions, type RunResult } from './measure-deploy';

export interface ComposeRowOptions extends MeasureOptions {
  run: CommandRunner;
  composeFile: string;
  /** Prefix of the compose project names (one project per run, removed afterwards). */
  projectPrefix: string;
  onLab?: (lab: ComposeExperimentLab | undefined) => void;
  reporter?: Reporter;
  /** Where to keep the balancer's log of each run (to see why a row failed). */
  logDir?: string;
}

/**
 * One run of a row on docker compose: a fresh compose project with the row's lab switches, v2 built
 * beforehand (so no row pays for a build under load), the load, then either the deployer's rolling
 * deploy or, for the naive row, `docker compose up -d --force-recreate` of the service's containers.
 */
export async function runComposeRow(row: ExperimentRow, o: ComposeRowOptions): Promise<RunResult> {
  const knobs = knobsFor(row.on);
  const project = `${o.projectPrefix}-${row.id}-${Date.now().toString(36)}`;
  const lab = await ComposeExperimentLab.up(o.run, { composeFile: o.composeFile, project, env: { ...knobs.lbEnv, ...knobs.clientEnv } });
  o.onLab?.(lab);
  try {
    const lbLog = await lab.logs('lb');
    // zdl/lb:latest is a shared tag: make sure the image running is one that knows the lab switches.
    if (knobs.lbEnv.LB_LAB_DISABLE && !lbLog.includes('LAB SWITCH')) {
      throw new Error(`${row.id}: the balancer container did not report its lab switches; was zdl/lb:latest built from another checkout?`);
    }
    const lb = new HttpLbAdmin(lab.adminUrl, lab.token);
    await waitAllHealthy(lb, 30_000);
    const runtime = new ComposeRuntime({ project, composeFile: o.composeFile, envFile: lab.envFile, services: COMPOSE_SERVICES }, o.run);
    await runtime.prepare('v2');
    const run = await measureDeploy(lab.lbUrl, o, async () => {
      if (row.naive) {
        const began = Date.now();
        const env = Object.fromEntries(COMPOSE_SERVICES.map((s) => [versionVar(s), 'v2']));
        await lab.compose(['up', '-d', '--no-deps', '--no-build', '--force-recreate', ...COMPOSE_SERVICES], env);
        await waitServedBy(lab.lbUrl, 'v2', COMPOSE_SERVICES, 60_000);
        return { ok: true, durationMs: Date.now() - began };
      }
      const ctx = new DeployContext(lb, runtime, realClock, o.reporter ?? silentReporter);
      ctx.labSwitches = knobs.deploy;
      const report = await rollingDeploy(ctx, { ...DEFAULT_DEPLOY_OPTIONS, version: 'v2', healthTimeoutMs: 30_000 });
      return { ok: report.ok, durationMs: report.durationMs, error: report.error?.message };
    });
    const log = await lab.logs('lb');
    if (o.logDir) {
      fs.mkdirSync(o.logDir, { recursive: true });
      fs.writeFileSync(path.join(o.logDir, `${project}-lb.log`), log);
    }
    return { ...run, ...readLbLog(log) };
  } finally {
    await lab.down().catch(() => undefined);
    o.onLab?.(undefined);
  }
}

async function waitAllHealthy(lb: HttpLbAdmin, timeoutMs: number): Promise<void> {
  const began = Date.now();
  for (;;) {
    const ups = await lb.list().catch(() => []);
    if (ups.length >= COMPOSE_SERVICES.length && ups.every((u) => u.state === 'healthy')) return;
    if (Date.now() - began > timeoutMs) throw new Error(`the balancer did not see every instance healthy within ${timeoutMs} ms`);
    await realClock.sleep(100);
  }
}

/** Until every instance has answered with `version` through the balancer (the naive recreate is done). */
async function waitServedBy(lbUrl: string, version: string, instances: string[], timeoutMs: number): Promise<void> {
  const began = Date.now();
  const seen = new Set<string>();
  while (seen.size < instances.length) {
    if (Date.now() - began > timeoutMs) throw new Error(`not every instance answered with ${version} within ${timeoutMs} ms`);
    const body = await fetch(`${lbUrl}/api`).then((r) => (r.ok ? (r.json() as Promise<{ version?: string; instance?: string }>) : undefined)).catch(() => undefined);
    if (body?.version === version && body.instance && instances.includes(body.instance)) seen.add(body.instance);
    else await realClock.sleep(100);
  }
}

export const REPO_COMPOSE_FILE = path.resolve(__dirname, '../../../../docker-compose.yml');
