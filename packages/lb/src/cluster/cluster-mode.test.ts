import cluster from 'node:cluster';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { validateConfig } from '../config/validate-config';
import { LoadBalancer } from '../lb-server';
import { createLogger, silentLogger } from '../logger';
import { request, sleep, TestUpstream, waitFor } from '../test-support/test-upstream';
import { clusterForker } from './worker-fleet';

// Real worker processes (node:cluster) running the built balancer; `npm test` builds first.
const MAIN = path.resolve(__dirname, '../../dist/main.js');
jest.setTimeout(30_000);

/** A fresh connection per request, so node:cluster hands requests to the workers in turn. */
const noKeepAlive = new http.Agent({ keepAlive: false });
const instanceOf = (r: { body: string }) => (JSON.parse(r.body) as { instance: string }).instance;

async function setup(engine: string) {
  const ups = await Promise.all(['a', 'b'].map((n) => new TestUpstream(n).start()));
  const config = validateConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      workers: 2,
      upstreams: ups.map((u) => ({ url: u.url, name: u.name })),
      healthCheck: { intervalMs: 100, timeoutMs: 50 },
      // The workers get the whole config, so they proxy with the same engine.
      proxy: { engine },
      admin: { enabled: false },
    },
    'test',
  );
  const lb = new LoadBalancer(config, { log: process.env.DEBUG_LB ? createLogger('debug') : silentLogger, forkWorker: clusterForker(MAIN) });
  await lb.start();
  // Routing state reaches the workers over IPC: wait until they route to both.
  const began = Date.now();
  for (;;) {
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const r = await request(lb.port, noKeepAlive);
      if (r.status === 200) seen.add(instanceOf(r));
    }
    if (seen.size === 2) break;
    if (Date.now() - began > 5000) throw new Error('workers never routed to both upstreams');
    await sleep(50);
  }
  return { ups, lb };
}

const workerPids = () => Object.values(cluster.workers ?? {}).map((w) => w!.process.pid!);

describe.each(['http-proxy', 'undici'])('cluster mode (workers: 2, engine %s) on real processes and sockets', (engine) => {
  let env: Awaited<ReturnType<typeof setup>> | undefined;
  beforeAll(() => {
    if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
  });
  afterEach(async () => {
    if (!env) return;
    await env.lb.stop(2000);
    await Promise.all(env.ups.map((u) => u.kill()));
    env = undefined;
  });

  it('serves from two worker processes and counts every request once, in the primary', async () => {
    env = await setup(engine);
    expect(workerPids()).toHaveLength(2);
    await env.lb.refreshStats();
    const before = env.lb.pool.all().reduce((n, u) => n + u.requests, 0);
    for (let i = 0; i < 20; i++) expect((await request(env.lb.port, noKeepAlive)).status).toBe(200);
    await env.lb.refreshStats();
    const after = env.lb.pool.all().map((u) => u.requests);
    expect(after.reduce((a, b) => a + b, 0) - before).toBe(20);
    expect(after.every((n) => n >= 10)).toBe(true);
    const metrics = await env.lb.metrics.text();
    expect(metrics).toMatch(/lb_requests_total\{upstream="a",group="default",status_class="2xx"\} \d+/);
  });

  it('drain waits for a request in flight in a worker, and no worker sends new ones there', async () => {
    env = await setup(engine);
    const [a] = env.ups;
    a.latencyMs = 1500;
    // Slow requests on a, held by whichever workers took them.
    const slow = [0, 1, 2, 3].map(() => request(env!.lb.port, noKeepAlive));
    await sleep(300);
    const upA = env.lb.pool.get('a')!;
    const drained = await env.lb.control.drain(upA.name, 5000);
    expect(drained.drained).toBe(true);
    // The primary itself proxies nothing: only asking the workers can make the drain wait.
    expect(drained.waitedMs).toBeGreaterThan(800);
    expect((await Promise.all(slow)).map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const next = [];
    for (let i = 0; i < 10; i++) next.push(instanceOf(await request(env.lb.port, noKeepAlive)));
    expect(new Set(next)).toEqual(new Set(['b']));
  });

  it('a worker that dies is replaced; traffic keeps flowing and counters never go back', async () => {
    env = await setup(engine);
    for (let i = 0; i < 10; i++) await request(env.lb.port, noKeepAlive);
    await env.lb.refreshStats();
    const before = env.lb.pool.all().reduce((n, u) => n + u.requests, 0);
    const [victim] = workerPids();
    process.kill(victim, 'SIGKILL');
    await sleep(100);
    const statuses = [];
    for (let i = 0; i < 10; i++) statuses.push((await request(env.lb.port, noKeepAlive)).status);
    expect(statuses).toEqual(new Array(10).fill(200));
    await waitFor(() => workerPids().length === 2 && !workerPids().includes(victim), 10_000, 'a replacement worker');
    await env.lb.refreshStats();
    expect(env.lb.pool.all().reduce((n, u) => n + u.requests, 0)).toBeGreaterThanOrEqual(before + 10);
  });

  it('stop() ends every worker', async () => {
    env = await setup(engine);
    const pids = workerPids();
    await env.lb.stop(2000);
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await waitFor(() => pids.every((p) => !alive(p)), 5000, 'workers to exit');
  });
});
