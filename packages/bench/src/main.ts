import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benchRollingDeploy, PHASES, type DeployBenchResult } from './deploy-bench';
import { benchDashboard, type DashboardBenchResult } from './dashboard-bench';
import { benchDetection, type DetectionResult } from './detect-bench';
import type { ClosedGenerator, ClosedResult, LoadJob, LoadResult } from './load-worker';
import type { FixedRateResult } from './fixed-rate';
import { cleanupAll, CpuMeter, forkForResult, processTree, rssMiB, sleep, which } from './procs';
import { median, minMax, round, slope } from './stats';
import { renderChart } from './svg';
import { ForeignCpuMeter } from './sysload';
import {
  bareProxyTarget,
  clusterTarget,
  DEFAULT_LB_MAIN,
  directTarget,
  DIST,
  haproxyTarget,
  lbTarget,
  nginxTarget,
  REPO,
  startUpstreams,
  type Target,
} from './targets';
import { wrkVersion } from './wrk';

const USAGE = `usage: npm run bench -- [options]
  --quick                 1 round of 2 s per figure, no soak, 2-instance deploy only, no extra rows (< 1 min)
  --rounds <n>            rounds over all targets (full: 5)
  --duration <s>          seconds per measurement (full: 7; warm-up before each closed loop in round 1: 2 s (quick 1.5 s), 0.3 s after)
  --connections <n>       fixed concurrency (default 50)
  --generator <g>         closed-loop load generator: wrk (default when installed: C, 1 thread) or autocannon (Node)
  --rate <n>              fixed request rate for the latency figures (default 2000)
  --soak <s>              balancer memory soak length, 0 for none (full: 300)
  --soak-rate <n>         request rate of the soak (default 1000)
  --targets <a,b,...>     only these: direct,lb,http-proxy,nginx,haproxy,nginx-auto,lb-cluster2,node-http,undici
  --extras / --no-extras  extra rows (full: on): nginx with worker_processes auto, the balancer with LB_WORKERS=2
  --floors                two more extra rows: prototype floors without http-proxy (node:http.request, undici)
  --lb-main <file>        the balancer to measure (default packages/lb/dist/main.js)
  --lb <name=main.js>     an extra balancer build as its own row, e.g. a patched copy (repeatable)
  --no-deploy, --no-detect  skip the deploy timing / failure detection parts
  --no-dashboard          skip req/s with the dashboard's event stream open vs closed
  --compose               also time npm run rolling-deploy on a running compose lab (skipped if none)
  --out <dir>             results directory (default bench-results)`;

interface Args {
  quick: boolean;
  rounds: number;
  durationS: number;
  warmupS: number;
  connections: number;
  /** undefined: wrk if installed, else autocannon */
  generator?: ClosedGenerator;
  rate: number;
  soakS: number;
  soakRate: number;
  targets?: string[];
  extras: boolean;
  floors: boolean;
  lbMain: string;
  variants: { name: string; main: string }[];
  deploy: boolean;
  deploySizes: number[];
  detect: boolean;
  detectSignals: ('SIGKILL' | 'SIGSTOP')[];
  compose: boolean;
  dashboard: boolean;
  out: string;
}

function parseArgs(argv: string[]): Args {
  const quick = argv.includes('--quick');
  const a: Args = {
    quick,
    // Five rounds: with three, one disturbed round (a noisy neighbour on this VM) could move a median by 10-20%.
    rounds: quick ? 1 : 5,
    durationS: quick ? 2 : 7,
    // Node's JIT needs more than a second of load before its figures settle (a 0.5 s warm-up
    // left the Node proxies' quick-mode figures 20-30% low and noisy).
    warmupS: quick ? 1.5 : 2,
    connections: 50,
    rate: 2000,
    soakS: quick ? 0 : 300,
    soakRate: 1000,
    extras: !quick,
    floors: false,
    lbMain: DEFAULT_LB_MAIN,
    variants: [],
    deploy: true,
    deploySizes: quick ? [2] : [2, 10],
    detect: true,
    detectSignals: quick ? ['SIGKILL'] : ['SIGKILL', 'SIGSTOP'],
    compose: false,
    dashboard: true,
    out: path.join(REPO, 'bench-results'),
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) fail(`${k} needs a value`);
      return x;
    };
    const num = (): number => {
      const s = v();
      const n = Number(s);
      if (!Number.isFinite(n) || n < 0) fail(`${k}: expected a number, got "${s}"`);
      return n;
    };
    switch (k) {
      case '--quick':
        break;
      case '--no-dashboard':
        a.dashboard = false;
        break;
      case '--rounds':
        a.rounds = Math.max(1, Math.round(num()));
        break;
      case '--duration':
        a.durationS = Math.max(0.5, num());
        break;
      case '--connections':
        a.connections = Math.max(1, Math.round(num()));
        break;
      case '--generator': {
        const g = v();
        if (g !== 'wrk' && g !== 'autocannon') fail(`--generator: expected wrk or autocannon, got "${g}"`);
        a.generator = g;
        break;
      }
      case '--rate':
        a.rate = Math.max(1, num());
        break;
      case '--soak':
        a.soakS = num();
        break;
      case '--soak-rate':
        a.soakRate = Math.max(1, num());
        break;
      case '--targets':
        a.targets = v().split(',').map((s) => s.trim()).filter(Boolean);
        break;
      case '--extras':
        a.extras = true;
        break;
      case '--no-extras':
        a.extras = false;
        break;
      case '--floors':
        a.floors = true;
        break;
      case '--lb-main':
        a.lbMain = path.resolve(v());
        break;
      case '--lb': {
        const [name, main] = v().split('=');
        if (!name || !main) fail('--lb expects name=path/to/main.js');
        a.variants.push({ name, main: path.resolve(main) });
        break;
      }
      case '--no-deploy':
        a.deploy = false;
        break;
      case '--no-detect':
        a.detect = false;
        break;
      case '--compose':
        a.compose = true;
        break;
      case '--out':
        a.out = path.resolve(v());
        break;
      case '-h':
      case '--help':
        process.stdout.write(USAGE + '\n');
        process.exit(0);
      // eslint-disable-next-line no-fallthrough
      default:
        fail(`unknown argument "${k}"\n${USAGE}`);
    }
  }
  return a;
}

