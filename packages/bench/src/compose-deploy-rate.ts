import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FixedRateResult } from './fixed-rate';
import type { LoadResult } from './load-worker';
import { cleanupAll, forkForResult, onCleanup, sleep } from './procs';
import { DIST, getJson, REPO } from './targets';

/**
 * npm run bench:deploy-rate — during a rolling deploy on docker compose, the highest GET rate with
 * 0 failed requests and p99 ≤ 100 ms, for each balancer setting (proxy engine × workers).
 * For each setting it starts its own compose project (LB_PROXY_ENGINE, LB_WORKERS), then for each
 * rate, ascending: a fixed-rate GET load (coordinated-omission aware: latency from each request's
 * intended send time) for --load-s seconds, with `deployer --strategy rolling` started 1.5 s in.
 * It stops a setting at the first rate that misses (0 failed and p99 ≤ --p99-ms), and downs the project.
 *   --settings <engine:workers,...>  default http-proxy:1,http-proxy:2,undici:1,undici:2
 *   --rates <n,n,...>                default 500,1000,1500,2000,2500,3000
 *   --load-s <s>                     load per rate (default 16; a 2-instance deploy takes ~8-11 s)
 *   --p99-ms <ms>                    default 100
 *   --all                            measure every rate (no stop at the first miss): failures beyond the latency limit
 *   --out <file.json>                default bench-results/deploy-rate-<ts>.json
 * Needs Docker; NODE_IMAGE as for the lab (e.g. zdl/node:20-local).
 */
const run = promisify(execFile);
const DEPLOYER = path.join(REPO, 'packages/deployer/dist/main.js');

interface Args {
  settings: { engine: string; workers: number }[];
  rates: number[];
  loadS: number;
  p99Ms: number;
  all: boolean;
  out: string;
}

export interface RateStep {
  rate: number;
  deployOk: boolean;
  deployMs: number;
  sent: number;
  failed: number;
  errorCodes: Record<string, number>;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  /** The worst 1-second window's p99 (the deploy's own moments). */
  worstWindowP99: number;
  keptRate: boolean;
  pass: boolean;
}

function parse(argv: string[]): Args {
  const ts = new Date().toISOString().replace(/[:.]/g, '-');
  const a: Args = {
    settings: ['http-proxy:1', 'http-proxy:2', 'undici:1', 'undici:2'].map(setting),
    rates: [500, 1000, 1500, 2000, 2500, 3000],
    loadS: 16,
    p99Ms: 100,
    all: false,
    out: path.join(REPO, 'bench-results', `deploy-rate-${ts}.json`),
  };
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--all') {
      a.all = true;
      continue;
    }
    const v = argv[++i];
    if (v === undefined) problems.push(`${k}: needs a value`);
    else if (k === '--settings') a.settings = v.split(',').map(setting);
    else if (k === '--rates') a.rates = v.split(',').map(Number);
    else if (k === '--load-s') a.loadS = Number(v);
    else if (k === '--p99-ms') a.p99Ms = Number(v);
    else if (k === '--out') a.out = path.resolve(v);
    else problems.push(`unknown argument ${k}`);
  }
  if (a.settings.some((s) => !['http-proxy', 'undici'].includes(s.engine) || !(s.workers >= 1))) problems.push('--settings: expected engine:workers pairs, e.g. undici:2 (engine http-proxy or undici)');
  if (a.rates.some((r) => !(r > 0))) problems.push('--rates: expected positive numbers');
  if (!(a.loadS >= 12)) problems.push('--load-s: expected a number ≥ 12 (the load must cover the deploy)');
  if (!(a.p99Ms > 0)) problems.push('--p99-ms: expected a positive number');
  if (problems.length) throw new Error(problems.join('\n'));
  a.rates.sort((x, y) => x - y);
  return a;
}

function setting(s: string): { engine: string; workers: number } {
  const [engine, workers] = s.split(':');
  return { engine, workers: Number(workers ?? 1) };
}

