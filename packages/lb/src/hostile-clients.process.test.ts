import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { rawExchange, statuses } from './test-support/raw-http';
import { request, sleep, TestUpstream, waitFor } from './test-support/test-upstream';

// The built balancer as a real process (npm test builds first), attacked over raw sockets: it must
// stay up, cut slow clients, and keep its memory bounded. RSS is read from /proc, as an operator would.
const MAIN = path.resolve(__dirname, '../dist/main.js');
jest.setTimeout(150_000);

interface Lb {
  proc: ChildProcess;
  port: number;
  adminPort: number;
  log: string[];
}

async function startLb(upstream: string, extra: Record<string, unknown> = {}, token?: string): Promise<Lb> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lb-hostile-'));
  const file = path.join(dir, 'lb.yaml');
  const config = {
    listen: { host: '127.0.0.1', port: 0 },
    admin: { enabled: false },
    upstreams: [upstream],
    healthCheck: { intervalMs: 200, timeoutMs: 100 },
    ...extra,
  };
  fs.writeFileSync(file, JSON.stringify(config)); // JSON is YAML
  const proc = spawn(process.execPath, [MAIN, '--config', file], { env: { ...process.env, LB_CONFIG: '', LOG_LEVEL: 'info', LB_ADMIN_TOKEN: token ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  let port = 0;
  let adminPort = 0;
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    for (const line of d.split('\n').filter(Boolean)) {
      log.push(line);
      const m = /"msg":"listening".*"port":(\d+)/.exec(line);
      if (m) port = Number(m[1]);
      const a = /"msg":"listening".*"admin":"[^"]*:(\d+)"/.exec(line);
      if (a) adminPort = Number(a[1]);
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => log.push(d));
  await waitFor(() => port > 0 || proc.exitCode !== null, 10_000, 'the balancer to listen');
  if (proc.exitCode !== null) throw new Error(`balancer exited ${proc.exitCode}: ${log.join('\n')}`);
  const agent = new http.Agent({ keepAlive: false });
  const began = Date.now();
  while ((await request(port, agent).catch(() => ({ status: 0 }))).status !== 200) {
    if (Date.now() - began > 10_000) throw new Error('upstream never in rotation');
    await sleep(50);
  }
  return { proc, port, adminPort, log };
}

function rssMiB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return Math.round((kb / 1024) * 10) / 10;
}

async function stopLb(lb: Lb): Promise<void> {
  if (lb.proc.exitCode !== null) return;
  const exited = new Promise((r) => lb.proc.once('exit', r));
  lb.proc.kill('SIGTERM');
  await Promise.race([exited, sleep(10_000)]);
  if (lb.proc.exitCode === null) lb.proc.kill('SIGKILL');
}