function fail(msg: string): never {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------

interface RunRecord {
  round: number;
  target: string;
  closed?: ClosedResult & { cpuPct: number; usPerReq: number; foreignCpuPct: number; rssMiB: number };
  rate?: FixedRateResult & { cpuPct: number; foreignCpuPct: number };
}

interface Stat {
  median: number;
  min: number;
  max: number;
}

const stat = (xs: number[]): Stat => {
  const [min, max] = minMax(xs);
  return { median: round(median(xs), 3), min: round(min, 3), max: round(max, 3) };
};

const t0 = performance.now();
const stamp = () => `[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)}s]`;
const say = (s: string) => process.stdout.write(`${stamp()} ${s}\n`);
const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const ms = (n: number) => (!Number.isFinite(n) ? '–' : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0));
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : '–');

interface GeneratorInfo {
  /** The closed-loop phase's load generator. */
  closed: ClosedGenerator;
  version?: string;
  /** How it is run. */
  command: string;
  /** Why autocannon when wrk was not asked for explicitly. */
  note?: string;
}

/** wrk when installed (or asked for), else autocannon with a note: on 2 cores autocannon takes a core. */
function pickGenerator(args: Args): GeneratorInfo {
  const wrk = which('wrk') ? wrkVersion() : undefined;
  const wrkInfo = (): GeneratorInfo => ({ closed: 'wrk', version: wrk, command: `wrk -t1 -c${args.connections} -d<s>s --latency --timeout 10s -s <json report script>` });
  const acInfo = (note?: string): GeneratorInfo => {
    let version: string | undefined;
    try {
      version = (JSON.parse(fs.readFileSync(require.resolve('autocannon/package.json'), 'utf8')) as { version: string }).version;
    } catch {
      /* not found: leave it out */
    }
    return { closed: 'autocannon', version: version && `autocannon ${version}`, command: `autocannon in one Node process, ${args.connections} connections, pipelining 1, timeout 10 s`, note };
  };
  if (args.generator === 'wrk') {
    if (!wrk) fail('--generator wrk: wrk is not installed (npm run bench:deps installs it, as root, from Debian)');
    return wrkInfo();
  }
  if (args.generator === 'autocannon') return acInfo();
  if (wrk) return wrkInfo();
  const note =
    'wrk is not installed: the closed loop uses autocannon, a Node process that takes about a core of its own, so nginx/HAProxy are held back by the generator ' +
    'and the ratios against them are distorted. Install wrk with: npm run bench:deps (as root)';
  say(`NOTE: ${note}`);
  return acInfo(note);
}

function ensureProxies(): string[] {
  const notes: string[] = [];
  const missing = ['nginx', 'haproxy'].filter((b) => !which(b));
  if (missing.length === 0) return notes;
  const script = path.join(REPO, 'scripts/bench-deps.sh');
  if (process.getuid?.() === 0 && fs.existsSync(script)) {
    say(`installing ${missing.join(', ')} from Debian's packages (scripts/bench-deps.sh)...`);
    const r = spawnSync('bash', [script], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) notes.push(`scripts/bench-deps.sh failed (exit ${r.status})`);
  }
  for (const b of ['nginx', 'haproxy']) if (!which(b)) notes.push(`${b} is not installed (apt-get install ${b === 'nginx' ? 'nginx-light' : b}): its rows are skipped`);
  return notes;
}

