import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FixedRateResult } from './fixed-rate';
import type { LoadResult } from './load-worker';
import { DOCKER_CPU_SHARES_FILE, DockerCpuShares } from './docker-cpu-shares';
import { parseDeployRateArgs, type DeployRateArgs as Args } from './deploy-rate-args';
import { cleanupAll, forkForResult, onCleanup, sleep } from './procs';
import { type RunQueueWait, sampleRunQueueWait } from './run-queue-wait';
import { DIST, getJson, REPO } from './targets';

/**
 * npm run bench:deploy-rate — during a rolling deploy on docker compose, the highest GET rate with
 * 0 failed requests and p99 ≤ 100 ms, for each balancer setting (proxy engine × workers).
 * For each setting it starts its own compose project (LB_PROXY_ENGINE, LB_WORKERS), then for each
 * rate, ascending: a fixed-rate GET load (coordinated-omission aware: latency from each request's
 * intended send time) of 2 s unmeasured (connections open) and then --load-s seconds measured, first
 * without a deploy (the baseline: what the machine does at that rate anyway) and then with
 * `deployer --strategy rolling` started 1.5 s into the measured part. The baseline is the peer
 * measured in the same run: a deploy p99 far above it is the deploy's; one close to it is the machine's.
 * It stops a setting at the first rate that misses (0 failed and p99 ≤ --p99-ms), and downs the project
 * (on SIGINT/SIGTERM too; the projects and the cgroup weight of a run that was killed outright are
 * cleaned up by the next run).
 *   --settings <engine:workers,...>  default http-proxy:1,http-proxy:2,undici:1,undici:2
 *   --rates <n,n,...>                default 500,1000,1500,2000,2500,3000
 *   --load-s <s>                     load per rate (default 16; a 2-instance deploy takes ~8-11 s)
 *   --p99-ms <ms>                    default 100
 *   --all                            measure every rate (no stop at the first miss): failures beyond the latency limit
 *   --no-baseline                    skip the no-deploy run at each rate
 *   --via published|container        where the load goes (default container: the balancer container's
 *                                    address on the lab network, as traffic from another machine reaches
 *                                    it through DNAT; published: 127.0.0.1's published port, through
 *                                    Docker's userland proxy, one more process on the same cores)
 *   --docker-cpu-shares <n>          cgroup v1 only: set /sys/fs/cgroup/cpu/docker/cpu.shares for the run
 *                                    and put it back after, or at the next run if this one is killed
 *                                    (see the README: with cgroupfs every
 *                                    container together weighs as much as one host process)
 *   --lb-cpu-shares <n>              cpu_shares of the balancer's container (LB_CPU_SHARES): its weight
 *                                    against the instances and the containers being started
 *   --generator-nice <n>             the load generator's priority (below 0 needs root): clients are on
 *                                    other machines in real life; here the generator shares the cores
 *   --out <file.json>                default bench-results/deploy-rate-<ts>.json
 * Needs Docker; NODE_IMAGE as for the lab (e.g. zdl/node:20-local).
 */
const run = promisify(execFile);
const DEPLOYER = path.join(REPO, 'packages/deployer/dist/main.js');

/** One measured load: the figures a step reports for it. */
export interface LoadFigures {
  sent: number;
  failed: number;
  errorCodes: Record<string, number>;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  /** The worst 1-second window's p99 (the deploy's own moments). */
  worstWindowP99: number;
  /** How late the generator sent its requests (p99): the generator's own share of the latency. */
  sendLagP99: number;
  keptRate: boolean;
  /** How long the balancer's processes waited for a CPU while runnable (Linux; the kernel's count). */
  lbRunQueueWait?: RunQueueWait;
}

export interface RateStep extends LoadFigures {
  rate: number;
  deployOk: boolean;
  deployMs: number;
  /** The same load without a deploy, just before (absent with --no-baseline). */
  baseline?: LoadFigures;
  pass: boolean;
}

const WARMUP_MS = 2000;
const DEPLOY_AFTER_MS = 1500;

function figures(r: FixedRateResult, lbRunQueueWait: RunQueueWait | undefined): LoadFigures {
  return {
    lbRunQueueWait,
    sent: r.sent,
    failed: r.errors,
    errorCodes: r.errorCodes,
    p50: r.latency.p50,
    p99: r.latency.p99,
    p999: r.latency.p999,
    max: r.latency.max,
    worstWindowP99: Math.max(...(r.windows ?? []).map((w) => w.p99)),
    sendLagP99: r.sendLag.p99,
    keptRate: r.keptRate,
  };
}

