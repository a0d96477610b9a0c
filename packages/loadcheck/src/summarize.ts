import { isFailure, type Outcome } from './outcome';

export interface Summary {
  sent: number;
  succeeded: number;
  failed: number;
  failedByCause: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  byVersion: Record<string, number>;
  byInstance: Record<string, number>;
  /** Which versions answered in each time slice (ms since start → version → count). */
  timeline: { fromMs: number; versions: Record<string, number>; failed: number }[];
}

export function summarize(outcomes: readonly Outcome[], sliceMs = 1000): Summary {
  const latencies = outcomes.map((o) => o.latencyMs).sort((a, b) => a - b);
  const q = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)] : 0);
  const failedByCause: Record<string, number> = {};
  const byVersion: Record<string, number> = {};
  const byInstance: Record<string, number> = {};
  const slices = new Map<number, Summary['timeline'][number]>();
  for (const o of outcomes) {
    const slice = Math.floor(o.sentAt / sliceMs) * sliceMs;
    let s = slices.get(slice);
    if (!s) slices.set(slice, (s = { fromMs: slice, versions: {}, failed: 0 }));
    if (isFailure(o)) {
      const cause = o.status === 0 ? (o.error ?? 'error') : `HTTP ${o.status}`;
      failedByCause[cause] = (failedByCause[cause] ?? 0) + 1;
      s.failed++;
    } else {
      const v = o.version ?? '?';
      byVersion[v] = (byVersion[v] ?? 0) + 1;
      byInstance[o.instance ?? '?'] = (byInstance[o.instance ?? '?'] ?? 0) + 1;
      s.versions[v] = (s.versions[v] ?? 0) + 1;
    }
  }
  const failed = Object.values(failedByCause).reduce((a, b) => a + b, 0);
  return {
    sent: outcomes.length,
    succeeded: outcomes.length - failed,
    failed,
    failedByCause,
    p50Ms: round(q(0.5)),
    p99Ms: round(q(0.99)),
    maxMs: round(latencies[latencies.length - 1] ?? 0),
    byVersion,
    byInstance,
    timeline: [...slices.values()].sort((a, b) => a.fromMs - b.fromMs),
  };
}

const round = (n: number) => Math.round(n * 10) / 10;

/** A few lines a person reads at the end of a run. */
export function formatSummary(s: Summary): string {
  const lines = [
    `sent ${s.sent}, succeeded ${s.succeeded}, failed ${s.failed}${s.failed ? ' (' + Object.entries(s.failedByCause).map(([k, v]) => `${k}: ${v}`).join(', ') + ')' : ''}`,
    `latency p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms, max ${s.maxMs} ms`,
    `answered by version: ${Object.entries(s.byVersion).map(([k, v]) => `${k} ${v}`).join(', ') || '-'}`,
    `answered by instance: ${Object.entries(s.byInstance).map(([k, v]) => `${k} ${v}`).join(', ') || '-'}`,
    'versions over time:',
    ...s.timeline.map(
      (t) =>
        `  ${String((t.fromMs / 1000).toFixed(0)).padStart(4)} s  ` +
        Object.entries(t.versions).map(([v, n]) => `${v} ${n}`).join(', ') +
        (t.failed ? `, FAILED ${t.failed}` : ''),
    ),
  ];
  return lines.join('\n');
}