async function runLoad(target: Target, job: LoadJob, timeoutMs: number) {
  const cpu = new CpuMeter(target.pid);
  const foreign = new ForeignCpuMeter();
  let cpuPct = NaN;
  let foreignCpuPct = NaN;
  const result = await forkForResult<LoadResult>(path.join(DIST, 'load-worker.js'), [JSON.stringify(job)], timeoutMs, (m) => {
    const msg = m as { phase?: string; ok?: boolean };
    if (msg.phase === 'measure') {
      cpu.mark();
      foreign.mark();
    } else if (msg.ok !== undefined) {
      cpuPct = cpu.read();
      foreignCpuPct = foreign.read();
    }
  });
  return { result, cpuPct, foreignCpuPct };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const startedAt = new Date();
  const warnings: string[] = [];
  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? '?',
    memGiB: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    kernel: os.release(),
    loadavgAtStart: os.loadavg().map((x) => round(x, 2)),
  };
  say(
    `zero-downtime-lab bench (${args.quick ? 'quick' : 'full'}): ${args.rounds} round(s) × ${args.durationS} s per figure, ${args.connections} connections, ${args.rate} req/s; ` +
      `node ${machine.node}, ${machine.cpus} cores, load average ${machine.loadavgAtStart.join(' ')}`,
  );
  if (machine.loadavgAtStart[0] > 0.5) warnings.push(`the machine was already busy at the start (load average ${machine.loadavgAtStart[0]})`);
  if (!fs.existsSync(path.join(DIST, 'upstream.js'))) fail('packages/bench is not built: run npm run build');
  if (!fs.existsSync(args.lbMain)) fail(`${args.lbMain} is missing: run npm run build`);
  warnings.push(...ensureProxies());
  const generator = pickGenerator(args);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zdl-bench-'));
  const want = (id: string, extra = false) => (args.targets ? args.targets.includes(id) : !extra || args.extras);

  // ---- targets --------------------------------------------------------------------------------
  if (generator.note) warnings.push(generator.note);
  say(`closed loop generator: ${generator.closed}${generator.version ? ` (${generator.version})` : ''}`);
  say('starting two upstreams and the targets (configs, pids and logs in ' + dir + ')...');
  const up = await startUpstreams(dir);
  const targets: Target[] = [];
  const tryStart = async (id: string, extra: boolean, start: () => Promise<Target>) => {
    if (!want(id, extra)) return;
    try {
      targets.push(await start());
    } catch (err) {
      warnings.push(`${id}: not measured: ${(err as Error).message.split('\n')[0]}`);
      say(`  ${id}: could not start: ${(err as Error).message.split('\n')[0]}`);
    }
  };
  await tryStart('direct', false, async () => directTarget(up));
  await tryStart('lb', false, () => lbTarget(dir, up, args.lbMain));
  await tryStart('http-proxy', false, () => bareProxyTarget(dir, up));
  await tryStart('nginx', false, () => nginxTarget(dir, up, '1'));
  await tryStart('haproxy', false, () => haproxyTarget(dir, up));
  await tryStart('nginx-auto', true, () => nginxTarget(dir, up, 'auto'));
  await tryStart('lb-cluster2', true, () => clusterTarget(dir, up, args.lbMain, 2));
  if (args.floors || args.targets?.includes('node-http')) await tryStart('node-http', true, () => bareProxyTarget(dir, up, [], 'node-http'));
  if (args.floors || args.targets?.includes('undici')) await tryStart('undici', true, () => bareProxyTarget(dir, up, [], 'undici'));
  for (const v of args.variants) {
    await tryStart(`lb:${v.name}`, false, async () => ({ ...(await lbTarget(dir, up, v.main, { id: `lb-${v.name}` })), id: `lb:${v.name}`, label: `balancer build "${v.name}"`, extra: true }));
  }
  const lb = targets.find((t) => t.id === 'lb');
  for (const t of targets) say(`  ${t.id.padEnd(12)} ${t.label}  ${t.url}`);

  // ---- memory sampling --------------------------------------------------------------------------
  const lbRss: { tS: number; mib: number; phase: string }[] = [];
  const peakRss = new Map<string, number>();
  let current: Target | undefined;
  let phase = 'idle';
  const sampleRss = () => {
    if (lb) lbRss.push({ tS: round((performance.now() - t0) / 1000, 1), mib: round(rssMiB([lb.pid]), 1), phase: current?.id === 'lb' ? phase : 'idle' });
    if (current) peakRss.set(current.id, Math.max(peakRss.get(current.id) ?? 0, rssMiB(processTree(current.pid))));
  };
  sampleRss();
  const lbRssIdleStart = lbRss[0]?.mib ?? NaN;
  const sampler = setInterval(sampleRss, 1000);

  // ---- rounds ---------------------------------------------------------------------------------
  const runs: RunRecord[] = [];
  const durMs = args.durationS * 1000;
  for (let r = 1; r <= args.rounds; r++) {
    // Everything is warm after round 1: a short warm-up re-opens connections and settles the JIT.
    const warmMs = (r === 1 ? args.warmupS : Math.min(args.warmupS, 0.3)) * 1000;
    // Rotate the order each round, so no target always runs first (or right after a heavy one).
    const order = targets.map((_, i) => targets[(i + r - 1) % targets.length]);
    for (const t of order) {
      current = t;
      const rec: RunRecord = { round: r, target: t.id };
      phase = 'closed';
      const c = await runLoad(t, { kind: 'closed', url: t.url, connections: args.connections, durationMs: durMs, warmupMs: warmMs, generator: generator.closed }, durMs + warmMs + 60_000);
      sampleRss();
      if (c.result.kind === 'closed') {
        rec.closed = { ...c.result, cpuPct: c.cpuPct, usPerReq: ((c.cpuPct / 100) * 1e6) / c.result.rps, foreignCpuPct: c.foreignCpuPct, rssMiB: round(peakRss.get(t.id) ?? NaN, 1) };
      }
      phase = 'rate';
      // The closed loop just warmed this target up: the fixed-rate run only needs its connections.
      const rateWarmMs = Math.min(warmMs, 300);
      const f = await runLoad(t, { kind: 'rate', url: t.url, rate: args.rate, connections: 64, durationMs: durMs, warmupMs: rateWarmMs, timeoutMs: 10_000 }, durMs + rateWarmMs + 60_000);
      if (f.result.kind === 'rate') rec.rate = { ...f.result, cpuPct: f.cpuPct, foreignCpuPct: f.foreignCpuPct };
      current = undefined;
      runs.push(rec);
      const cl = rec.closed;
      const ra = rec.rate;
      say(
        `round ${r}/${args.rounds} ${t.id.padEnd(12)} ${args.connections} conn: ${int(cl?.rps ?? NaN).padStart(6)} req/s, p99 ${ms(cl?.latency.p99 ?? NaN).padStart(5)} ms, CPU ${int(cl?.cpuPct ?? NaN).padStart(3)}%, ${int(cl?.usPerReq ?? NaN).padStart(4)} µs/req` +
          ` | ${args.rate}/s: p99 ${ms(ra?.latency.p99 ?? NaN).padStart(5)} ms, p99.9 ${ms(ra?.latency.p999 ?? NaN).padStart(5)} ms` +
          `${(cl?.errors ?? 0) + (cl?.non2xx ?? 0) + (ra?.errors ?? 0) > 0 ? `, ERRORS ${(cl?.errors ?? 0) + (cl?.non2xx ?? 0)}/${ra?.errors ?? 0}` : ''}` +
          `${ra && !ra.keptRate ? ' (generator lagged)' : ''}${(cl?.foreignCpuPct ?? 0) > 25 ? ` (others used ${int(cl!.foreignCpuPct)}% CPU)` : ''}`,
      );
    }
  }
  const lbRssAfterRounds = lb ? round(rssMiB([lb.pid]), 1) : NaN;

  // ---- soak -----------------------------------------------------------------------------------
  let soak: Record<string, unknown> | undefined;
  if (lb && args.soakS > 0) {
    clearInterval(sampler);
    say(`memory soak: ${args.soakRate} req/s through the balancer for ${args.soakS} s, RSS every 5 s...`);
    const samples: { tS: number; mib: number }[] = [];
    const began = performance.now();
    const take = () => samples.push({ tS: round((performance.now() - began) / 1000, 1), mib: round(rssMiB([lb.pid]), 1) });
    take();
    let lastSay = 0;
    const timer = setInterval(() => {
      take();
      const s = samples[samples.length - 1];
      if (s.tS - lastSay >= 30) {
        lastSay = s.tS;
        say(`  soak ${Math.round(s.tS)}/${args.soakS} s: RSS ${s.mib} MiB (peak so far ${Math.max(...samples.map((x) => x.mib))} MiB)`);
      }
    }, 5000);
    const res = await runLoad(lb, { kind: 'rate', url: lb.url, rate: args.soakRate, connections: 64, durationMs: args.soakS * 1000, warmupMs: 0, windowMs: 5000, timeoutMs: 10_000 }, args.soakS * 1000 + 60_000);
    clearInterval(timer);
    take();
    await sleep(2000);
    const idleAfter = round(rssMiB([lb.pid]), 1);
    const rr = res.result as FixedRateResult;
    soak = { rate: args.soakRate, durationS: args.soakS, ...memoryVerdict(samples), idleAfterMiB: idleAfter, samples, latency: rr.latency, errors: rr.errors, keptRate: rr.keptRate, cpuPct: round(res.cpuPct, 1), windows: rr.windows };
    say(`  soak done: ${describeMemory(soak as unknown as MemoryVerdict)}; p99 ${ms(rr.latency.p99)} ms, errors ${rr.errors}`);
  } else clearInterval(sampler);

  // ---- dashboard stream open vs closed ---------------------------------------------------------
  let dashboard: DashboardBenchResult | undefined;
  if (args.dashboard && lb) {
    say(`dashboard: the balancer with its admin API, req/s with the event stream closed and open (${Math.max(2, args.rounds)} rounds each)...`);
    dashboard = await benchDashboard({
      dir, up, lbMain: args.lbMain, rounds: Math.max(2, args.rounds), say,
      closed: async (url, pid) => {
        const c = await runLoad({ id: 'lb-dashboard', label: 'lb-dashboard', url, pid }, { kind: 'closed', url, connections: args.connections, durationMs: durMs, warmupMs: args.warmupS * 1000, generator: generator.closed }, durMs + args.warmupS * 1000 + 60_000);
        return { rps: c.result.kind === 'closed' ? c.result.rps : NaN, cpuPct: c.cpuPct };
      },
    });
    say(`  dashboard: closed ${int(dashboard.closedRps)} req/s, open ${int(dashboard.openRps)} req/s (${dashboard.differencePct > 0 ? '+' : ''}${dashboard.differencePct}%); CPU per request ${dashboard.closedUsPerReq} → ${dashboard.openUsPerReq} µs (${dashboard.usPerReqDifferencePct > 0 ? '+' : ''}${dashboard.usPerReqDifferencePct}%); ${dashboard.eventsPerSecond} updates/s`);
  }

  // The throughput targets are done: stop them before the deploy and detection labs start.
  await cleanupAll();
  fs.rmSync(dir, { recursive: true, force: true });

  // ---- deploy speed ---------------------------------------------------------------------------
  const deploys: DeployBenchResult[] = [];
  if (args.deploy) {
    for (const n of args.deploySizes) {
      say(`rolling deploy of ${n} local instances (LocalLab + rollingDeploy, DEFAULT_DEPLOY_OPTIONS)...`);
      try {
        const d = await benchRollingDeploy(n, say);
        deploys.push(d);
        say(
          `  ${n} instances: ${(d.durationMs / 1000).toFixed(1)} s${d.ok ? '' : ` FAILED (${d.error})`}, per instance ${(d.perInstance.total / 1000).toFixed(2)} s ` +
            `(${PHASES.map((p) => `${p} ${Math.round(d.perInstance[p])}`).join(', ')} ms); load ${d.load.sent} sent, ${d.load.failed} failed`,
        );
      } catch (err) {
        warnings.push(`deploy of ${n}: ${(err as Error).message}`);
        say(`  deploy of ${n} instances failed to run: ${(err as Error).message}`);
      }
    }
  }
  let compose: Record<string, unknown> | undefined;
  if (args.compose) compose = await composeDeploy(warnings);

  // ---- detection ------------------------------------------------------------------------------
  const detections: DetectionResult[] = [];
  if (args.detect) {
    for (const sig of args.detectSignals) {
      say(`failure detection: ${sig} one of two instances under 200 req/s (default balancer settings)...`);
      try {
        detections.push(await benchDetection(sig, (s) => say(s)));
        const d = detections[detections.length - 1];
        say(`  ${sig}: ${Number.isFinite(d.detectMs) ? `${Math.round(d.detectMs)} ms` : '> 10 s'} to out-of-rotation (target ≤ ${d.targetMs} ms), ${d.failed}/${d.sent} failed requests, slowest request after the kill ${ms(d.maxLatencyAfterKillMs)} ms`);
      } catch (err) {
        warnings.push(`detection (${sig}): ${(err as Error).message}`);
        say(`  detection (${sig}) failed to run: ${(err as Error).message}`);
      }
    }
  }

  // ---- summary --------------------------------------------------------------------------------
  const summary = summarize(targets, runs);
  const foreign = median(runs.map((r) => r.closed?.foreignCpuPct ?? NaN));
  if (foreign > 25) warnings.push(`other processes used a median ${Math.round(foreign)}% of a core during the runs: absolute figures are depressed and noisy; compare ratios and µs CPU/request`);
  const lagged = runs.filter((r) => r.rate && !r.rate.keptRate);
  if (lagged.length > 0) warnings.push(`the fixed-rate generator lagged its schedule in ${lagged.length} run(s) (${lagged.map((r) => `${r.target} r${r.round}`).join(', ')}): their latency includes the generator's own delay`);
  const memory = lb
    ? {
        idleStartMiB: lbRssIdleStart,
        underLoad: loadPeak(lbRss.filter((s) => s.phase !== 'idle')),
        afterRoundsMiB: lbRssAfterRounds,
        samples: lbRss,
        soak,
      }
    : undefined;

  const text = formatReport(args, generator, targets, summary, memory, deploys, detections, warnings);
  process.stdout.write('\n' + text + '\n');

  const result = {
    tool: '@zdl/bench',
    mode: args.quick ? 'quick' : 'full',
    startedAt: startedAt.toISOString(),
    durationS: round((performance.now() - t0) / 1000, 1),
    machine,
    options: { ...args, generator: generator.closed, out: undefined },
    generator: { ...generator, rate: 'src/fixed-rate.ts (Node, open loop)' },
    targets: targets.map(({ id, label, url, note, extra }) => ({ id, label, url, note, extra: !!extra })),
    summary,
    memory,
    deploys: deploys.map((d) => ({ ...d })),
    compose,
    dashboard,
    detections,
    warnings,
    runs,
  };
  fs.mkdirSync(args.out, { recursive: true });
  const ts = startedAt.toISOString().replace(/[:.]/g, '-');
  const jsonFile = path.join(args.out, `bench-${ts}.json`);
  fs.writeFileSync(jsonFile, JSON.stringify(result, null, 1));
  fs.writeFileSync(path.join(args.out, 'latest.json'), JSON.stringify(result, null, 1));
  fs.writeFileSync(path.join(args.out, `bench-${ts}.txt`), text + '\n');
  const svg = chart(args, generator, targets, summary, memory, deploys, machine, startedAt);
  fs.writeFileSync(path.join(args.out, `bench-${ts}.svg`), svg);
  fs.writeFileSync(path.join(args.out, 'latest.svg'), svg);
  say(`wrote ${path.relative(process.cwd(), jsonFile)}, ${path.relative(process.cwd(), path.join(args.out, 'latest.json'))}, latest.svg (chart) and bench-${ts}.txt`);
}

