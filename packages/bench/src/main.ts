import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BenchArgsError, parseBenchArgs, USAGE } from './bench-args';
import { benchChart } from './bench-chart';
import { caddyTarget } from './caddy-target';
import { elapsedS, int, ms, say } from './bench-log';
import { formatReport } from './bench-report';
import { summarizeTargets } from './bench-summary';
import { composeDeploy } from './compose-deploy';
import { benchDashboard, type DashboardBenchResult } from './dashboard-bench';
import { benchRollingDeploy, PHASES, type DeployBenchResult } from './deploy-bench';
import { benchDetection, type DetectionResult } from './detect-bench';
import { ensureProxies, pickGenerator } from './generator-choice';
import { measureRounds } from './measure-rounds';
import { loadPeak } from './memory-verdict';
import { soakEachEngine } from './engine-soaks';
import { cleanupAll } from './procs';
import { runLoad } from './run-load';
import { median, round } from './stats';
import { bareProxyTarget, clusterTarget, directTarget, DIST, haproxyTarget, lbTarget, lbUndiciTarget, nginxTarget, startUpstreams, type Target } from './targets';

/**
 * npm run bench: our balancer against direct access, bare http-proxy, nginx and HAProxy in one run
 * (ratios, since this machine is noisy), then a memory soak, deploy timings and failure detection.
 * Each part lives in its own file; this one only runs them in order and writes the results.
 */
function fail(msg: string): never {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof BenchArgsError) fail(`${err.message}\n${USAGE}`);
    throw err;
  }
  if (parsed === 'help') {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const args = parsed;
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
  let generator;
  try {
    generator = pickGenerator(args);
  } catch (err) {
    if (err instanceof BenchArgsError) fail(err.message);
    throw err;
  }
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
  await tryStart('caddy', false, () => caddyTarget(dir, up));
  await tryStart('nginx-auto', true, () => nginxTarget(dir, up, 'auto'));
  await tryStart('lb-cluster2', true, () => clusterTarget(dir, up, args.lbMain, 2));
  await tryStart('lb-undici', true, () => lbUndiciTarget(dir, up, args.lbMain));
  await tryStart('lb-undici-cluster2', true, () => lbUndiciTarget(dir, up, args.lbMain, 2));
  if (args.floors || args.targets?.includes('node-http')) await tryStart('node-http', true, () => bareProxyTarget(dir, up, [], 'node-http'));
  if (args.floors || args.targets?.includes('undici')) await tryStart('undici', true, () => bareProxyTarget(dir, up, [], 'undici'));
  for (const v of args.variants) {
    await tryStart(`lb:${v.name}`, false, async () => ({ ...(await lbTarget(dir, up, v.main, { id: `lb-${v.name}` })), id: `lb:${v.name}`, label: `balancer build "${v.name}"`, extra: true }));
  }
  const lb = targets.find((t) => t.id === 'lb');
  for (const t of targets) say(`  ${t.id.padEnd(12)} ${t.label}  ${t.url}`);

  const { runs, lbRss, lbRssIdleStart, lbRssAfterRounds } = await measureRounds(args, generator, targets);

  // ---- dashboard stream open vs closed ---------------------------------------------------------
  let dashboard: DashboardBenchResult | undefined;
  if (args.dashboard && lb) {
    const durMs = args.durationS * 1000;
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

  // One soak per proxy engine (lb, lb-undici when started).
  const soaks = args.soakS > 0 ? await soakEachEngine(targets, args.soakRate, args.soakS) : {};
  const soak = soaks.lb;

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
  const summary = summarizeTargets(targets, runs);
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
        soaks,
      }
    : undefined;

  const text = formatReport(args, generator, targets, summary, memory, deploys, detections, warnings);
  process.stdout.write('\n' + text + '\n');

  const result = {
    tool: '@zdl/bench',
    mode: args.quick ? 'quick' : 'full',
    startedAt: startedAt.toISOString(),
    durationS: round(elapsedS(), 1),
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
  const svg = benchChart(args, generator, targets, summary, memory, deploys, machine, startedAt);
  fs.writeFileSync(path.join(args.out, `bench-${ts}.svg`), svg);
  fs.writeFileSync(path.join(args.out, 'latest.svg'), svg);
  say(`wrote ${path.relative(process.cwd(), jsonFile)}, ${path.relative(process.cwd(), path.join(args.out, 'latest.json'))}, latest.svg (chart) and bench-${ts}.txt`);
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
