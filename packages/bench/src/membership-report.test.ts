import type { MembershipRun } from './membership-bench';
import { formatMembership, rssPerUpstreamKiB, summarizeMembership } from './membership-report';

const run = (upstreams: number, round: number, over: Partial<MembershipRun> = {}): MembershipRun => ({
  upstreams,
  round,
  rps: 5000,
  cpuPct: 90,
  usPerReq: 180,
  idleCpuPct: upstreams > 2 ? 20 : 0.5,
  usPerReqNet: 176,
  rssMiB: upstreams > 2 ? 110 : 60,
  registrations: { count: 100, totalMs: 300, perRegistrationMs: 3, allInRotationMs: 600 },
  firstRequestMs: [upstreams, upstreams + 10],
  pickNs: 40,
  bare: { rps: 10_000, usPerReq: 60 },
  probeRate: 500,
  poolSize: upstreams + 110,
  ...over,
});

describe('membership report', () => {
  it('takes medians per upstream count and the ratio largest / smallest', () => {
    const figs = summarizeMembership([run(2, 0, { rps: 4000 }), run(500, 0), run(500, 1, { rps: 4600 }), run(2, 1, { rps: 5000 }), run(2, 2, { rps: 6000 }), run(500, 2, { rps: 4400 })]);
    expect(figs.map((f) => [f.upstreams, f.rps, f.rounds])).toEqual([
      [2, 5000, 3],
      [500, 4600, 3],
    ]);
    expect(figs[1].firstRequestMedianMs).toBe(505);
    expect(figs[1].firstRequestMaxMs).toBe(510);
    expect(figs[1].cycleMs).toBe(1220);
    // (110 - 60) MiB over 498 added upstreams
    expect(rssPerUpstreamKiB(figs)).toBe(102.8);
    const text = formatMembership(figs);
    expect(text).toContain('0.92×'); // 4600 / 5000 req/s
    expect(text).toContain('RSS per added upstream: 102.8 KiB');
    expect(text).toMatch(/control: bare http-proxy, requests\/s\s+10,000\s+10,000\s+1.00×/);
  });
});
