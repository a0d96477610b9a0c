/** A self-contained SVG chart of a bench run (no browser, no library): bars with min–max whiskers. */

export interface BarRow {
  label: string;
  /** One value per series; NaN to skip. */
  values: { median: number; min: number; max: number }[];
  /** Text after a bar's value, e.g. a warning. */
  notes?: (string | undefined)[];
  highlight?: boolean;
}

export interface ChartInput {
  title: string;
  subtitle: string;
  throughput: { title: string; series: string[]; rows: BarRow[]; unit: string };
  latency: { title: string; series: string[]; rows: BarRow[]; unit: string };
  cpu?: { title: string; series: string[]; rows: BarRow[]; unit: string };
  memory?: { title: string; points: { tS: number; mib: number }[]; note: string };
  deploy?: { title: string; phases: string[]; rows: { label: string; values: number[] }[]; unit: string };
  footer: string[];
}

const W = 1100;
const COLORS = ['#2f6fb0', '#e08a2c', '#4a9d5b', '#b04a6f'];
const PHASE_COLORS = ['#6c8ebf', '#d79b00', '#82b366', '#b85450', '#9673a6'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number, unit: string) =>
  !Number.isFinite(v) ? '–' : unit === 'req/s' || unit === 'µs' ? Math.round(v).toLocaleString('en-US') : v < 10 ? v.toFixed(2) : v.toFixed(1);

