import type { Receipt } from './build-receipt';

const PALETTE = ['#3b82f6', '#16a34a', '#f59e0b', '#9333ea', '#db2777', '#0891b2'];

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const n = (v: number) => v.toLocaleString('en-US');
const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** receipt.html: one self-contained file (inline CSS and SVG, no script, no network). */
export function renderReceiptHtml(r: Receipt): string {
  const failed = r.requests.failed;
  const verdict = r.ok && failed === 0 && (r.probe?.failed ?? 0) === 0;
  const head = r.ok ? (failed === 0 ? 'DONE, zero failed requests' : `DONE, but ${n(failed)} failed request(s)`) : `FAILED${r.error ? `: ${r.error.message}` : ''}`;
  const row = (cells: unknown[], cls = '') => `<tr${cls ? ` class="${cls}"` : ''}>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`;
  const tile = (label: string, value: string, sub = '', cls = '') => `<div class="tile ${cls}"><div class="k">${esc(label)}</div><div class="v">${esc(value)}</div><div class="s">${esc(sub)}</div></div>`;
  const req = r.requests;
  const tiles = [
    tile('failed requests (balancer)', n(failed), `${n(req.balancer5xx)} balancer 5xx · ${n(req.upstream5xx)} upstream 5xx`, failed === 0 ? 'good' : 'bad'),
    tile('requests seen by the balancer', n(req.total), `client aborts (not failures): ${n(req.clientAborts)}`),
    tile('connection failures', n(req.connectionFailures), `refused/reset/timed out · ${n(req.retries)} retried elsewhere`),
    ...(r.probe
      ? [tile('probe: failed / sent (client side)', `${n(r.probe.failed)} / ${n(r.probe.sent)}`, `p50 ${r.probe.p50Ms.toFixed(1)} ms · p99 ${r.probe.p99Ms.toFixed(1)} ms · ${r.probe.rate}/s`, r.probe.failed === 0 ? 'good' : 'bad')]
      : []),
  ].join('');
  const steps = r.steps.map((s) => row([`+${sec(s.startMs)}`, s.slot, s.step, s.ok ? 'ok' : 'FAILED', `${n(s.ms)} ms`, s.detail ?? ''], s.ok ? '' : 'bad')).join('');
  const drains = r.drains.length
    ? `<h2>Drains</h2><table><tr><th>slot</th><th>result</th><th>took</th><th>most in flight seen</th><th>detail</th></tr>${r.drains
        .map((d) => row([d.slot, d.ok ? 'ok' : 'FAILED', `${n(d.ms)} ms`, d.maxInFlightSeen ?? '–', d.detail ?? '']))
        .join('')}</table>`
    : '';
  const canary = r.canary?.length
    ? `<h2>Canary verdicts</h2><table><tr><th>share</th><th>verdict</th><th>reason</th></tr>${r.canary.map((c) => row([`${c.percent}%`, c.verdict, c.reason], c.verdict === 'pass' ? '' : 'bad')).join('')}</table>`
    : '';
  const probe = r.probe
    ? `<h2>Probe (the load checker, through the balancer)</h2><table>${row(['url', r.probe.url])}${row(['rate', `${r.probe.rate}/s`])}${row(['sent', n(r.probe.sent)])}${row([
        'succeeded',
        n(r.probe.succeeded),
      ])}${row(['failed', `${n(r.probe.failed)}${Object.keys(r.probe.failedByCause).length ? ` (${Object.entries(r.probe.failedByCause).map(([k, v]) => `${k}: ${v}`).join(', ')})` : ''}`])}${row([
        'latency',
        `p50 ${r.probe.p50Ms.toFixed(1)} ms, p99 ${r.probe.p99Ms.toFixed(1)} ms, max ${r.probe.maxMs.toFixed(1)} ms`,
      ])}${row(['answered by version', Object.entries(r.probe.byVersion).map(([k, v]) => `${k}: ${n(v)}`).join(', ')])}</table>`
    : '';
  const finalRows = r.final.upstreams.map((u) => row([u.name, u.version ?? '?', u.state])).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Deploy receipt: ${esc(r.strategy)} ${esc(r.versions.from.join(','))} → ${esc(r.versions.to)}</title>
<style>
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1f2937;background:#f6f7f9}
main{max-width:1080px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:15px;margin:26px 0 8px;text-transform:uppercase;letter-spacing:.05em;color:#4b5563}
.banner{padding:14px 18px;border-radius:10px;font-weight:700;font-size:18px;margin:14px 0}
.banner.good{background:#dcfce7;color:#166534}.banner.bad{background:#fee2e2;color:#991b1b}
.meta{color:#6b7280}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr));gap:12px}
.tile{background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:12px 14px}
.tile .k{font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:#6b7280}.tile .v{font-size:30px;font-weight:700}.tile .s{font-size:12px;color:#6b7280}
.tile.good .v{color:#16a34a}.tile.bad .v{color:#dc2626}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #e5e7eb;border-radius:8px;font-variant-numeric:tabular-nums}
td,th{white-space:nowrap}td:last-child{white-space:normal}
td,th{padding:5px 10px;border-bottom:1px solid #f0f1f3;text-align:left;vertical-align:top}th{font-size:12px;color:#6b7280;font-weight:600}
tr.bad td{color:#b91c1c}
.chart{background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:10px}
.legend span{margin-right:16px}.sw{display:inline-block;width:11px;height:11px;border-radius:3px;margin-right:5px;vertical-align:-1px}
footer{color:#9ca3af;font-size:12px;margin-top:28px}
</style></head>
<body><main>
<h1>Deploy receipt: ${esc(r.strategy)} ${esc(r.versions.from.join(', '))} → ${esc(r.versions.to)}</h1>
<div class="meta">${esc(r.runtime)} runtime · ${esc(r.startedAt)} → ${esc(r.endedAt)} · ${sec(r.durationMs)} · id ${esc(r.id)}</div>
<div class="banner ${verdict ? 'good' : 'bad'}">${esc(head)}</div>
<div class="tiles">${tiles}</div>
<h2>Traffic by version (requests/s, as the balancer counted them)</h2>
<div class="chart">${trafficSvg(r)}</div>
<h2>Steps</h2>
<table><tr><th>at</th><th>slot</th><th>step</th><th>result</th><th>took</th><th>detail</th></tr>${steps}</table>
${drains}${canary}${probe}
<h2>Final state</h2>
<table><tr><th>upstream</th><th>version</th><th>state</th></tr>${finalRows}</table>
<footer>Requests: from the balancer's Prometheus counters (lb_requests_total, lb_retries_total) and GET /upstreams, read ${n(r.balancer.scrapes)} times during the deploy at ${esc(r.balancer.adminUrl)}${r.balancer.missedScrapes ? ` (${r.balancer.missedScrapes} reads failed)` : ''}. "Upstream 5xx" includes the balancer's 502/504 for a connection that failed and could not be retried. Written by the deployer; receipt.json has the same data.</footer>
</main></body></html>
`;
}

/** A stacked area chart of requests/s by version, with the steps that move traffic marked. */
function trafficSvg(r: Receipt): string {
  const W = 1040, H = 260, L = 50, R = 10, T = 12, B = 28;
  const pts = spread(r.traffic.filter((p) => p.ms > 0), 1000);
  if (pts.length === 0) return '<p class="meta">no traffic samples</p>';
  const versions = [...new Set(pts.flatMap((p) => Object.keys(p.byVersion)))].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const color = (v: string) => PALETTE[versions.indexOf(v) % PALETTE.length];
  const rate = (p: (typeof pts)[number], v: string) => ((p.byVersion[v] ?? 0) * 1000) / p.ms;
  const span = Math.max(1, pts[pts.length - 1].tMs);
  let max = 1;
  for (const p of pts) max = Math.max(max, versions.reduce((a, v) => a + rate(p, v), 0) + (p.failed * 1000) / p.ms);
  const step = niceStep(max / 4);
  const top = Math.ceil(max / step) * step;
  const x = (t: number) => L + (t / span) * (W - L - R);
  const y = (v: number) => H - B - (v / top) * (H - T - B);
  const out: string[] = [];
  for (let g = 0; g <= top + 1e-9; g += step) {
    out.push(`<line x1="${L}" x2="${W - R}" y1="${y(g).toFixed(1)}" y2="${y(g).toFixed(1)}" stroke="#eef0f3"/>`);
    out.push(`<text x="${L - 6}" y="${(y(g) + 4).toFixed(1)}" text-anchor="end">${Math.round(g)}</text>`);
  }
  const tickEvery = niceStep(span / 1000 / 8);
  for (let s = 0; s <= span / 1000 + 1e-9; s += tickEvery) out.push(`<text x="${x(s * 1000).toFixed(1)}" y="${H - 8}" text-anchor="middle">${Math.round(s)} s</text>`);
  // Each interval's rate drawn over its own span (a step shape: the counts are per interval).
  let base = pts.map(() => 0);
  for (const v of versions) {
    const topLine = pts.map((p, i) => base[i] + rate(p, v));
    const upper: string[] = [];
    const lower: string[] = [];
    pts.forEach((p, i) => {
      const x0 = x(p.tMs - p.ms), x1 = x(p.tMs);
      upper.push(`${x0.toFixed(1)},${y(topLine[i]).toFixed(1)}`, `${x1.toFixed(1)},${y(topLine[i]).toFixed(1)}`);
      lower.unshift(`${x1.toFixed(1)},${y(base[i]).toFixed(1)}`, `${x0.toFixed(1)},${y(base[i]).toFixed(1)}`);
    });
    out.push(`<polygon points="${[...upper, ...lower].join(' ')}" fill="${color(v)}" fill-opacity="0.85"/>`);
    base = topLine;
  }
  if (pts.some((p) => p.failed > 0)) {
    const line = pts.flatMap((p) => [`${x(p.tMs - p.ms).toFixed(1)},${y((p.failed * 1000) / p.ms).toFixed(1)}`, `${x(p.tMs).toFixed(1)},${y((p.failed * 1000) / p.ms).toFixed(1)}`]);
    out.push(`<polyline points="${line.join(' ')}" fill="none" stroke="#dc2626" stroke-width="2"/>`);
  }
  // Marks where traffic was told to move: canary steps, the blue/green switch, drains.
  for (const s of r.steps) {
    if (!['canary-step', 'switch', 'drain', 'promote'].includes(s.step) || s.startMs < 0 || s.startMs > span) continue;
    const xx = x(s.startMs).toFixed(1);
    out.push(`<line x1="${xx}" x2="${xx}" y1="${T}" y2="${H - B}" stroke="#6b7280" stroke-dasharray="3,3"/>`);
    out.push(`<text x="${(Number(xx) + 3).toFixed(1)}" y="${T + 10}" fill="#6b7280">${esc(s.step === 'canary-step' ? (s.detail?.match(/\d+%/)?.[0] ?? 'step') : s.step)}</text>`);
  }
  const legend = versions.map((v) => `<span><i class="sw" style="background:${color(v)}"></i>${esc(v)}: ${n(r.requests.byVersion[v] ?? 0)} requests</span>`).join('');
  return `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="requests per second by version" font-size="11" font-family="system-ui, sans-serif" fill="#6b7280">${out.join('')}</svg><div class="legend">${legend}<span><i class="sw" style="background:#dc2626"></i>failed/s</span></div>`;
}

/**
 * Each interval's counts spread over the 1 s bins it overlaps, in proportion: the scrapes are not
 * evenly spaced (one more at every step), so assigning whole intervals to bins would draw spikes.
 */
function spread(points: Receipt['traffic'], binMs: number): Receipt['traffic'] {
  const end = points.length ? points[points.length - 1].tMs : 0;
  const bins: Receipt['traffic'] = Array.from({ length: Math.ceil(end / binMs) }, (_, i) => ({ tMs: Math.min(end, (i + 1) * binMs), ms: Math.min(binMs, end - i * binMs), byVersion: {}, failed: 0 }));
  for (const p of points) {
    const from = p.tMs - p.ms;
    for (let i = Math.floor(from / binMs); i < bins.length && i * binMs < p.tMs; i++) {
      const overlap = Math.min(p.tMs, (i + 1) * binMs) - Math.max(from, i * binMs);
      if (overlap <= 0) continue;
      const share = overlap / p.ms;
      const b = bins[i];
      for (const [v, c] of Object.entries(p.byVersion)) b.byVersion[v] = (b.byVersion[v] ?? 0) + c * share;
      b.failed += p.failed * share;
    }
  }
  return bins.filter((b) => b.ms > 0);
}

function niceStep(raw: number): number {
  if (raw <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}