/** One compose project of the lab with the given balancer env; down() removes it. */
async function upLab(vars: Record<string, string>, via: Args['via'], say: (s: string) => void) {
  // The bench's pid in the name: a later run removes the projects of a bench that was killed.
  const project = `zdl-rate-${process.pid}-${Date.now().toString(36)}`;
  const token = crypto.randomBytes(16).toString('hex');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zdl-rate-'));
  const envFile = path.join(dir, 'lab.env');
  const all = { LB_PUBLISH: '127.0.0.1::8080', LB_ADMIN_PUBLISH: '127.0.0.1::8090', LB_ADMIN_HOST: '0.0.0.0', LB_ADMIN_TOKEN: token, NODE_IMAGE: process.env.NODE_IMAGE ?? 'node:20-bookworm-slim', ...vars };
  fs.writeFileSync(envFile, Object.entries(all).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  const compose = (...args: string[]) => run('docker', ['compose', '-p', project, '-f', path.join(REPO, 'docker-compose.yml'), '--env-file', envFile, ...args], { cwd: REPO, maxBuffer: 16 << 20 });
  const versions: string[] = [];
  // One removal, whoever asks (the setting's end, or a Ctrl-C's cleanup meanwhile): every caller waits for it.
  let downing: Promise<void> | undefined;
  const down = () =>
    (downing ??= (async () => {
      await compose('down', '-v', '-t', '10').catch(() => undefined);
      if (versions.length) await run('docker', ['image', 'rm', ...versions.map((v) => `zdl/client:${v}`)]).catch(() => undefined);
      fs.rmSync(path.join(REPO, '.lab', 'compose', project), { recursive: true, force: true });
      fs.rmSync(dir, { recursive: true, force: true });
    })());
  onCleanup(`compose project ${project}`, down);
  say(`  compose project ${project} (${Object.entries(vars).map(([k, v]) => `${k}=${v}`).join(' ')}): building and starting...`);
  await compose('up', '-d', '--build', '--wait', '--wait-timeout', '300');
  const port = async (p: string) => Number((await compose('port', 'lb', p)).stdout.trim().split(':').pop());
  const lbContainerIp = async () => {
    const id = (await compose('ps', '-q', 'lb')).stdout.trim();
    const ip = (await run('docker', ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', id])).stdout.trim().split(' ')[0];
    if (!ip) throw new Error(`${project}: the balancer container has no address on the lab network`);
    return ip;
  };
  const lbUrl = via === 'container' ? `http://${await lbContainerIp()}:8080` : `http://127.0.0.1:${await port('8080')}`;
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
      const closed = new Promise<void>((done) => child.on('close', (code) => (resolve({ ok: code === 0, ms: performance.now() - t0, output }), done())));
      // Stopped (Ctrl-C) mid-deploy: the deployer is interrupted first — it repairs the lab and
      // releases its lock — and only then is the project downed (cleanups run in reverse order).
      onCleanup(`deployer (${version})`, async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGINT');
        const t = setTimeout(() => child.kill('SIGKILL'), 60_000);
        await closed;
        clearTimeout(t);
      });
    });
  /** The balancer's log (its warnings name every failed request's class and code). */
  const lbLog = async () => (await compose('logs', '--no-color', '--no-log-prefix', 'lb').catch(() => ({ stdout: '' }))).stdout;
  /** The balancer container's processes, as host pids (for their run-queue wait). */
  const lbPids = async () => {
    const id = (await compose('ps', '-q', 'lb')).stdout.trim();
    const out = (await run('docker', ['top', id, '-eo', 'pid,args']).catch(() => ({ stdout: '' }))).stdout;
    return out.split('\n').filter((l) => /\bnode\b/.test(l)).map((l) => Number(l.trim().split(/\s+/)[0])).filter((n) => n > 0);
  };
  return { project, lbUrl, deploy, down, lbLog, lbPids };
}

/**
 * What a bench run that was killed left (its pid, in the names, is gone): its compose projects
 * and the images of the versions it deployed (zdl/client:rate-<pid>-...), removed.
 */
