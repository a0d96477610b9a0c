import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatProfile, summarizeProfile, type ProfileSummary } from './cpuprofile';
import type { LoadResult } from './load-worker';
import { cleanupAll, CpuMeter, forkForResult, onCleanup, sleep } from './procs';
import { bareProxyTarget, DEFAULT_LB_MAIN, DIST, lbTarget, REPO, startUpstreams, type Target } from './targets';

/**
 * npm run bench:profile — our balancer vs the bare http-proxy under the same fixed-concurrency load,
 * each with `node --cpu-prof`; prints req/s, the ratio, and where each spends its CPU.
 *   --duration <s>       measured seconds per target (default 10)
 *   --connections <n>    (default 50)
 *   --lb <name=main.js>  profile another build of the balancer too (repeatable), e.g. a patched copy
 *   --engines <a,b>      run each balancer build on these proxy engines (default http-proxy; e.g. http-proxy,undici)
 *   --bare <a,b>         bare proxies to profile as references (default http-proxy; also undici, node-http)
 *   --out <dir>          where the .cpuprofile files and summary go (default bench-results/profile-<ts>)
 */
interface Args {
  durationS: number;
  connections: number;
  lbs: { name: string; main: string }[];
  engines: string[];
  bare: ('http-proxy' | 'undici' | 'node-http')[];
  out: string;
}