/** A round step for about `n` ticks up to `max`. */
function niceStep(max: number, n: number): number {
  const raw = max / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** Horizontal grouped bars; returns the SVG fragment and its height. */
function barPanel(y0: number, p: ChartInput['throughput']): { svg: string; h: number } {
  const labelW = 300;
  const x0 = 20 + labelW;
  const plotW = W - x0 - 130;
  const barH = 14;
  const gap = 3;
  const groupH = p.series.length * (barH + gap) + 10;
  const max = niceMax(Math.max(...p.rows.flatMap((r) => r.values.map((v) => (Number.isFinite(v.max) ? v.max : v.median))).filter(Number.isFinite)));
  const sx = (v: number) => x0 + (Math.max(0, v) / max) * plotW;
  const out: string[] = [];
  out.push(`<text x="20" y="${y0 + 16}" class="h2">${esc(p.title)}</text>`);
  let y = y0 + 30;
  // legend
  if (p.series.length > 1) {
    let lx = x0;
    p.series.forEach((s, i) => {
      out.push(`<rect x="${lx}" y="${y}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/><text x="${lx + 16}" y="${y + 10}" class="small">${esc(s)}</text>`);
      lx += 24 + s.length * 6.5;
    });
    y += 20;
  }
  const top = y;
  // grid
  for (let i = 0; i <= 5; i++) {
    const v = (max / 5) * i;
    const x = sx(v);
    out.push(`<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${top + p.rows.length * groupH}" class="grid"/>`);
    out.push(`<text x="${x}" y="${top + p.rows.length * groupH + 14}" class="tick" text-anchor="middle">${fmt(v, p.unit)}</text>`);
  }
  for (const r of p.rows) {
    out.push(`<text x="${x0 - 8}" y="${y + (p.series.length * (barH + gap)) / 2 + 4}" text-anchor="end" class="${r.highlight ? 'label hl' : 'label'}">${esc(r.label)}</text>`);
    r.values.forEach((v, i) => {
      const by = y + i * (barH + gap);
      if (!Number.isFinite(v.median)) {
        out.push(`<text x="${x0 + 4}" y="${by + barH - 3}" class="small">n/a</text>`);
        return;
      }
      out.push(`<rect x="${x0}" y="${by}" width="${Math.max(1, sx(v.median) - x0)}" height="${barH}" fill="${COLORS[i % COLORS.length]}" opacity="${r.highlight ? 1 : 0.85}"/>`);
      if (Number.isFinite(v.min) && Number.isFinite(v.max) && v.max > v.min) {
        const cy = by + barH / 2;
        out.push(`<line x1="${sx(v.min)}" y1="${cy}" x2="${sx(v.max)}" y2="${cy}" class="whisker"/><line x1="${sx(v.min)}" y1="${cy - 4}" x2="${sx(v.min)}" y2="${cy + 4}" class="whisker"/><line x1="${sx(v.max)}" y1="${cy - 4}" x2="${sx(v.max)}" y2="${cy + 4}" class="whisker"/>`);
      }
      const tx = Math.max(sx(v.median), Number.isFinite(v.max) ? sx(v.max) : 0) + 6;
      const note = r.notes?.[i] ? ` ${r.notes[i]}` : '';
      out.push(`<text x="${tx}" y="${by + barH - 3}" class="value">${fmt(v.median, p.unit)} ${p.unit === 'req/s' ? '' : p.unit}${esc(note)}</text>`);
    });
    y += groupH;
  }
  return { svg: out.join('\n'), h: y - y0 + 24 };
}

function memoryPanel(y0: number, m: NonNullable<ChartInput['memory']>): { svg: string; h: number } {
  const x0 = 80;
  const plotW = W - x0 - 60;
  const plotH = 150;
  const out: string[] = [`<text x="20" y="${y0 + 16}" class="h2">${esc(m.title)}</text>`];
  const top = y0 + 34;
  const pts = m.points;
  const tMax = Math.max(1, ...pts.map((p) => p.tS));
  const yStep = niceStep(Math.max(...pts.map((p) => p.mib)) * 1.1, 4);
  const yMax = yStep * Math.ceil((Math.max(...pts.map((p) => p.mib)) * 1.1) / yStep);
  const sx = (t: number) => x0 + (t / tMax) * plotW;
  const sy = (v: number) => top + plotH - (v / yMax) * plotH;
  for (let v = 0; v <= yMax + 1e-9; v += yStep) {
    out.push(`<line x1="${x0}" y1="${sy(v)}" x2="${x0 + plotW}" y2="${sy(v)}" class="grid"/><text x="${x0 - 6}" y="${sy(v) + 4}" text-anchor="end" class="tick">${Math.round(v)} MiB</text>`);
  }
  const tStep = niceStep(tMax, 6);
  for (let t = 0; t <= tMax + 1e-9; t += tStep) {
    out.push(`<text x="${sx(t)}" y="${top + plotH + 14}" text-anchor="middle" class="tick">${Math.round(t)} s</text>`);
  }
  if (pts.length > 1) out.push(`<polyline fill="none" stroke="${COLORS[0]}" stroke-width="2" points="${pts.map((p) => `${sx(p.tS).toFixed(1)},${sy(p.mib).toFixed(1)}`).join(' ')}"/>`);
  for (const p of pts) out.push(`<circle cx="${sx(p.tS).toFixed(1)}" cy="${sy(p.mib).toFixed(1)}" r="2" fill="${COLORS[0]}"/>`);
  out.push(`<text x="${x0}" y="${top + plotH + 32}" class="small">${esc(m.note)}</text>`);
  return { svg: out.join('\n'), h: plotH + 70 };
}

function deployPanel(y0: number, d: NonNullable<ChartInput['deploy']>): { svg: string; h: number } {
  const x0 = 320;
  const plotW = W - x0 - 130;
  const out: string[] = [`<text x="20" y="${y0 + 16}" class="h2">${esc(d.title)}</text>`];
  let y = y0 + 30;
  let lx = x0;
  d.phases.forEach((p, i) => {
    out.push(`<rect x="${lx}" y="${y}" width="12" height="12" fill="${PHASE_COLORS[i]}"/><text x="${lx + 16}" y="${y + 10}" class="small">${esc(p)}</text>`);
    lx += 30 + p.length * 6.5;
  });
  y += 22;
  const max = niceMax(Math.max(...d.rows.map((r) => r.values.reduce((a, b) => a + b, 0))));
  for (const r of d.rows) {
    out.push(`<text x="${x0 - 8}" y="${y + 13}" text-anchor="end" class="label">${esc(r.label)}</text>`);
    let x = x0;
    r.values.forEach((v, i) => {
      const w = (v / max) * plotW;
      out.push(`<rect x="${x}" y="${y}" width="${Math.max(0, w)}" height="18" fill="${PHASE_COLORS[i]}"/>`);
      if (w > 34) out.push(`<text x="${x + w / 2}" y="${y + 13}" text-anchor="middle" class="inbar">${Math.round(v)}</text>`);
      x += w;
    });
    out.push(`<text x="${x + 6}" y="${y + 13}" class="value">${Math.round(r.values.reduce((a, b) => a + b, 0))} ${d.unit}</text>`);
    y += 26;
  }
  return { svg: out.join('\n'), h: y - y0 + 10 };
}

export function renderChart(c: ChartInput): string {
  const parts: string[] = [];
  let y = 70;
  for (const panel of [barPanel(y, c.throughput)]) {
    parts.push(panel.svg);
    y += panel.h;
  }
  const lat = barPanel(y, c.latency);
  parts.push(lat.svg);
  y += lat.h;
  if (c.cpu) {
    const cp = barPanel(y, c.cpu);
    parts.push(cp.svg);
    y += cp.h;
  }
  if (c.memory && c.memory.points.length > 1) {
    const m = memoryPanel(y, c.memory);
    parts.push(m.svg);
    y += m.h;
  }
  if (c.deploy && c.deploy.rows.length > 0) {
    const d = deployPanel(y, c.deploy);
    parts.push(d.svg);
    y += d.h;
  }
  for (const line of c.footer) {
    parts.push(`<text x="20" y="${y}" class="small">${esc(line)}</text>`);
    y += 15;
  }
  const H = y + 15;
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
<style>
  .h1 { font-size: 20px; font-weight: bold; fill: #222; }
  .h2 { font-size: 15px; font-weight: bold; fill: #333; }
  .sub { font-size: 12px; fill: #555; }
  .label { font-size: 12px; fill: #333; }
  .hl { font-weight: bold; fill: #000; }
  .value { font-size: 11px; fill: #333; }
  .inbar { font-size: 10px; fill: #fff; }
  .small { font-size: 11px; fill: #555; }
  .tick { font-size: 10px; fill: #777; }
  .grid { stroke: #e3e3e3; stroke-width: 1; }
  .whisker { stroke: #333; stroke-width: 1; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="20" y="30" class="h1">${esc(c.title)}</text>
<text x="20" y="50" class="sub">${esc(c.subtitle)}</text>
${parts.join('\n')}
</svg>
`;
}