// ---------------------------------------------------------------------------------------------

interface TargetSummary {
  id: string;
  label: string;
  extra: boolean;
  closed: { rps: Stat; p50: Stat; p99: Stat; p999: Stat; cpuPct: Stat; usPerReq: Stat; rssMiB: Stat; errors: number };
  rate: { p50: Stat; p99: Stat; p999: Stat; max: Stat; servicep99: Stat; achieved: Stat; sendLagP99: Stat; cpuPct: Stat; usPerReq: Stat; errors: number; keptRate: boolean };
  ratios: Record<string, number>;
}

function summarize(targets: Target[], runs: RunRecord[]): TargetSummary[] {
  const out: TargetSummary[] = targets.map((t) => {
    const rs = runs.filter((r) => r.target === t.id);
    const c = rs.map((r) => r.closed).filter((x): x is NonNullable<RunRecord['closed']> => !!x);
    const f = rs.map((r) => r.rate).filter((x): x is NonNullable<RunRecord['rate']> => !!x);
    return {
      id: t.id,
      label: t.label,
      extra: !!t.extra,
      closed: {
        rps: stat(c.map((x) => x.rps)),
        p50: stat(c.map((x) => x.latency.p50)),
        p99: stat(c.map((x) => x.latency.p99)),
        p999: stat(c.map((x) => x.latency.p999)),
        cpuPct: stat(c.map((x) => x.cpuPct)),
        usPerReq: stat(c.map((x) => x.usPerReq)),
        rssMiB: stat(c.map((x) => x.rssMiB)),
        errors: c.reduce((a, x) => a + x.errors + x.non2xx, 0),
      },
      rate: {
        p50: stat(f.map((x) => x.latency.p50)),
        p99: stat(f.map((x) => x.latency.p99)),
        p999: stat(f.map((x) => x.latency.p999)),
        max: stat(f.map((x) => x.latency.max)),
        servicep99: stat(f.map((x) => x.service.p99)),
        achieved: stat(f.map((x) => x.achievedRate)),
        sendLagP99: stat(f.map((x) => x.sendLag.p99)),
        cpuPct: stat(f.map((x) => x.cpuPct)),
        usPerReq: stat(f.map((x) => ((x.cpuPct / 100) * 1e6) / x.achievedRate)),
        errors: f.reduce((a, x) => a + x.errors, 0),
        keptRate: f.every((x) => x.keptRate),
      },
      ratios: {},
    };
  });
  const nginx = out.find((s) => s.id === 'nginx');
  const proxy = out.find((s) => s.id === 'http-proxy');
  for (const s of out) {
    for (const [name, base] of [
      ['nginx', nginx],
      ['httpProxy', proxy],
    ] as const) {
      if (!base) continue;
      s.ratios[`rps_vs_${name}`] = round(s.closed.rps.median / base.closed.rps.median, 3);
      s.ratios[`cpuPerReq_vs_${name}`] = round(s.closed.usPerReq.median / base.closed.usPerReq.median, 3);
      s.ratios[`p99_50conn_vs_${name}`] = round(s.closed.p99.median / base.closed.p99.median, 3);
      s.ratios[`cpuPerReq_rate_vs_${name}`] = round(s.rate.usPerReq.median / base.rate.usPerReq.median, 3);
      s.ratios[`p99_rate_vs_${name}`] = round(s.rate.p99.median / base.rate.p99.median, 3);
      s.ratios[`p999_rate_vs_${name}`] = round(s.rate.p999.median / base.rate.p999.median, 3);
    }
  }
  return out;
}

