import type { BenchArgs } from './bench-args';
import { int } from './bench-log';
import type { TargetSummary } from './bench-summary';
import { type DeployBenchResult, PHASES } from './deploy-bench';
import type { GeneratorInfo } from './generator-choice';
import { describeMemory, type MemoryVerdict } from './memory-verdict';
import { renderChart } from './svg';
import type { Target } from './targets';

/** The run as one SVG a person can look at: throughput, latency, CPU per request, memory, deploy phases. */
export function benchChart(
  args: BenchArgs,
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

