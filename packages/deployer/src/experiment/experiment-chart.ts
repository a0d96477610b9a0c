import type { RowResult } from './experiment-table';

const COLORS = ['#c0392b', '#e67e22', '#8e44ad', '#2c3e50', '#16a085', '#7f8c8d', '#d35400'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A self-contained SVG (no library): one horizontal bar per row, the failed requests stacked by
 * cause, the number at the end of the bar; rows with no failure show a green "0".
 */
export function experimentChart(rows: RowResult[], subtitle: string[]): string {
  const W = 1000;
  const labelW = 230;
  const x0 = 20 + labelW;
  const plotW = W - x0 - 80;
  const barH = 18;
  const gap = 8;
  const causes = [...new Set(rows.flatMap((r) => Object.keys(r.total.byCause)))];
  const color = (c: string) => COLORS[causes.indexOf(c) % COLORS.length];
  const perRun = (r: RowResult) => r.total.failed / Math.max(1, r.runs.length);
  const max = Math.max(1, ...rows.map(perRun));
  const out: string[] = [];
  let y = 50 + 16 * subtitle.length;
  for (const r of rows) {
    out.push(`<text x="${x0 - 8}" y="${y + 13}" text-anchor="end" class="l">${esc(r.id)}</text>`);
    let x = x0;
    for (const [c, n] of Object.entries(r.total.byCause)) {
      const w = ((n / r.runs.length) / max) * plotW;
      out.push(`<rect x="${x.toFixed(1)}" y="${y}" width="${Math.max(1, w).toFixed(1)}" height="${barH}" fill="${color(c)}"><title>${esc(`${n} × ${c}`)}</title></rect>`);
      x += w;
    }
    const value = r.runs.length > 1 ? `${r.runs.map((u) => u.tally.failed).join(', ')}` : String(r.total.failed);
    out.push(`<text x="${(x + 6).toFixed(1)}" y="${y + 13}" class="${r.total.failed ? 'v' : 'ok'}">${esc(value)}</text>`);
    y += barH + gap;
  }
  // legend
  y += 10;
  let lx = x0;
  for (const c of causes) {
    out.push(`<rect x="${lx}" y="${y}" width="12" height="12" fill="${color(c)}"/><text x="${lx + 16}" y="${y + 11}" class="s">${esc(c)}</text>`);
    lx += 30 + c.length * 7.4;
    if (lx > W - 200) {
      lx = x0;
      y += 18;
    }
  }
  const H = y + 30;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    '<style>.t{font-size:17px;font-weight:bold}.s{font-size:11px;fill:#555}.l{font-size:12px;font-family:monospace}.v{font-size:12px;font-weight:bold;fill:#c0392b}.ok{font-size:12px;font-weight:bold;fill:#27ae60}</style>',
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="20" y="26" class="t">Failed requests during one rolling deploy, by mechanism switched off</text>`,
    ...subtitle.map((line, i) => `<text x="20" y="${46 + 16 * i}" class="s">${esc(line)}</text>`),
    ...out,
    '</svg>',
  ].join('\n');
}