interface MemoryVerdict {
  firstMiB: number;
  peakMiB: number;
  endMiB: number;
  slopeMiBPerMin: number;
  growthMiB: number;
  noiseMiB: number;
  grows: boolean;
}

/** Compares the first and last fifth of the samples (after the first one) against their spread. */
function memoryVerdict(samples: { tS: number; mib: number }[]): MemoryVerdict {
  if (samples.length < 2) {
    const v = samples[0]?.mib ?? NaN;
    return { firstMiB: v, peakMiB: v, endMiB: v, slopeMiBPerMin: 0, growthMiB: 0, noiseMiB: 0, grows: false };
  }
  const k = Math.max(1, Math.floor(samples.length / 5));
  const head = samples.slice(1, 1 + k).map((s) => s.mib);
  const tailS = samples.slice(-k).map((s) => s.mib);
  const spread = (xs: number[]) => Math.max(...xs) - Math.min(...xs);
  const noise = Math.max(3, spread(head), spread(tailS), 0.05 * median(head));
  const growth = median(tailS) - median(head);
  const secondHalf = samples.slice(Math.floor(samples.length / 2));
  const sl = slope(secondHalf.map((s) => ({ x: s.tS / 60, y: s.mib })));
  return {
    firstMiB: samples[0].mib,
    peakMiB: Math.max(...samples.map((s) => s.mib)),
    endMiB: samples[samples.length - 1].mib,
    slopeMiBPerMin: round(sl, 2),
    growthMiB: round(growth, 1),
    noiseMiB: round(noise, 1),
    grows: growth > noise && sl > 0.5,
  };
}

