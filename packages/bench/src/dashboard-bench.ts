import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { freePort, type Proc, startProc, waitForPort } from './procs';
import { median, round } from './stats';
import { type Upstreams, waitLbHealthy } from './targets';

export interface DashboardBenchResult {
  /** req/s of each closed-loop run, in the order run (closed, open, closed, open, ...). */
  runs: { stream: 'closed' | 'open'; rps: number; usPerReq: number; events: number; seconds: number }[];
  closedRps: number;
  openRps: number;
  /** open / closed − 1, in %. */
  differencePct: number;
  /** The balancer's CPU time per request (robust to a busy machine, unlike req/s). */
  closedUsPerReq: number;
  openUsPerReq: number;
  usPerReqDifferencePct: number;
  /** Dashboard updates the open stream received per second of load (≈ 1: the stream was live). */
  eventsPerSecond: number;
}

/**
 * The balancer with its admin API (and so the dashboard) enabled, measured with the dashboard's
 * event stream closed and open, alternately, in the same run: what watching a deploy costs.
 */
export async function benchDashboard(o: {
  dir: string;
  up: Upstreams;
  lbMain: string;
  rounds: number;
  /** Runs one closed-loop measurement against `url`: req/s and the CPU % of process `pid`. */
  closed: (url: string, pid: number) => Promise<{ rps: number; cpuPct: number }>;
  say: (s: string) => void;
}): Promise<DashboardBenchResult> {
  const port = await freePort();
  const adminPort = await freePort();
  const token = crypto.randomBytes(16).toString('hex');
  const config = path.join(o.dir, 'lb.dashboard.yaml');
  fs.writeFileSync(config, `admin:\n  enabled: true\n  host: 127.0.0.1\n  port: ${adminPort}\n`);
  const proc: Proc = startProc('lb-dashboard', process.execPath, [o.lbMain, '--config', config], {
    env: { LB_UPSTREAMS: o.up.urls.join(','), LB_HOST: '127.0.0.1', LB_PORT: String(port), LB_ADMIN_TOKEN: token, LOG_LEVEL: 'warn', LB_CONFIG: '' },
    log: path.join(o.dir, 'lb-dashboard.log'),
  });
  try {
    await waitForPort(port, proc);
    await waitLbHealthy(port, o.up.urls.length);
    const url = `http://127.0.0.1:${port}/api`;
    const runs: DashboardBenchResult['runs'] = [];
    for (let r = 0; r < o.rounds; r++) {
      // Alternate which goes first, so neither always follows the other.
      const order: ('closed' | 'open')[] = r % 2 === 0 ? ['closed', 'open'] : ['open', 'closed'];
      for (const stream of order) {
        const s = stream === 'open' ? await openStream(adminPort, token) : undefined;
        const began = Date.now();
        const { rps, cpuPct } = await o.closed(url, proc.pid);
        const usPerReq = round(((cpuPct / 100) * 1e6) / rps, 1);
        const events = s ? s.close() : 0;
        const seconds = round((Date.now() - began) / 1000, 1);
        runs.push({ stream, rps: round(rps, 0), usPerReq, events, seconds });
        o.say(`  dashboard stream ${stream.padEnd(6)}: ${Math.round(rps)} req/s, ${usPerReq} µs CPU/req${s ? ` (${events} updates in ${seconds} s, warm-up included)` : ''}`);
      }
    }
    const closedRps = median(runs.filter((x) => x.stream === 'closed').map((x) => x.rps));
    const openRps = median(runs.filter((x) => x.stream === 'open').map((x) => x.rps));
    const open = runs.filter((x) => x.stream === 'open');
    const closedUs = median(runs.filter((x) => x.stream === 'closed').map((x) => x.usPerReq));
    const openUs = median(open.map((x) => x.usPerReq));
    return {
      closedUsPerReq: closedUs,
      openUsPerReq: openUs,
      usPerReqDifferencePct: round((openUs / closedUs - 1) * 100, 1),
      runs,
      closedRps,
      openRps,
      differencePct: round((openRps / closedRps - 1) * 100, 1),
      eventsPerSecond: round(open.reduce((a, x) => a + x.events, 0) / open.reduce((a, x) => a + x.seconds, 0), 2),
    };
  } finally {
    proc.child.kill('SIGTERM');
  }
}

/** A dashboard client: the event stream, read and counted like a browser would. */
function openStream(adminPort: number, token: string): Promise<{ close(): number }> {
  return new Promise((resolve, reject) => {
    let events = 0;
    const req = http.get({ host: '127.0.0.1', port: adminPort, path: '/dashboard/events', agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`dashboard stream: HTTP ${res.statusCode}`));
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        events += chunk.split('event: state').length - 1;
      });
      resolve({
        close: () => {
          req.destroy();
          return events;
        },
      });
    });
    req.on('error', (err) => reject(err));
  });
}