async function removeStrandedLabs(say: (s: string) => void): Promise<void> {
  const images = (await run('docker', ['images', 'zdl/client', '--format', '{{.Tag}}']).catch(() => ({ stdout: '' }))).stdout.split('\n');
  const strandedImages = images.filter((t) => {
    const pid = Number(/^rate-(\d+)-/.exec(t)?.[1]);
    return pid > 0 && !pidAlive(pid);
  });
  let projects: { Name: string }[] = [];
  try {
    projects = JSON.parse((await run('docker', ['compose', 'ls', '--all', '--format', 'json'])).stdout) as { Name: string }[];
  } catch {
    // No compose, or nothing it could list: no projects to remove.
  }
  for (const { Name } of projects) {
    const pid = Number(/^zdl-rate-(\d+)-/.exec(Name)?.[1]);
    if (!pid || pidAlive(pid)) continue;
    say(`removing compose project ${Name}, left by a bench run (pid ${pid}) that was stopped before it could`);
    await run('docker', ['compose', '-p', Name, 'down', '-v', '-t', '5']).catch((err: Error) => say(`  could not remove ${Name}: ${err.message.split('\n')[0]}`));
    fs.rmSync(path.join(REPO, '.lab', 'compose', Name), { recursive: true, force: true });
  }
  if (strandedImages.length) {
    say(`removing ${strandedImages.length} image(s) of versions a stopped bench run deployed (zdl/client:${strandedImages.join(', ')})`);
    await run('docker', ['image', 'rm', ...strandedImages.map((t) => `zdl/client:${t}`)]).catch((err: Error) => say(`  could not remove them all: ${err.message.split('\n')[0]}`));
  }
}

/** Whether a process runs: a zombie (killed, not yet reaped by its parent) does not. */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // "pid (comm) S ...": the state follows the last ')'.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/**
 * One fixed-rate load on the balancer: 2 s unmeasured, then --load-s measured; `measuring` runs when
 * the measured part starts, and the balancer's run-queue wait is sampled over the measured part.
 */
async function load(url: string, rate: number, loadS: number, nice: number | undefined, lbPids: number[], measuring?: () => void): Promise<LoadFigures> {
  let sampler: ReturnType<typeof sampleRunQueueWait> | undefined;
  const r = await forkForResult<LoadResult>(
    path.join(DIST, 'load-worker.js'),
    [JSON.stringify({ kind: 'rate', url, rate, connections: 256, durationMs: loadS * 1000, warmupMs: WARMUP_MS, windowMs: 1000, timeoutMs: 10_000, nice })],
    loadS * 1000 + WARMUP_MS + 60_000,
    (m) => {
      if ((m as { phase?: string }).phase !== 'measure') return;
      sampler = sampleRunQueueWait(lbPids);
      measuring?.();
    },
  );
  return figures(r as FixedRateResult, sampler?.stop());
}

/** "balancer waited for a CPU: 12 ms/s, worst second 640 ms" */
function waitLine(w: RunQueueWait | undefined): string {
  return w ? `; balancer waited for a CPU ${Math.round(w.meanMsPerS)} ms/s, worst second ${Math.round(w.worstWindowMs)} ms` : '';
}

const ms = (x: number) => `${x.toFixed(1)} ms`;

