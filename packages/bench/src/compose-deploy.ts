import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { StepRecord } from '@zdl/deployer';
import { say } from './bench-log';
import { breakdown, PHASES } from './deploy-bench';
import { REPO } from './targets';

/** Times `npm run rolling-deploy` on a compose lab that is already running; skipped otherwise. */
export async function composeDeploy(warnings: string[]): Promise<Record<string, unknown> | undefined> {
  const info = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8' });
  if (info.status !== 0) {
    warnings.push('--compose: no Docker engine answers; skipped');
    say('compose deploy: skipped (no Docker engine answers)');
    return { skipped: 'no docker engine' };
  }
  const ps = spawnSync('docker', ['compose', 'ps', '-q'], { encoding: 'utf8', cwd: REPO });
  if (ps.status !== 0 || ps.stdout.trim() === '') {
    warnings.push('--compose: the compose lab is not running (start it with npm run lab); skipped');
    say('compose deploy: skipped (start the lab with npm run lab first)');
    return { skipped: 'compose lab not running' };
  }
  const file = path.join(os.tmpdir(), `zdl-bench-compose-${process.pid}.json`);
  say('compose deploy: npm run rolling-deploy -- --version bench (this can take a while)...');
  const began = performance.now();
  const r = spawnSync('npm', ['run', '-s', 'rolling-deploy', '--', '--version', `bench-${Date.now()}`, '--json', file], { cwd: REPO, encoding: 'utf8', timeout: 600_000 });
  const wallS = (performance.now() - began) / 1000;
  try {
    const report = JSON.parse(fs.readFileSync(file, 'utf8')) as { ok: boolean; durationMs: number; steps: StepRecord[] };
    fs.rmSync(file, { force: true });
    const b = breakdown(report.steps);
    say(`  compose: ${(report.durationMs / 1000).toFixed(1)} s, per instance ${PHASES.map((p) => `${p} ${Math.round(b.perInstance[p])}`).join(', ')} ms`);
    return { ok: report.ok, durationMs: report.durationMs, wallS, ...b };
  } catch {
    warnings.push(`--compose: rolling-deploy exited ${r.status}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`);
    return { ok: false, exit: r.status };
  }
}