/** Start/peak/end only: the benchmark phases are too short to call growth (the soak does that). */
function loadPeak(samples: { mib: number }[]): { firstMiB: number; peakMiB: number; endMiB: number } {
  return { firstMiB: samples[0]?.mib ?? NaN, peakMiB: Math.max(...samples.map((s) => s.mib)), endMiB: samples[samples.length - 1]?.mib ?? NaN };
}

function describeMemory(m: MemoryVerdict): string {
  return `RSS start ${m.firstMiB} MiB, peak ${m.peakMiB} MiB, end ${m.endMiB} MiB; first→last fifth ${m.growthMiB >= 0 ? '+' : ''}${m.growthMiB} MiB (noise ±${m.noiseMiB}), slope over the 2nd half ${m.slopeMiBPerMin} MiB/min → ${m.grows ? 'GROWS beyond noise' : 'no growth beyond noise'}`;
}

function table(header: string[], rows: string[][], alignLeft = 1): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < alignLeft ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(header), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

function formatReport(
  args: Args,
  generator: GeneratorInfo,
  targets: Target[],
  summary: TargetSummary[],
  memory: { idleStartMiB: number; underLoad: { firstMiB: number; peakMiB: number; endMiB: number }; afterRoundsMiB: number; soak?: Record<string, unknown> } | undefined,
  deploys: DeployBenchResult[],
  detections: DetectionResult[],
  warnings: string[],
): string {
  const out: string[] = [];
  const nginx = summary.find((s) => s.id === 'nginx');
  const proxy = summary.find((s) => s.id === 'http-proxy');
  const lb = summary.find((s) => s.id === 'lb');
  const n = `median of ${args.rounds} round${args.rounds > 1 ? 's' : ''}`;
  out.push(`== ${args.connections} connections, closed loop (${generator.closed === 'wrk' ? 'wrk, 1 thread' : 'autocannon'}), ${args.durationS} s per run, ${n} ==`);
  out.push(
    table(
      ['target', 'req/s', '×nginx', '×http-proxy', 'p50 ms', 'p99 ms', 'p99.9 ms', 'CPU %', 'µs CPU/req', 'µs ×nginx', 'RSS MiB', 'errors'],
      summary.map((s) => [
        `${s.id}${s.extra ? ' *' : ''}`,
        int(s.closed.rps.median),
        ratio(s.closed.rps.median, nginx?.closed.rps.median ?? NaN),
        ratio(s.closed.rps.median, proxy?.closed.rps.median ?? NaN),
        ms(s.closed.p50.median),
        ms(s.closed.p99.median),
        ms(s.closed.p999.median),
        int(s.closed.cpuPct.median),
        int(s.closed.usPerReq.median),
        ratio(s.closed.usPerReq.median, nginx?.closed.usPerReq.median ?? NaN),
        int(s.closed.rssMiB.median),
        String(s.closed.errors),
      ]),
    ),
  );
  out.push('');
  out.push(`== ${int(args.rate)} req/s fixed rate, latency from each request's intended send time (coordinated-omission aware), ${n} ==`);
  out.push(
    table(
      ['target', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'p99 ×nginx', 'p99 ×http-proxy', 'svc p99', 'achieved/s', 'CPU %', 'µs CPU/req', 'µs ×http-proxy', 'errors', 'generator'],
      summary.map((s) => [
        `${s.id}${s.extra ? ' *' : ''}`,
        ms(s.rate.p50.median),
        ms(s.rate.p99.median),
        ms(s.rate.p999.median),
        ms(s.rate.max.median),
        ratio(s.rate.p99.median, nginx?.rate.p99.median ?? NaN),
        ratio(s.rate.p99.median, proxy?.rate.p99.median ?? NaN),
        ms(s.rate.servicep99.median),
        int(s.rate.achieved.median),
        int(s.rate.cpuPct.median),
        int(s.rate.usPerReq.median),
        ratio(s.rate.usPerReq.median, proxy?.rate.usPerReq.median ?? NaN),
        String(s.rate.errors),
        s.rate.keptRate ? 'kept rate' : `LAGGED (p99 ${ms(s.rate.sendLagP99.max)} ms)`,
      ]),
    ),
  );
  out.push('');
  out.push('targets:');
  for (const t of targets) out.push(`  ${t.id.padEnd(12)} ${t.label}${t.note ? ` — ${t.note}` : ''}${t.extra ? ' (* extra row)' : ''}`);
  out.push('  CPU % = the target\'s processes, in % of one core; µs CPU/req = its CPU time per request (robust to a noisy machine).');
  const unsaturated = summary.filter((s) => s.id !== 'direct' && s.closed.cpuPct.median < 85 && !s.id.includes('auto') && !s.id.includes('cluster'));
  if (unsaturated.length > 0) {
    out.push(
      `  ${unsaturated.map((s) => s.id).join(', ')}: below 85% of a core at ${args.connections} connections, so not the bottleneck (the generator, the upstreams or other processes were): ` +
        'their req/s is a lower bound and their ratios to us understate the gap; µs CPU/req compares efficiency.',
    );
  }
  out.push('  svc p99 = p99 from the moment the generator actually issued each request (leaves out its own scheduling lag); "generator" says whether it kept its schedule.');
  out.push('');
  if (lb) {
    out.push('key figures:');
    if (proxy) out.push(`  our balancer / bare http-proxy: ${ratio(lb.closed.rps.median, proxy.closed.rps.median)} req/s, ${ratio(lb.closed.usPerReq.median, proxy.closed.usPerReq.median)} CPU per request (${ratio(lb.rate.usPerReq.median, proxy.rate.usPerReq.median)} at ${int(args.rate)} req/s)`);
    if (nginx) out.push(`  our balancer / nginx (1 worker): ${ratio(lb.closed.rps.median, nginx.closed.rps.median)} req/s, ${ratio(lb.closed.usPerReq.median, nginx.closed.usPerReq.median)} CPU per request`);
    if (nginx) out.push(`  p99 at ${int(args.rate)} req/s: ours ${ms(lb.rate.p99.median)} ms vs nginx ${ms(nginx.rate.p99.median)} ms (${ratio(lb.rate.p99.median, nginx.rate.p99.median)}); p99.9 ${ms(lb.rate.p999.median)} vs ${ms(nginx.rate.p999.median)} ms`);
    const cl = summary.find((s) => s.id === 'lb-cluster2');
    if (cl) out.push(`  balancer with workers: 2 / 1 process: ${ratio(cl.closed.rps.median, lb.closed.rps.median)} req/s, p99 at ${int(args.rate)} req/s ${ms(cl.rate.p99.median)} vs ${ms(lb.rate.p99.median)} ms`);
    if (cl && nginx) out.push(`  balancer with workers: 2 / nginx (1 worker): ${ratio(cl.closed.rps.median, nginx.closed.rps.median)} req/s`);
    const nginxAuto = summary.find((s) => s.id === 'nginx-auto');
    if (cl && nginxAuto) out.push(`  balancer with workers: 2 / nginx with worker_processes auto: ${ratio(cl.closed.rps.median, nginxAuto.closed.rps.median)} req/s`);
    out.push('');
  }
  if (memory) {
    out.push('balancer memory (RSS):');
    const u = memory.underLoad;
    out.push(`  idle after start ${memory.idleStartMiB} MiB; under the benchmark load: first ${u.firstMiB} MiB, peak ${u.peakMiB} MiB, last ${u.endMiB} MiB; idle after the rounds ${memory.afterRoundsMiB} MiB`);
    if (memory.soak) {
      const s = memory.soak as unknown as MemoryVerdict & { rate: number; durationS: number; idleAfterMiB: number; latency: { p99: number }; errors: number };
      out.push(`  soak ${s.durationS} s at ${s.rate} req/s: ${describeMemory(s)}; idle after ${s.idleAfterMiB} MiB; p99 ${ms(s.latency.p99)} ms, errors ${s.errors}`);
    } else out.push('  (no soak in this run: full mode soaks 5 minutes at 1,000 req/s)');
    out.push('');
  }
  if (deploys.length > 0) {
    out.push('rolling deploy on the local runtime (DEFAULT_DEPLOY_OPTIONS, batch 1, in place), mean ms per instance:');
    out.push(
      table(
        ['instances', 'total s', 'per instance s', ...PHASES, 'other ms', 'load sent', 'failed', 'ok'],
        deploys.map((d) => [
          String(d.instances),
          (d.durationMs / 1000).toFixed(1),
          (d.durationMs / d.instances / 1000).toFixed(2),
          ...PHASES.map((p) => int(d.perInstance[p])),
          int(d.otherMs),
          String(d.load.sent),
          String(d.load.failed),
          d.ok ? 'yes' : `NO: ${d.error}`,
        ]),
      ),
    );
    const small = deploys.find((d) => d.instances === 2);
    const big = deploys.find((d) => d.instances === 10);
    if (small && big) {
      const k = big.durationMs / big.instances / (small.durationMs / small.instances);
      out.push(`  per-instance time, 10 vs 2 instances: ${k.toFixed(2)}× → ${Math.abs(k - 1) <= 0.2 ? 'the cost grows linearly with the instance count' : k > 1 ? 'each instance costs MORE in a bigger fleet (super-linear)' : 'each instance costs less in a bigger fleet'}`);
    }
    out.push('  drain = drain + deregister, health gate = register + health (the balancer\'s own check) + enable.');
    out.push('');
  }
  if (detections.length > 0) {
    out.push('failure detection (2 instances, default balancer settings, 200 req/s):');
    for (const d of detections) {
      out.push(
        `  ${d.signal.padEnd(7)}: out of rotation after ${Number.isFinite(d.detectMs) ? `${Math.round(d.detectMs)} ms` : '> 10 s'} (target ≤ ${d.targetMs} ms), ` +
          `${d.failed} of ${d.sent} requests failed${d.failed ? ` ${JSON.stringify(d.failedByCause)}` : ''} (target 0), slowest request after the kill ${ms(d.maxLatencyAfterKillMs)} ms → ${d.ok ? 'OK' : 'MISSED'}`,
      );
    }
    out.push('  SIGKILL: the kernel closes the dead process\'s sockets, so connects are refused at once; SIGSTOP: the process never answers (like a host gone without RST).');
    out.push('');
  }
  out.push('notes: nginx (open source) has passive health checks only (max_fails/fail_timeout); HAProxy and our balancer check GET /ping actively every 1 s.');
  out.push('  nginx and HAProxy run with 1 worker / 1 thread, like single-threaded Node; rows marked * are extras, not in the main comparison.');
  out.push(`  everything (generator, proxies, upstreams) shares this machine's ${os.cpus().length} cores, so the generator and upstreams take CPU from the proxy: compare within one run.`);
  if (warnings.length > 0) {
    out.push('');
    out.push('warnings:');
    for (const w of warnings) out.push(`  - ${w}`);
  }
  return out.join('\n');
}

