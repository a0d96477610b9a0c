import os from 'node:os';
import type { BenchArgs } from './bench-args';
import { int, ms, ratio } from './bench-log';
import type { TargetSummary } from './bench-summary';
import { type DeployBenchResult, PHASES } from './deploy-bench';
import type { DetectionResult } from './detect-bench';
import type { GeneratorInfo } from './generator-choice';
import { describeMemory, type MemoryVerdict } from './memory-verdict';
import type { Target } from './targets';

/** The memory figures of a run, as the report and the chart take them. */
export interface MemoryFigures {
  idleStartMiB: number;
  underLoad: { firstMiB: number; peakMiB: number; endMiB: number };
  afterRoundsMiB: number;
  samples: { tS: number; mib: number; phase: string }[];
  soak?: Record<string, unknown>;
  /** Every soak by target id (lb, lb-undici): one per proxy engine. */
  soaks?: Record<string, Record<string, unknown>>;
}

function table(header: string[], rows: string[][], alignLeft = 1): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < alignLeft ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(header), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

export function formatReport(
  args: BenchArgs,
  generator: GeneratorInfo,
  targets: Target[],
  summary: TargetSummary[],
  memory: MemoryFigures | undefined,
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
    const caddy = summary.find((s) => s.id === 'caddy');
    if (caddy) out.push(`  our balancer / Caddy: ${ratio(lb.closed.rps.median, caddy.closed.rps.median)} req/s, ${ratio(lb.closed.usPerReq.median, caddy.closed.usPerReq.median)} CPU per request`);
    if (nginx) out.push(`  p99 at ${int(args.rate)} req/s: ours ${ms(lb.rate.p99.median)} ms vs nginx ${ms(nginx.rate.p99.median)} ms (${ratio(lb.rate.p99.median, nginx.rate.p99.median)}); p99.9 ${ms(lb.rate.p999.median)} vs ${ms(nginx.rate.p999.median)} ms`);
    const undici = summary.find((s) => s.id === 'lb-undici');
    if (undici) {
      const vs = (base: TargetSummary | undefined, name: string) => (base ? `${ratio(undici.closed.rps.median, base.closed.rps.median)} ${name}` : undefined);
      out.push(`  undici engine (lb-undici): ${[vs(proxy, 'bare http-proxy'), vs(nginx, 'nginx (1 worker)'), vs(caddy, 'Caddy'), vs(lb, 'the http-proxy engine')].filter(Boolean).join(', ')} req/s; ${int(undici.closed.usPerReq.median)} µs CPU per request (${int(undici.rate.usPerReq.median)} at ${int(args.rate)} req/s)`);
      if (nginx) out.push(`  undici engine, p99 at ${int(args.rate)} req/s: ${ms(undici.rate.p99.median)} ms vs nginx ${ms(nginx.rate.p99.median)} ms (${ratio(undici.rate.p99.median, nginx.rate.p99.median)}); p99.9 ${ms(undici.rate.p999.median)} vs ${ms(nginx.rate.p999.median)} ms`);
      const ucl = summary.find((s) => s.id === 'lb-undici-cluster2');
      if (ucl) out.push(`  undici engine with workers: 2 (lb-undici-cluster2): ${ratio(ucl.closed.rps.median, undici.closed.rps.median)} one process${nginx ? `, ${ratio(ucl.closed.rps.median, nginx.closed.rps.median)} nginx (1 worker)` : ''} req/s; p99 at ${int(args.rate)} req/s ${ms(ucl.rate.p99.median)} ms; ${int(ucl.closed.usPerReq.median)} µs CPU per request`);
    }
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
    const soaks = memory.soaks ?? (memory.soak ? { lb: memory.soak } : {});
    if (Object.keys(soaks).length > 0) {
      for (const [id, soak] of Object.entries(soaks)) {
        const s = soak as unknown as MemoryVerdict & { rate: number; durationS: number; idleAfterMiB: number; latency: { p99: number }; errors: number };
        out.push(`  soak ${id} ${s.durationS} s at ${s.rate} req/s: ${describeMemory(s)}; idle after ${s.idleAfterMiB} MiB; p99 ${ms(s.latency.p99)} ms, errors ${s.errors}`);
      }
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
