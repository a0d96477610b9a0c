import type { ClosedResult } from './load-worker';
import type { FixedRateResult } from './fixed-rate';
import { median, minMax, round } from './stats';
import type { Target } from './targets';

/** One target's figures in one round. */
export interface RunRecord {
  round: number;
  target: string;
  closed?: ClosedResult & { cpuPct: number; usPerReq: number; foreignCpuPct: number; rssMiB: number };
  rate?: FixedRateResult & { cpuPct: number; foreignCpuPct: number };
}

export interface Stat {
  median: number;
  min: number;
  max: number;
}

export const stat = (xs: number[]): Stat => {
  const [min, max] = minMax(xs);
  return { median: round(median(xs), 3), min: round(min, 3), max: round(max, 3) };
};

export interface TargetSummary {
  id: string;
  label: string;
  extra: boolean;
  closed: { rps: Stat; p50: Stat; p99: Stat; p999: Stat; cpuPct: Stat; usPerReq: Stat; rssMiB: Stat; errors: number };
  rate: { p50: Stat; p99: Stat; p999: Stat; max: Stat; servicep99: Stat; achieved: Stat; sendLagP99: Stat; cpuPct: Stat; usPerReq: Stat; errors: number; keptRate: boolean };
  ratios: Record<string, number>;
}

export function summarizeTargets(targets: Target[], runs: RunRecord[]): TargetSummary[] {
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
  const caddy = out.find((s) => s.id === 'caddy');
  for (const s of out) {
    for (const [name, base] of [
      ['nginx', nginx],
      ['httpProxy', proxy],
      ['caddy', caddy],
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