function chart(
  args: Args,
  generator: GeneratorInfo,
  targets: Target[],
  summary: TargetSummary[],
  memory: { samples: { tS: number; mib: number }[]; soak?: Record<string, unknown> } | undefined,
  deploys: DeployBenchResult[],
  machine: { cpus: number; node: string },
  startedAt: Date,
): string {
  const label = (s: TargetSummary) => targets.find((t) => t.id === s.id)?.label ?? s.id;
  const soakSamples = (memory?.soak?.samples as { tS: number; mib: number }[] | undefined) ?? undefined;
  return renderChart({
    title: 'Zero-downtime lab: balancer benchmark',
    subtitle: `${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${args.quick ? 'quick' : 'full'} mode, median of ${args.rounds} round(s) × ${args.durationS} s; node ${machine.node}, ${machine.cpus} cores shared by generator, proxy and 2 upstreams`,
    throughput: {
      title: `Requests/s at ${args.connections} connections, ${generator.closed} (higher is better; whiskers: min–max over rounds)`,
      series: ['req/s'],
      unit: 'req/s',
      rows: summary.map((s) => ({ label: label(s), highlight: s.id === 'lb', values: [s.closed.rps] })),
    },
    latency: {
      title: 'p99 latency in ms (lower is better)',
      series: [`at ${args.connections} connections`, `at ${int(args.rate)} req/s, from intended send time`],
      unit: 'ms',
      rows: summary.map((s) => ({
        label: label(s),
        highlight: s.id === 'lb',
        values: [s.closed.p99, s.rate.p99],
        notes: [undefined, s.rate.keptRate ? undefined : '(generator lagged)'],
      })),
    },
    cpu: {
      title: 'Proxy CPU time per request in µs at 50 connections (lower is better; robust to a busy machine)',
      series: ['µs CPU / request'],
      unit: 'µs',
      rows: summary.filter((s) => s.id !== 'direct').map((s) => ({ label: label(s), highlight: s.id === 'lb', values: [s.closed.usPerReq] })),
    },
    memory: soakSamples
      ? { title: `Balancer RSS during the ${memory?.soak?.durationS} s soak at ${memory?.soak?.rate} req/s`, points: soakSamples, note: describeMemory(memory!.soak as unknown as MemoryVerdict) }
      : memory && memory.samples.length > 1
        ? { title: 'Balancer RSS over the benchmark (all phases)', points: memory.samples.map((s) => ({ tS: s.tS, mib: s.mib })), note: 'sampled every second; no soak in quick mode' }
        : undefined,
    deploy:
      deploys.length > 0
        ? {
            title: 'Rolling deploy, local runtime: mean ms per instance by phase',
            phases: [...PHASES],
            unit: 'ms',
            rows: deploys.map((d) => ({ label: `${d.instances} instances (${(d.durationMs / 1000).toFixed(1)} s in all)`, values: PHASES.map((p) => d.perInstance[p]) })),
          }
        : undefined,
    footer: [
      'nginx (open source) has passive health checks only; HAProxy and our balancer actively check GET /ping every 1 s. nginx/HAProxy: 1 worker / 1 thread.',
      'Latency at a fixed rate is measured from each request\'s scheduled send time, so stalls are not hidden (coordinated omission).',
    ],
  });
}