describe('the balancer process under hostile clients', () => {
  let upstream: TestUpstream;
  beforeAll(async () => {
    upstream = await new TestUpstream('a').start();
  });
  afterAll(() => upstream.kill());

  it.each([1, 2])('stays up through request lines, framing and upgrades that used to kill it (workers: %i)', async (workers) => {
    const lb = await startLb(upstream.url, { workers });
    try {
      const attacks: Array<[string, number]> = [
        ['GET http://[::1/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 400],
        ['GET http://[::1]:99999/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 400],
        ['OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 400],
        ['GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', 400], // a WebSocket handshake without Sec-WebSocket-Key
        ['DELETE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n2a\r\nGET /SMUGGLED HTTP/1.1\r\nHost: internal\r\n\r\n\r\n0\r\n\r\n', 200],
        ['POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n', 400],
      ];
      // Repeated, as the cluster-mode probe did (it kept killing workers).
      for (let round = 0; round < 5; round++) {
        for (const [a, expected] of attacks) {
          const r = await rawExchange(lb.port, a, 1000);
          expect({ a, status: statuses(r.text) }).toEqual({ a, status: [expected] });
        }
      }
      expect(lb.proc.exitCode).toBeNull();
      expect(lb.log.join('\n')).not.toMatch(/cluster worker died/);
      const agent = new http.Agent({ keepAlive: false });
      for (let i = 0; i < 10; i++) expect((await request(lb.port, agent)).status).toBe(200);
    } finally {
      await stopLb(lb);
    }
  });

  it('cuts slowloris clients (headers trickling) after the header timeout', async () => {
    const lb = await startLb(upstream.url, { proxy: { headerTimeoutMs: 1000 } });
    try {
      const sockets = await Promise.all(
        Array.from({ length: 100 }, () => new Promise<net.Socket>((resolve) => {
          const s = net.connect(lb.port, '127.0.0.1', () => resolve(s));
          s.on('error', () => {});
        })),
      );
      const closedAt: number[] = [];
      const began = Date.now();
      sockets.forEach((s) => s.once('close', () => closedAt.push(Date.now() - began)));
      const header = 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(200);
      let i = 0;
      const drip = setInterval(() => {
        for (const s of sockets) if (!s.destroyed) s.write(header[i % header.length]);
        i++;
      }, 100);
      await waitFor(() => closedAt.length === sockets.length, 8000, 'every slowloris socket closed by the balancer').finally(() => clearInterval(drip));
      console.log(`slowloris: 100 sockets trickling headers, all closed by the balancer after ${Math.max(...closedAt)} ms (headerTimeoutMs 1000)`);
      expect(Math.max(...closedAt)).toBeLessThan(4000);
      expect(lb.proc.exitCode).toBeNull();
    } finally {
      await stopLb(lb);
    }
  });

  it('keeps memory bounded while 150 clients each hold just under 1 MiB of a retryable body, and cuts them', async () => {
    const budgetMiB = 16;
    const lb = await startLb(upstream.url, { proxy: { bodyIdleTimeoutMs: 3000, retryBufferBudgetBytes: budgetMiB * 1024 * 1024 }, admin: { port: 0 } }, 'tok');
    const bufferedBytes = async () => {
      const text = await new Promise<string>((resolve, reject) =>
        http.get({ host: '127.0.0.1', port: lb.adminPort, path: '/metrics', headers: { authorization: 'Bearer tok' } }, (res) => {
          let b = '';
          res.on('data', (c) => (b += c)).on('end', () => resolve(b));
        }).on('error', reject),
      );
      return Number(/^lb_retry_buffer_bytes (\d+)/m.exec(text)?.[1] ?? NaN);
    };
    try {
      const agent = new http.Agent({ keepAlive: true });
      for (let i = 0; i < 200; i++) await request(lb.port, agent); // warm up (JIT, pools)
      agent.destroy();
      await sleep(500);
      const before = rssMiB(lb.proc.pid!);
      const size = 1024 * 1024;
      const chunk = Buffer.alloc(size - 1, 'x');
      const closed: number[] = [];
      const began = Date.now();
      const sockets = Array.from({ length: 150 }, () => {
        const s = net.connect(lb.port, '127.0.0.1');
        s.on('error', () => {});
        s.on('data', () => {});
        s.once('close', () => closed.push(Date.now() - began));
        s.write(`POST /api HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${size}\r\n\r\n`);
        s.write(chunk);
        return s;
      });
      let peak = before;
      let peakBuffered = 0;
      const sample = setInterval(() => {
        peak = Math.max(peak, rssMiB(lb.proc.pid!));
        void bufferedBytes().then((b) => (peakBuffered = Math.max(peakBuffered, b)), () => {});
      }, 100);
      // The streamed bodies flow to the upstream as fast as this (shared, busy) machine moves 150 MiB;
      // each is cut bodyIdleTimeoutMs after its last byte.
      await waitFor(() => closed.length === sockets.length, 100_000, 'every held body cut by the balancer').finally(() => {
        clearInterval(sample);
        sockets.forEach((s) => s.destroy());
      });
      expect(await bufferedBytes()).toBe(0);
      await sleep(1000);
      const after = rssMiB(lb.proc.pid!);
      console.log(
        `held bodies: RSS before ${before} MiB, peak ${peak} MiB, after ${after} MiB; buffered for retries at most ${(peakBuffered / 2 ** 20).toFixed(1)} MiB ` +
          `(budget ${budgetMiB} MiB); 150 × (1 MiB − 1 byte) held; all cut after ${Math.max(...closed)} ms (bodyIdleTimeoutMs 3000)`,
      );
      // What the balancer holds is bounded by the budget (the rest streams through); RSS also
      // carries Buffer garbage V8 collects late (it waits for ~64 MiB of external allocations).
      expect(peakBuffered).toBeGreaterThan(0);
      expect(peakBuffered).toBeLessThanOrEqual(budgetMiB * 2 ** 20);
      expect(peak - before).toBeLessThan(128);
      expect(lb.proc.exitCode).toBeNull();
      const check = new http.Agent({ keepAlive: false });
      expect((await request(lb.port, check)).status).toBe(200);
    } finally {
      await stopLb(lb);
    }
  });
});