function parseArgs(argv: string[]): Args {
  const ts = new Date().toISOString().replace(/[:.]/g, '-');
  const a: Args = { durationS: 10, connections: 50, lbs: [], engines: ['http-proxy'], bare: ['http-proxy'], out: path.join(REPO, 'bench-results', `profile-${ts}`) };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === '--duration') a.durationS = Number(v());
    else if (k === '--connections') a.connections = Number(v());
    else if (k === '--lb') {
      const [name, main] = v().split('=');
      a.lbs.push({ name, main: path.resolve(main) });
    } else if (k === '--engines') a.engines = v().split(',');
    else if (k === '--bare') {
      const list = v().split(',');
      for (const b of list) if (b !== 'http-proxy' && b !== 'undici' && b !== 'node-http') throw new Error(`--bare: expected http-proxy, undici or node-http, got "${b}"`);
      a.bare = list as Args['bare'];
    } else if (k === '--out') a.out = path.resolve(v());
    else throw new Error(`unknown argument ${k}`);
  }
  if (a.lbs.length === 0) a.lbs.push({ name: 'lb', main: DEFAULT_LB_MAIN });
  return a;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  fs.mkdirSync(args.out, { recursive: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zdl-profile-'));
  onCleanup('tmp dir', () => fs.rmSync(dir, { recursive: true, force: true }));
  const say = (s: string) => process.stdout.write(s + '\n');
  const up = await startUpstreams(dir);
  const rows: { name: string; rps: number; cpuPct: number; p99: number; summary: ProfileSummary }[] = [];
  const subjects: { name: string; start: (profDir: string) => Promise<Target & { stop: () => Promise<void> }> }[] = [
    // The first bare proxy is the base of the ratios.
    ...args.bare.map((mode) => ({
      name: mode,
      start: (profDir: string) => bareProxyTarget(dir, up, ['--cpu-prof', `--cpu-prof-dir=${profDir}`], mode),
    })),
    ...args.lbs.flatMap((lb) =>
      args.engines.map((engine) => {
        const name = engine === 'http-proxy' ? lb.name : `${lb.name}-${engine}`;
        return {
          name,
          start: async (profDir: string) => {
            const t = await lbTarget(dir, up, lb.main, { id: `prof-${name}`, execArgv: ['--cpu-prof', `--cpu-prof-dir=${profDir}`], env: { LB_PROXY_ENGINE: engine } });
            return { ...t, stop: () => t.proc.stop(10_000) };
          },
        };
      }),
    ),
  ];
  for (const s of subjects) {
    const profDir = path.join(args.out, s.name);
    fs.mkdirSync(profDir, { recursive: true });
    const t = await s.start(profDir);
    const cpu = new CpuMeter(t.pid);
    let cpuPct = NaN;
    say(`profiling ${s.name}: ${args.connections} connections, ${args.durationS} s...`);
    const r = await forkForResult<LoadResult>(
      path.join(DIST, 'load-worker.js'),
      [JSON.stringify({ kind: 'closed', url: t.url, connections: args.connections, durationMs: args.durationS * 1000, warmupMs: 1000 })],
      args.durationS * 1000 + 30_000,
      (m) => {
        const msg = m as { phase?: string; ok?: boolean };
        if (msg.phase) cpu.mark();
        else if (msg.ok !== undefined) cpuPct = cpu.read();
      },
    );
    if (!Number.isFinite(cpuPct)) cpuPct = cpu.read();
    await t.stop();
    await sleep(200);
    const file = fs.readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no .cpuprofile written in ${profDir}`);
    const summary = summarizeProfile(path.join(profDir, file), 30);
    if (r.kind !== 'closed') throw new Error('unexpected result');
    rows.push({ name: s.name, rps: r.rps, cpuPct, p99: r.latency.p99, summary });
    say(`  ${Math.round(r.rps)} req/s, p99 ${r.latency.p99.toFixed(2)} ms, CPU ${cpuPct.toFixed(0)}% of a core, errors ${r.errors + r.non2xx}`);
  }
  const base = rows[0];
  const lines: string[] = [];
  lines.push(`# our balancer vs bare http-proxy, ${args.connections} connections, ${args.durationS} s each, node ${process.version}, ${os.cpus().length} cores`);
  lines.push('');
  lines.push('| target | req/s | ×http-proxy | CPU % | µs CPU/request | p99 ms |');
  lines.push('|---|---|---|---|---|---|');
  for (const r of rows) {
    const usPerReq = ((r.cpuPct / 100) * 1e6) / r.rps;
    lines.push(`| ${r.name} | ${Math.round(r.rps)} | ${(r.rps / base.rps).toFixed(2)} | ${r.cpuPct.toFixed(0)} | ${usPerReq.toFixed(0)} | ${r.p99.toFixed(2)} |`);
  }
  lines.push('');
  // Areas side by side, as µs of CPU per request (comparable across targets whatever their req/s).
  const areaNames = [...new Set(rows.flatMap((r) => r.summary.areas.map((a) => a.area)))];
  lines.push(`| area (µs of profiled CPU per request) | ${rows.map((r) => r.name).join(' | ')} |`);
  lines.push(`|---|${rows.map(() => '---').join('|')}|`);
  const perReq = (r: (typeof rows)[number], area: string) => {
    const a = r.summary.areas.find((x) => x.area === area);
    const requests = r.rps * (r.summary.totalMs / 1000);
    return a ? (a.ms * 1000) / requests : 0;
  };
  for (const area of areaNames.sort((x, y) => perReq(rows[rows.length - 1], y) - perReq(rows[rows.length - 1], x))) {
    lines.push(`| ${area} | ${rows.map((r) => perReq(r, area).toFixed(1)).join(' | ')} |`);
  }
  lines.push('');
  for (const r of rows) {
    lines.push('```');
    lines.push(formatProfile(r.summary, r.name));
    lines.push('  top inclusive time (% of busy):');
    for (const f of r.summary.inclusive) lines.push(`    ${f.pct.toFixed(1).padStart(5)}%  ${f.fn.padEnd(34)} ${f.where}`);
    lines.push('```');
  }
  const text = lines.join('\n') + '\n';
  fs.writeFileSync(path.join(args.out, 'summary.md'), text);
  say('\n' + text);
  say(`profiles and summary in ${args.out}`);
}

const onSignal = () => void cleanupAll().then(() => process.exit(130));
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);
main()
  .then(() => cleanupAll())
  .catch(async (err) => {
    process.stderr.write(`bench:profile: ${(err as Error).message}\n`);
    await cleanupAll();
    process.exit(1);
  });