/** Times `npm run rolling-deploy` on a compose lab that is already running; skipped otherwise. */
async function composeDeploy(warnings: string[]): Promise<Record<string, unknown> | undefined> {
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
    const report = JSON.parse(fs.readFileSync(file, 'utf8')) as { ok: boolean; durationMs: number; steps: import('@zdl/deployer').StepRecord[] };
    fs.rmSync(file, { force: true });
    const { breakdown } = await import('./deploy-bench');
    const b = breakdown(report.steps);
    say(`  compose: ${(report.durationMs / 1000).toFixed(1)} s, per instance ${PHASES.map((p) => `${p} ${Math.round(b.perInstance[p])}`).join(', ')} ms`);
    return { ok: report.ok, durationMs: report.durationMs, wallS, ...b };
  } catch {
    warnings.push(`--compose: rolling-deploy exited ${r.status}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`);
    return { ok: false, exit: r.status };
  }
}

const onSignal = (sig: string) => {
  process.stdout.write(`\nbench: ${sig}, stopping everything it started...\n`);
  void cleanupAll().then(() => process.exit(130));
};
process.once('SIGINT', () => onSignal('SIGINT'));
process.once('SIGTERM', () => onSignal('SIGTERM'));

main()
  .then(() => cleanupAll())
  .catch(async (err) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? err}\n`);
    await cleanupAll();
    process.exit(1);
  });
