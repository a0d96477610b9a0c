import type { DeployReport } from '../deploy-report';
import type { Recording } from './receipt-recorder';
import { type TrafficPoint, type TrafficTotals, trafficWindow } from './traffic-window';

/** Client-side counts from the load checker driven through the balancer during the deploy (--probe). */
export interface ProbeResult {
  url: string;
  rate: number;
  sent: number;
  succeeded: number;
  failed: number;
  failedByCause: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  byVersion: Record<string, number>;
}

/** receipt.json: what one deploy did and what the traffic saw, for a person to open later. */
export interface Receipt {
  schema: 'zdl-deploy-receipt/1';
  id: string;
  strategy: string;
  runtime: string;
  versions: { from: string[]; to: string };
  ok: boolean;
  error?: { code: string; message: string };
  startedAt: string;
  endedAt: string;
  durationMs: number;
  steps: { slot: string; step: string; ok: boolean; startMs: number; ms: number; detail?: string }[];
  messages: { atMs: number; text: string }[];
  /** What the balancer counted between the first and the last scrape (its Prometheus counters). */
  requests: TrafficTotals;
  /** The same counts interval by interval (one scrape to the next): requests by version over time; they add up to `requests`. */
  traffic: TrafficPoint[];
  drains: { slot: string; ok: boolean; ms: number; maxInFlightSeen: number | null; detail?: string }[];
  canary: { percent: number; verdict: string; reason: string }[] | null;
  switchedAtMs?: number;
  slots: DeployReport['slots'];
  final: { instances: { slot: string; name: string; version: string }[]; upstreams: { name: string; version: string | null; state: string }[] };
  probe?: ProbeResult;
  balancer: { adminUrl: string; scrapes: number; missedScrapes: number; timelinePostsFailed?: number };
}

export function buildReceipt(input: { id: string; report: DeployReport; recording: Recording; adminUrl: string; probe?: ProbeResult; timelinePostsFailed?: number }): Receipt {
  const { report, recording } = input;
  const { totals, points } = trafficWindow(recording.scrapes);
  const t0 = recording.scrapes[0]?.at ?? Date.parse(report.startedAt);
  const end = recording.scrapes[recording.scrapes.length - 1]?.at ?? t0 + report.durationMs;
  const lastScrape = recording.scrapes[recording.scrapes.length - 1];
  return {
    schema: 'zdl-deploy-receipt/1',
    id: input.id,
    strategy: report.strategy,
    runtime: report.runtime,
    versions: { from: [...new Set(report.slots.map((s) => s.from))], to: report.version },
    ok: report.ok,
    ...(report.error ? { error: report.error } : {}),
    startedAt: new Date(t0).toISOString(),
    endedAt: new Date(end).toISOString(),
    durationMs: end - t0,
    steps: recording.steps.map((s) => ({ slot: s.slot, step: s.step, ok: s.ok, startMs: s.startedAt - t0, ms: s.ms, ...(s.detail ? { detail: s.detail } : {}) })),
    messages: recording.messages.map((m) => ({ atMs: m.at - t0, text: m.text })),
    requests: totals,
    traffic: points,
    drains: [...recording.drainInFlight.entries()].map(([s, inFlight]) => ({ slot: s.slot, ok: s.ok, ms: s.ms, maxInFlightSeen: inFlight, ...(s.detail ? { detail: s.detail } : {}) })),
    canary: report.canarySteps ? report.canarySteps.map((c) => ({ percent: c.percent, verdict: c.verdict, reason: c.reason })) : null,
    ...(report.switchedAt ? { switchedAtMs: report.switchedAt - t0 } : {}),
    slots: report.slots,
    final: {
      instances: report.final.map((i) => ({ slot: i.slot, name: i.name, version: i.version })),
      upstreams: (lastScrape?.upstreams ?? []).map((u) => ({ name: u.name, version: u.version ?? null, state: u.state })),
    },
    ...(input.probe ? { probe: input.probe } : {}),
    balancer: { adminUrl: input.adminUrl, scrapes: recording.scrapes.length, missedScrapes: recording.missedScrapes, ...(input.timelinePostsFailed ? { timelinePostsFailed: input.timelinePostsFailed } : {}) },
  };
}