async function main(): Promise<void> {
  const args = parseDeployRateArgs(process.argv.slice(2));
  const say = (s: string) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);
  say(
    `deploy-rate: rates ${args.rates.join(', ')} GET/s, ${args.loadS} s measured per load (after ${WARMUP_MS / 1000} s unmeasured), ` +
      `${args.baseline ? 'a baseline without deploy and then one with, ' : ''}load via ${args.via === 'container' ? "the balancer container's address" : "127.0.0.1's published port"}; ` +
      `pass = 0 failed and p99 ≤ ${args.p99Ms} ms; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
  );
  // A run killed while it had changed the docker cgroup's weight left the original behind: put it back.
  const shares = new DockerCpuShares({ sharesFile: DOCKER_CPU_SHARES_FILE, savedFile: path.join(REPO, '.lab', 'bench', 'docker-cpu-shares.orig'), say });
  shares.repair();
  await removeStrandedLabs(say);
  if (args.dockerCpuShares !== undefined) onCleanup('docker cgroup cpu.shares', shares.set(args.dockerCpuShares));
  const results: { engine: string; workers: number; steps: RateStep[]; highestPassing?: number; loadavg: number[] }[] = [];
  for (const s of args.settings) {
    say(`setting: engine ${s.engine}, workers ${s.workers}`);
    const lab = await upLab({ LB_PROXY_ENGINE: s.engine, LB_WORKERS: String(s.workers), ...(args.lbCpuShares ? { LB_CPU_SHARES: String(args.lbCpuShares) } : {}) }, args.via, say);
    const url = `${lab.lbUrl}/api`;
    const steps: RateStep[] = [];
    try {
      // A first deploy without measurement: images of the next versions are then built from cache.
      const warm = await lab.deploy(`rate-${process.pid}-warm-${Date.now().toString(36)}`);
      if (!warm.ok) throw new Error(`warm-up deploy failed: ${warm.output.trim().split('\n').slice(-3).join(' | ')}`);
      for (const rate of args.rates) {
        let baseline: LoadFigures | undefined;
        if (args.baseline) {
          baseline = await load(url, rate, args.loadS, args.generatorNice, await lab.lbPids());
          say(
            `  ${rate} GET/s, no deploy: ${baseline.failed} failed of ${baseline.sent}; p50 ${ms(baseline.p50)}, p99 ${ms(baseline.p99)}, worst 1-s window p99 ${ms(baseline.worstWindowP99)}, ` +
              `generator send lag p99 ${ms(baseline.sendLagP99)}${waitLine(baseline.lbRunQueueWait)}`,
          );
        }
        let deploying: Promise<{ ok: boolean; ms: number; output: string }> | undefined;
        const r = await load(url, rate, args.loadS, args.generatorNice, await lab.lbPids(), () => void (deploying = sleep(DEPLOY_AFTER_MS).then(() => lab.deploy(`rate-${process.pid}-${rate}-${Date.now().toString(36)}`))));
        const d = deploying ? await deploying : { ok: false, ms: 0, output: 'the load never reached its measured part' };
        const step: RateStep = { rate, deployOk: d.ok, deployMs: Math.round(d.ms), ...r, baseline, pass: d.ok && r.failed === 0 && r.p99 <= args.p99Ms };
        steps.push(step);
        say(
          `  ${rate} GET/s, deploy: ${d.ok ? 'ok' : 'FAILED'} in ${(d.ms / 1000).toFixed(1)} s; ${r.failed} failed of ${r.sent}${r.failed ? ` ${JSON.stringify(r.errorCodes)}` : ''}; ` +
            `p50 ${ms(r.p50)}, p99 ${ms(r.p99)}${baseline ? ` (${(r.p99 / Math.max(baseline.p99, 0.001)).toFixed(2)}× the no-deploy p99)` : ''}, p99.9 ${ms(r.p999)}, worst 1-s window p99 ${ms(r.worstWindowP99)}, ` +
            `generator send lag p99 ${ms(r.sendLagP99)}${waitLine(r.lbRunQueueWait)} → ${step.pass ? 'pass' : 'MISS'}`,
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
    const base = miss?.baseline ? `, no-deploy p99 ${ms(miss.baseline.p99)} at that rate` : '';
    say(`  engine ${r.engine.padEnd(10)} workers ${r.workers}: ${r.highestPassing ?? 'none'}${miss ? ` (missed at ${miss.rate}: p99 ${ms(miss.p99)}${base}, ${miss.failed} failed)` : ''}; failed requests over all ${r.steps.length} deploys: ${failed}`);
  }
  say(`wrote ${path.relative(process.cwd(), args.out)}`);
}

let interrupted: string | undefined;
const onSignal = (sig: NodeJS.Signals) => {
  interrupted = sig;
  process.stdout.write(`bench:deploy-rate: ${sig}: stopping the deployer if one runs, then removing the labs...\n`);
  void cleanupAll().then(() => process.exit(130));
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);
main()
  .then(() => cleanupAll())
  .catch(async (err) => {
    // An interrupted deploy fails; that is the interrupt's doing, not a finding.
    if (interrupted) return;
    process.stderr.write(`bench:deploy-rate: ${(err as Error).message}\n`);
    await cleanupAll();
    process.exit(1);
  });
