import fs from 'node:fs';
import path from 'node:path';

/**
 * Summarizes a V8 .cpuprofile (node --cpu-prof): self time per function, inclusive time per function,
 * and self time per area (our code, http-proxy, express, node's http internals, GC, idle...).
 * CLI: node dist/cpuprofile.js <file.cpuprofile> [top=25]
 */
interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FnTime {
  fn: string;
  where: string;
  area: string;
  ms: number;
  pct: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** Time not idle (program + GC + JS + native). */
  busyMs: number;
  self: FnTime[];
  inclusive: FnTime[];
  areas: { area: string; ms: number; pct: number }[];
}

const shortUrl = (url: string): string => {
  if (!url) return '';
  let u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) return u.slice(nm + 'node_modules/'.length);
  const pk = u.indexOf('/packages/');
  if (pk >= 0) u = u.slice(pk + 1);
  return u;
};

export function areaOf(cf: CallFrame): string {
  const n = cf.functionName;
  const u = cf.url;
  if (n === '(idle)') return 'idle';
  if (n === '(garbage collector)') return 'GC';
  if (n === '(program)') return 'program (native, unattributed)';
  if (u.includes('/packages/lb/')) return 'our balancer (packages/lb)';
  if (u.includes('/packages/bench/')) return 'bench code';
  if (u.includes('node_modules/http-proxy/')) return 'http-proxy';
  if (u.includes('node_modules/express/') || u.includes('node_modules/router/') || u.includes('node_modules/finalhandler/')) return 'express';
  if (u.includes('node_modules/')) return `npm: ${shortUrl(u).split('/')[0]}`;
  if (/node:(_http|http|internal\/http|_http_)/.test(u)) return 'node http';
  if (/node:(net|internal\/stream_base_commons|internal\/net)/.test(u)) return 'node net/streams';
  if (/node:(internal\/streams|stream)/.test(u)) return 'node streams';
  if (/node:(internal\/timers|timers)/.test(u)) return 'node timers';
  if (/node:(events|internal\/event_target)/.test(u)) return 'node events';
  if (/node:internal\/process\/task_queues|node:internal\/async_hooks/.test(u)) return 'node microtasks/nextTick';
  if (/node:internal\/url|node:url/.test(u)) return 'node url';
  if (u.startsWith('node:')) return 'node other';
  if (!u) return `native/builtin`;
  return 'other';
}

export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) byId.set(n.id, n);
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i + 1] ?? 0;
    selfUs.set(p.samples[i], (selfUs.get(p.samples[i]) ?? 0) + dt);
  }
  const key = (cf: CallFrame) => `${cf.functionName || '(anonymous)'}\u0000${shortUrl(cf.url)}:${cf.lineNumber + 1}`;
  const self = new Map<string, { cf: CallFrame; us: number }>();
  const incl = new Map<string, { cf: CallFrame; us: number }>();
  const areas = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    total += us;
    if (node.callFrame.functionName === '(idle)') idle += us;
    const k = key(node.callFrame);
    const s = self.get(k) ?? { cf: node.callFrame, us: 0 };
    s.us += us;
    self.set(k, s);
    const a = areaOf(node.callFrame);
    areas.set(a, (areas.get(a) ?? 0) + us);
    // Inclusive: every distinct function on the stack gets this sample once.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur)!.callFrame;
      const kk = key(cf);
      if (seen.has(kk) || cf.functionName === '(root)') continue;
      seen.add(kk);
      const e = incl.get(kk) ?? { cf, us: 0 };
      e.us += us;
      incl.set(kk, e);
    }
  }
  const busy = total - idle;
  const fmt = (m: Map<string, { cf: CallFrame; us: number }>) =>
    [...m.values()]
      .filter((e) => e.cf.functionName !== '(idle)')
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((e) => ({
        fn: e.cf.functionName || '(anonymous)',
        where: e.cf.url ? `${shortUrl(e.cf.url)}:${e.cf.lineNumber + 1}` : '',
        area: areaOf(e.cf),
        ms: e.us / 1000,
        pct: (e.us / busy) * 100,
      }));
  return {
    file,
    totalMs: total / 1000,
    busyMs: busy / 1000,
    self: fmt(self),
    inclusive: fmt(incl),
    areas: [...areas.entries()]
      .filter(([a]) => a !== 'idle')
      .sort((a, b) => b[1] - a[1])
      .map(([area, us]) => ({ area, ms: us / 1000, pct: (us / busy) * 100 })),
  };
}

export function formatProfile(s: ProfileSummary, title: string): string {
  const lines = [`${title}: ${s.busyMs.toFixed(0)} ms busy of ${s.totalMs.toFixed(0)} ms profiled (${path.basename(s.file)})`, '  self time by area:'];
  for (const a of s.areas) lines.push(`    ${a.pct.toFixed(1).padStart(5)}%  ${a.area}`);
  lines.push('  top self time (% of busy):');
  for (const f of s.self) lines.push(`    ${f.pct.toFixed(1).padStart(5)}%  ${f.fn.padEnd(34)} ${f.where}`);
  return lines.join('\n');
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: cpuprofile <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  const s = summarizeProfile(file, Number(process.argv[3] ?? 25));
  process.stdout.write(formatProfile(s, path.basename(file)) + '\n  top inclusive time:\n');
  for (const f of s.inclusive) process.stdout.write(`    ${f.pct.toFixed(1).padStart(5)}%  ${f.fn.padEnd(34)} ${f.where}\n`);
}
