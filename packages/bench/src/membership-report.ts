import type { MembershipRun } from './membership-bench';
import { int, ratio } from './bench-log';
import { median, round } from './stats';

/** The medians over the rounds for one upstream count. */
export interface MembershipFigures {
  upstreams: number;
  rounds: number;
  rps: number;
  usPerReq: number;
  usPerReqNet: number;
  idleCpuPct: number;
  rssMiB: number;
  pickNs: number;
  bareRps: number;
  bareUsPerReq: number;
  registrationsMs: number;
  perRegistrationMs: number;
  allInRotationMs: number;
  registrations: number;
  /** Over every probe of every round. */
  firstRequestMedianMs: number;
  firstRequestMaxMs: number;
  probes: number;
  /** One round-robin cycle at the probe load: the longest a new member can wait for its turn. */
  cycleMs: number;
}

export function summarizeMembership(runs: MembershipRun[]): MembershipFigures[] {
  const counts = [...new Set(runs.map((r) => r.upstreams))].sort((a, b) => a - b);
  return counts.map((n) => {
    const rs = runs.filter((r) => r.upstreams === n);
    const m = (f: (r: MembershipRun) => number, digits = 1) => round(median(rs.map(f)), digits);
    const first = rs.flatMap((r) => r.firstRequestMs);
    return {
      upstreams: n,
      rounds: rs.length,
      rps: m((r) => r.rps, 0),
      usPerReq: m((r) => r.usPerReq),
      usPerReqNet: m((r) => r.usPerReqNet),
      idleCpuPct: m((r) => r.idleCpuPct),
      rssMiB: m((r) => r.rssMiB),
      pickNs: m((r) => r.pickNs),
      bareRps: m((r) => r.bare.rps, 0),
      bareUsPerReq: m((r) => r.bare.usPerReq),
      registrations: rs[0]?.registrations.count ?? 0,
      registrationsMs: m((r) => r.registrations.totalMs, 0),
      perRegistrationMs: m((r) => r.registrations.perRegistrationMs, 2),
      allInRotationMs: m((r) => r.registrations.allInRotationMs, 0),
      firstRequestMedianMs: round(median(first), 0),
      firstRequestMaxMs: first.length ? Math.max(...first) : NaN,
      probes: first.length,
      cycleMs: m((r) => (r.poolSize / r.probeRate) * 1000, 0),
    };
  });
}

/** RSS per upstream: the growth from the smallest to the largest count, in KiB per added upstream. */
export function rssPerUpstreamKiB(figs: MembershipFigures[]): number {
  const [a, b] = [figs[0], figs[figs.length - 1]];
  if (!a || !b || b.upstreams === a.upstreams) return NaN;
  return round(((b.rssMiB - a.rssMiB) * 1024) / (b.upstreams - a.upstreams), 1);
}

/** The table the bench prints (and the README quotes): each figure for each count, and the ratio largest / smallest. */
export function formatMembership(figs: MembershipFigures[]): string {
  const [a, b] = [figs[0], figs[figs.length - 1]];
  const col = (s: string) => s.padStart(14);
  const row = (label: string, f: (x: MembershipFigures) => number, show: (n: number) => string = int) =>
    `${label.padEnd(52)}${figs.map((x) => col(show(f(x)))).join('')}${col(ratio(f(b), f(a)))}`;
  const one = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
  return [
    `${'membership (median of ' + a.rounds + ' rounds; health checks every 1 s)'.padEnd(52)}${figs.map((x) => col(`${x.upstreams} upstreams`)).join('')}${col(`${b.upstreams} / ${a.upstreams}`)}`,
    row('requests/s (closed loop)', (x) => x.rps),
    row('balancer CPU µs per request', (x) => x.usPerReq, one),
    row('  without the health checks (idle CPU taken out)', (x) => x.usPerReqNet, one),
    row('control: bare http-proxy, requests/s', (x) => x.bareRps),
    row('control: bare http-proxy, CPU µs per request', (x) => x.bareUsPerReq, one),
    row('balancer requests/s ÷ bare http-proxy\'s', (x) => x.rps / x.bareRps, (n) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : '–')),
    row('the pick alone (in process), ns', (x) => x.pickNs, one),
    row('balancer CPU at rest, % of one core (health checks)', (x) => x.idleCpuPct, one),
    row('balancer RSS at rest, MiB', (x) => x.rssMiB, one),
    row(`${a.registrations} registrations (POST /registrations), ms`, (x) => x.registrationsMs),
    row('  per registration, ms', (x) => x.perRegistrationMs, (n) => (Number.isFinite(n) ? n.toFixed(2) : '–')),
    row(`  until all ${a.registrations} in rotation, ms`, (x) => x.allInRotationMs),
    row('first passing check → first request, median ms', (x) => x.firstRequestMedianMs),
    row('  max ms', (x) => x.firstRequestMaxMs),
    row('  one round-robin cycle at the probe load, ms', (x) => x.cycleMs),
    `RSS per added upstream: ${one(rssPerUpstreamKiB(figs))} KiB`,
  ].join('\n');
}