/** One compose project of the lab with the given balancer env; down() removes it. */
async function upLab(vars: Record<string, string>, say: (s: string) => void) {
  const project = `zdl-rate-${Date.now().toString(36)}`;
  const token = crypto.randomBytes(16).toString('hex');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zdl-rate-'));
  const envFile = path.join(dir, 'lab.env');
  const all = { LB_PUBLISH: '127.0.0.1::8080', LB_ADMIN_PUBLISH: '127.0.0.1::8090', LB_ADMIN_HOST: '0.0.0.0', LB_ADMIN_TOKEN: token, NODE_IMAGE: process.env.NODE_IMAGE ?? 'node:20-bookworm-slim', ...vars };
  fs.writeFileSync(envFile, Object.entries(all).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  const compose = (...args: string[]) => run('docker', ['compose', '-p', project, '-f', path.join(REPO, 'docker-compose.yml'), '--env-file', envFile, ...args], { cwd: REPO, maxBuffer: 16 << 20 });
  const versions: string[] = [];
  let downed = false;
  const down = async () => {
    if (downed) return;
    downed = true;
    await compose('down', '-v', '-t', '10').catch(() => undefined);
    if (versions.length) await run('docker', ['image', 'rm', ...versions.map((v) => `zdl/client:${v}`)]).catch(() => undefined);
    fs.rmSync(path.join(REPO, '.lab', 'compose', project), { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  };
  onCleanup(`compose project ${project}`, down);
  say(`  compose project ${project} (${Object.entries(vars).map(([k, v]) => `${k}=${v}`).join(' ')}): building and starting...`);
  await compose('up', '-d', '--build', '--wait', '--wait-timeout', '300');
  const port = async (p: string) => Number((await compose('port', 'lb', p)).stdout.trim().split(':').pop());
  const lbUrl = `http://127.0.0.1:${await port('8080')}`;
  const adminUrl = `http://127.0.0.1:${await port('8090')}`;
  const began = Date.now();
  for (;;) {
    const r = await getJson<{ upstreams: { state: string }[] }>(`${adminUrl}/upstreams`, 2000, { authorization: `Bearer ${token}` }).catch(() => undefined);
    if (r && r.upstreams.length >= 2 && r.upstreams.every((u) => u.state === 'healthy')) break;
    if (Date.now() - began > 30_000) throw new Error(`${project}: upstreams not healthy after 30 s`);
    await sleep(200);
  }
  const deploy = (version: string) =>
    new Promise<{ ok: boolean; ms: number; output: string }>((resolve) => {
      versions.push(version);
      const t0 = performance.now();
      const child = spawn(process.execPath, [DEPLOYER, '--strategy', 'rolling', '--project', project, '--env-file', envFile, '--admin-url', adminUrl, '--token', token, '--no-receipt', '--version', version], {
        cwd: REPO,
        env: { ...process.env, NODE_IMAGE: all.NODE_IMAGE },
      });
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      child.on('close', (code) => resolve({ ok: code === 0, ms: performance.now() - t0, output }));
    });
  /** The balancer's log (its warnings name every failed request's class and code). */
  const lbLog = async () => (await compose('logs', '--no-color', '--no-log-prefix', 'lb').catch(() => ({ stdout: '' }))).stdout;
  return { project, lbUrl, deploy, down, lbLog };
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  const say = (s: string) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);
  say(`deploy-rate: rates ${args.rates.join(', ')} GET/s, ${args.loadS} s of load per rate, pass = 0 failed and p99 ≤ ${args.p99Ms} ms; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const results: { engine: string; workers: number; steps: RateStep[]; highestPassing?: number; loadavg: number[] }[] = [];
  for (const s of args.settings) {
    say(`setting: engine ${s.engine}, workers ${s.workers}`);
    const lab = await upLab({ LB_PROXY_ENGINE: s.engine, LB_WORKERS: String(s.workers) }, say);
    const steps: RateStep[] = [];
    try {
      // A first deploy without measurement: images of the next versions are then built from cache.
      const warm = await lab.deploy(`rate-warm-${Date.now().toString(36)}`);
      if (!warm.ok) throw new Error(`warm-up deploy failed: ${warm.output.trim().split('\n').slice(-3).join(' | ')}`);
      for (const rate of args.rates) {
        const load = forkForResult<LoadResult>(
          path.join(DIST, 'load-worker.js'),
          [JSON.stringify({ kind: 'rate', url: `${lab.lbUrl}/api`, rate, connections: 256, durationMs: args.loadS * 1000, warmupMs: 0, windowMs: 1000, timeoutMs: 10_000 })],
          args.loadS * 1000 + 60_000,
        );
        await sleep(1500);
        const d = await lab.deploy(`rate-${rate}-${Date.now().toString(36)}`);
        const r = (await load) as FixedRateResult;
        const worst = Math.max(...(r.windows ?? []).map((w) => w.p99));
        const step: RateStep = {
          rate,
          deployOk: d.ok,
          deployMs: Math.round(d.ms),
          sent: r.sent,
          failed: r.errors,
          errorCodes: r.errorCodes,
          p50: r.latency.p50,
          p99: r.latency.p99,
          p999: r.latency.p999,
          max: r.latency.max,
          worstWindowP99: worst,
          keptRate: r.keptRate,
          pass: d.ok && r.errors === 0 && r.latency.p99 <= args.p99Ms,
        };
        steps.push(step);
        say(
          `  ${rate} GET/s: deploy ${d.ok ? 'ok' : 'FAILED'} in ${(d.ms / 1000).toFixed(1)} s; ${r.errors} failed of ${r.sent}${r.errors ? ` ${JSON.stringify(r.errorCodes)}` : ''}; ` +
            `p50 ${r.latency.p50.toFixed(1)} ms, p99 ${r.latency.p99.toFixed(1)} ms, p99.9 ${r.latency.p999.toFixed(1)} ms, worst 1-s window p99 ${worst.toFixed(1)} ms` +
            `${r.keptRate ? '' : ' (generator lagged its schedule)'} → ${step.pass ? 'pass' : 'MISS'}`,
        );
        if (!step.pass && !args.all) break;
      }
    } finally {
      // A failed request is a finding: keep the balancer's account of it beside the results.
      if (steps.some((x) => x.failed > 0 || !x.deployOk)) {
        const file = args.out.replace(/\.json$/, '') + `.lb-${s.engine}-w${s.workers}.log`;
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, await lab.lbLog());
        say(`  balancer log (failed requests) in ${path.relative(process.cwd(), file)}`);
      }
      await lab.down();
    }
    // The highest rate below which every rate passed.
    const firstMiss = steps.findIndex((x) => !x.pass);
    const passing = (firstMiss < 0 ? steps : steps.slice(0, firstMiss)).map((x) => x.rate);
    results.push({ ...s, steps, highestPassing: passing.length ? Math.max(...passing) : undefined, loadavg: os.loadavg() });
    say(`  → engine ${s.engine}, workers ${s.workers}: highest passing rate ${passing.length ? Math.max(...passing) : 'none'} GET/s`);
  }
  fs.mkdirSync(path.dirname(args.out), { recursive: true });
  fs.writeFileSync(args.out, JSON.stringify({ tool: 'bench:deploy-rate', at: new Date().toISOString(), args, machine: { cpus: os.cpus().length, node: process.version }, results }, null, 1));
  say('summary (highest GET/s during a compose rolling deploy with 0 failed and p99 ≤ ' + args.p99Ms + ' ms):');
  for (const r of results) {
    const miss = r.steps.find((x) => !x.pass);
    const failed = r.steps.reduce((n, x) => n + x.failed, 0);
    say(`  engine ${r.engine.padEnd(10)} workers ${r.workers}: ${r.highestPassing ?? 'none'}${miss ? ` (missed at ${miss.rate}: p99 ${miss.p99.toFixed(1)} ms, ${miss.failed} failed)` : ''}; failed requests over all ${r.steps.length} deploys: ${failed}`);
  }
  say(`wrote ${path.relative(process.cwd(), args.out)}`);
}

const onSignal = () => void cleanupAll().then(() => process.exit(130));
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);
main()
  .then(() => cleanupAll())
  .catch(async (err) => {
    process.stderr.write(`bench:deploy-rate: ${(err as Error).message}\n`);
    await cleanupAll();
    process.exit(1);
  });
