import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import axios from 'axios';
import { formatSummary, LoadChecker, type Outcome, summarize } from '../packages/loadcheck/src';
import { ROOT } from './support/compose-lab';

// The balancer finding its upstreams by itself, on real containers (e2e/fixtures/discovery-compose.yaml):
// `web` replicas found by DNS ({dns: web, port: 8081}), `reg` replicas registering themselves with a
// lease and running the drain handshake on SIGTERM. One lab for the whole file (the cases run in
// order: scale web 2 → 5, then stop one reg, then kill the other), each case under 200 GET/s +
// 20 POST/s over keep-alive connections.

jest.setTimeout(600_000);
const run = promisify(execFile);
const COMPOSE_FILE = path.join(ROOT, 'e2e/fixtures/discovery-compose.yaml');

interface Listed {
  upstreams: Array<{ name: string; state: string; inFlight: number; requests: number }>;
  inRotation: string[];
  discovery: Array<{ dns: string; port: number; addresses: string[]; error?: string }>;
}

interface LogLine {
  time: string;
  msg: string;
  upstream?: string;
  from?: string;
  to?: string;
  reason?: string;
  [k: string]: unknown;
}

describe('discovery and self-registration on real containers (compose, one lab)', () => {
  const project = `zdl-e2e-disc-${Date.now().toString(36)}`;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'zdl-e2e-disc-'));
  const envFile = path.join(work, 'lab.env');
  const token = crypto.randomBytes(16).toString('hex');
  const regToken = crypto.randomBytes(16).toString('hex');
  let lbUrl = '';
  let adminUrl = '';

  const compose = async (...args: string[]): Promise<string> =>
    (await run('docker', ['compose', '-p', project, '-f', COMPOSE_FILE, '--env-file', envFile, ...args], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 })).stdout;
  const docker = async (...args: string[]): Promise<string> => (await run('docker', args, { maxBuffer: 64 * 1024 * 1024 })).stdout.trim();
  const list = async (): Promise<Listed> =>
    (await axios.get<Listed>(`${adminUrl}/upstreams`, { timeout: 2000, headers: { authorization: `Bearer ${token}` } })).data;
  const healthy = async (prefix: RegExp): Promise<string[]> =>
    (await list()).upstreams.filter((u) => prefix.test(u.name) && u.state === 'healthy').map((u) => u.name).sort();
  const lbLog = async (): Promise<LogLine[]> => jsonLines(await docker('logs', `${project}-lb-1`));

  /** The case's load: 200 GET/s and 20 POST/s (keep-alive), plus `slowRate` 2 s GETs and POSTs per second. */
  const startLoad = (slowRate = 0) => {
    const opts = { recordHeaders: ['x-upstream'], timeoutMs: 10_000 };
    const load = {
      get: new LoadChecker({ url: `${lbUrl}/api`, rate: 200, ...opts }),
      post: new LoadChecker({ url: `${lbUrl}/api`, rate: 20, method: 'POST', body: { order: 42 }, ...opts }),
      slow: slowRate > 0 ? [new LoadChecker({ url: `${lbUrl}/api?delayMs=2000`, rate: slowRate, ...opts }), new LoadChecker({ url: `${lbUrl}/api?delayMs=2000`, rate: slowRate, method: 'POST', body: { slow: true }, ...opts })] : [],
    };
    for (const l of [load.get, load.post, ...load.slow]) l.start();
    return {
      load,
      stop: async () => {
        const [get, post, ...slow] = await Promise.all([load.get, load.post, ...load.slow].map((l) => l.stop()));
        return { get, post, slow: slow.flat() };
      },
    };
  };

  const report = (what: string, r: { get: Outcome[]; post: Outcome[]; slow: Outcome[] }) => {
    const first = (o: Outcome[]) => formatSummary(summarize(o)).split('\n')[0];
    const failed = [...r.get, ...r.post, ...r.slow].filter((o) => o.status === 0 || o.status >= 500);
    // What failed, when (ms since the load started) and where: to tell a starved machine from a bug.
    const where = failed.length
      ? `\n  failed: ${failed.slice(0, 12).map((o) => `${o.method} +${Math.round(o.sentAt)} ms ${o.status || o.error} ${o.code ?? ''} ${o.headers?.['x-upstream'] ?? ''} ${Math.round(o.latencyMs)} ms`).join('; ')}`
      : '';
    return `${what}\n  GET:  ${first(r.get)}\n  POST: ${first(r.post)}${r.slow.length ? `\n  slow: ${first(r.slow)}` : ''}${where}`;
  };
  /** The balancer's warnings and state changes, printed when a case lost a request. */
  const lbTrouble = async () =>
    (await lbLog())
      .filter((l) => l.level !== 'info' || /upstream state|retrying|discovered|gone/.test(l.msg))
      .slice(-60)
      .map((l) => `${l.time.slice(11, 23)} ${l.msg} ${JSON.stringify(pick(l, ['upstream', 'to', 'reason', 'code', 'error', 'method']))}`)
      .join('\n');

  beforeAll(async () => {
    const vars = {
      NODE_IMAGE: process.env.NODE_IMAGE ?? 'node:20-bookworm-slim',
      LB_PUBLISH: '127.0.0.1::8080',
      LB_ADMIN_PUBLISH: '127.0.0.1::8090',
      LB_ADMIN_TOKEN: token,
      LB_REGISTRATION_TOKEN: regToken,
    };
    fs.writeFileSync(envFile, Object.entries(vars).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
    await compose('up', '-d', '--build', '--wait', '--wait-timeout', '300');
    lbUrl = `http://${(await compose('port', 'lb', '8080')).trim()}`;
    adminUrl = `http://${(await compose('port', 'lb', '8090')).trim()}`;
    await waitFor(async () => (await healthy(/^web@/)).length === 2 && (await healthy(/^\d+\.\d+\.\d+\.\d+:8081$/)).length === 2, 30_000, '2 web (DNS) and 2 reg (registered) upstreams healthy', async () => JSON.stringify(await list()));
  });

  afterAll(async () => {
    await compose('down', '--volumes', '--remove-orphans', '--rmi', 'local', '--timeout', '10').catch((err) => console.error(err));
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('docker compose up -d --scale web=5 (from 2): the 3 new replicas are discovered by DNS and answer within seconds; 0 failed', async () => {
    const { load, stop } = startLoad();
    await sleep(1000);
    const before = await healthy(/^web@/);
    const t0 = Date.now();
    await compose('up', '-d', '--scale', 'web=5');
    const upReturnedMs = Date.now() - t0;
    // What the balancer reports: every replica is an upstream of its own, in rotation.
    const allHealthyMs = await waitFor(async () => ((await healthy(/^web@/)).length === 5 ? Date.now() - t0 : undefined), 30_000, '5 web upstreams healthy', async () => JSON.stringify(await list()));
    await sleep(2000);
    const r = await stop();

    const web = await healthy(/^web@/);
    const added = web.filter((n) => !before.includes(n));
    const listed = await list();
    const ips = (await compose('ps', '-q', 'web')).split('\n').filter(Boolean);
    const containerIps = await Promise.all(ips.map((id) => docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', id)));
    // First proxied answer from each new replica, from the x-upstream header of the load's responses.
    const firstAnswer = added.map((name) => {
      const o = r.get.find((x) => x.headers?.['x-upstream'] === name);
      return { name, ms: o ? Math.round(load.get.startedAtEpoch + o.sentAt - t0) : undefined };
    });
    console.log(
      `${report('scale web 2 -> 5', r)}\n  compose up returned after ${upReturnedMs} ms; all 5 healthy in the balancer after ${allHealthyMs} ms;` +
        ` first answer of each new replica after: ${firstAnswer.map((f) => `${f.name} ${f.ms} ms`).join(', ')}`,
    );

    if (summarize(r.get).failed + summarize(r.post).failed > 0) console.log(`load started at ${new Date(load.get.startedAtEpoch).toISOString()}; up at +${t0 - load.get.startedAtEpoch} ms\n${await lbTrouble()}`);
    expect(summarize(r.get).failed).toBe(0);
    expect(summarize(r.post).failed).toBe(0);
    expect(r.get.length).toBeGreaterThan(600);
    expect(added).toHaveLength(3);
    // The DNS entry lists exactly the 5 running containers, and the balancer proxies to each of them.
    expect([...listed.discovery[0].addresses].sort()).toEqual([...containerIps].sort());
    expect(listed.discovery[0].error).toBeUndefined();
    // The admin health endpoint agrees: nothing wrong, the DNS entry with its 5 addresses.
    const health = (await axios.get<{ status: string; problems: string[]; discovery: Listed['discovery'] }>(`${adminUrl}/health`, { timeout: 2000, headers: { authorization: `Bearer ${token}` } })).data;
    expect(health).toEqual(expect.objectContaining({ status: 'ok', problems: [] }));
    expect(health.discovery[0].addresses).toHaveLength(5);
    for (const f of firstAnswer) expect(f.ms).toBeDefined();
    const lastSecond = r.get.filter((o) => load.get.startedAtEpoch + o.sentAt > t0 + allHealthyMs + 500);
    expect(new Set(lastSecond.map((o) => o.headers?.['x-upstream']).filter((n) => n?.startsWith('web@')))).toEqual(new Set(web));
    // "Within seconds": from compose's return to every new replica answering.
    for (const f of firstAnswer) expect(f.ms! - upReturnedMs).toBeLessThan(15_000);
  });

  it('docker stop of a self-registered instance with 2 s requests in flight: the drain handshake runs, 0 failed', async () => {
    const [id] = (await compose('ps', '-q', 'reg')).split('\n').filter(Boolean);
    const ip = await docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', id);
    const hostname = await docker('inspect', '-f', '{{.Config.Hostname}}', id);
    const name = `${ip}:8081`;
    expect(await healthy(/:8081$/)).toContain(name);

    const { load, stop } = startLoad(5);
    // 2 s requests in flight to that instance, as the balancer counts them: in flight at three
    // polls in a row (≥ 300 ms), which the load's millisecond requests alone do not keep up (a
    // single poll seeing 2 could be two of those, and then no 2 s request is there to drain).
    const recent: number[] = [];
    await waitFor(
      async () => {
        recent.push((await list()).upstreams.find((u) => u.name === name)?.inFlight ?? 0);
        await sleep(100);
        return (recent.length >= 3 && recent.slice(-3).every((n) => n >= 1)) || undefined;
      },
      15_000,
      `2 s requests in flight on ${name}`,
    );
    const stopAt = Date.now();
    await docker('stop', id);
    const stoppedMs = Date.now() - stopAt;
    await sleep(2500);
    const r = await stop();

    const instanceLog = jsonLines(await docker('logs', id));
    const exitCode = Number(await docker('inspect', '-f', '{{.State.ExitCode}}', id));
    const lb = (await lbLog()).filter((l) => l.upstream === name);
    const slowThere = r.slow.filter((o) => o.instance === hostname && load.get.startedAtEpoch + o.sentAt < stopAt);
    const drained = instanceLog.find((l) => l.msg === 'announce: drained');
    console.log(
      `${report(`docker stop ${name} (${hostname})`, r)}\n  docker stop took ${stoppedMs} ms, exit code ${exitCode}; ${slowThere.length} slow requests sent to it before the stop, ` +
        `statuses ${[...new Set(slowThere.map((o) => o.status))].join(',')}\n  instance: ${instanceLog.filter((l) => /signal|announce|drain|shutdown/.test(l.msg)).map((l) => `${l.msg} ${JSON.stringify(pick(l, ['drained', 'inFlight', 'waitedMs', 'signal']))}`).join(' | ')}` +
        `\n  balancer: ${lb.filter((l) => l.msg !== 'upstream added').map((l) => `${l.msg}${l.reason ? ` (${l.to}: ${l.reason})` : ''}`).join(' | ')}`,
    );

    expect(summarize(r.get).failed).toBe(0);
    expect(summarize(r.post).failed).toBe(0);
    expect(summarize(r.slow).failed).toBe(0);
    expect(r.get.length).toBeGreaterThan(600);
    // The 2 s requests on that instance when it was told to stop were answered by it.
    expect(slowThere.length).toBeGreaterThan(0);
    expect(slowThere.every((o) => o.status === 200)).toBe(true);
    // The handshake, as both sides report it: the balancer drained it on the instance's request and
    // said 0 in flight; only then did the instance stop accepting, and it exited cleanly (nothing cut).
    const order = instanceLog.map((l) => l.msg).filter((m) => ['signal received', 'announce: draining', 'announce: drained', 'announce: deregistered', 'drain handshake'].includes(m));
    expect(order).toEqual(['signal received', 'announce: draining', 'announce: drained', 'announce: deregistered', 'drain handshake']);
    expect(drained).toEqual(expect.objectContaining({ drained: true, inFlight: 0 }));
    expect(instanceLog.some((l) => l.msg === 'shutdown cut requests in flight')).toBe(false);
    expect(exitCode).toBe(0);
    expect(lb.find((l) => l.msg === 'upstream state' && l.to === 'draining')?.reason).toBe('drain requested');
    expect(lb.some((l) => l.msg === 'upstream removed')).toBe(true);
    expect((await list()).upstreams.map((u) => u.name)).not.toContain(name);
  });

  it('docker kill of a self-registered instance: 0 GETs failed; it leaves rotation within the lease or the fall count, whichever is first', async () => {
    const [id] = (await compose('ps', '-q', 'reg')).split('\n').filter(Boolean);
    const ip = await docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', id);
    const name = `${ip}:8081`;
    expect(await healthy(/:8081$/)).toContain(name);

    const { stop } = startLoad();
    await sleep(1000);
    const killAt = Date.now();
    await docker('kill', id);
    // Removed by its lease (drained first: requests still waiting on it time out or are retried).
    const removedMs = await waitFor(async () => ((await list()).upstreams.some((u) => u.name === name) ? undefined : Date.now() - killAt), 45_000, `${name} removed`);
    await sleep(1000);
    const r = await stop();

    const lb = (await lbLog()).filter((l) => l.upstream === name && Date.parse(l.time) >= killAt - 50);
    const out = lb.find((l) => l.msg === 'upstream state' && l.from === 'healthy');
    const expired = lb.find((l) => l.msg === 'registration lease expired: draining, then removing');
    const cause = leftBy(out?.reason);
    const at = (l?: LogLine) => (l ? `${Date.parse(l.time) - killAt} ms` : 'never');
    console.log(
      `${report(`docker kill ${name}`, r)}\n  left rotation after ${at(out)} by ${cause}${out ? ` ("${out.reason}")` : ''}; lease expired after ${at(expired)}; removed after ${removedMs} ms (polled)` +
        `; ${lb.filter((l) => l.msg === 'retrying on next upstream').length} requests retried on another upstream` +
        `\n  balancer: ${lb.filter((l) => l.msg !== 'retrying on next upstream').map((l) => `+${Date.parse(l.time) - killAt} ms ${l.msg}${l.reason ? ` (${l.to}: ${l.reason})` : ''}`).join(' | ')}`,
    );

    expect(summarize(r.get).failed).toBe(0);
    expect(r.get.length).toBeGreaterThan(600);
    expect(['fall count (requests that could not connect)', 'fall count (health checks)', 'passive ejection (failed requests)', 'lease expiry']).toContain(cause);
    // Whichever came first took it out: never later than its lease expiring.
    expect(expired).toBeDefined();
    expect(Date.parse(out!.time)).toBeLessThanOrEqual(Date.parse(expired!.time));
  });
});

/**
 * What took an upstream out of rotation, from the reason of its state change: the fall count (3 in a
 * row; a request that could not connect counts like a failed check), an ejection for failed
 * requests, or the lease (its expiry drains, then removes the instance).
 */
function leftBy(reason: string | undefined): string {
  if (reason === undefined) return 'none';
  if (/failed requests in a row/.test(reason)) return 'passive ejection (failed requests)';
  if (/^request failed: .*\(\d+ in a row\)$/.test(reason)) return 'fall count (requests that could not connect)';
  if (/\(\d+ in a row\)$/.test(reason)) return 'fall count (health checks)';
  if (reason === 'removal requested') return 'lease expiry';
  return `other: ${reason}`;
}

function jsonLines(text: string): LogLine[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as LogLine];
      } catch {
        return [];
      }
    });
}

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(check: () => Promise<T | undefined | false>, timeoutMs: number, what: string, explain?: () => Promise<string>): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${explain ? `: ${await explain().catch(() => '')}` : ''}`);
    await sleep(50);
  }
}
