import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort, type Proc, processTree, sleep, startProc, waitForPort, which } from './procs';

/** Something to send load to: its URL and the root process whose CPU and memory we read. */
export interface Target {
  id: string;
  label: string;
  url: string;
  /** Root pid of the target's processes (for CPU%, RSS). */
  pid: number;
  /** Why it is there / how it differs. */
  note?: string;
  /** Not part of the main comparison (shown, but not used for ratios). */
  extra?: boolean;
}

export const DIST = __dirname;
export const REPO = path.resolve(__dirname, '../../..');
export const DEFAULT_LB_MAIN = path.join(REPO, 'packages/lb/dist/main.js');

export interface Upstreams {
  ports: number[];
  urls: string[];
  procs: Proc[];
}

export async function startUpstreams(dir: string, n = 2): Promise<Upstreams> {
  const ports: number[] = [];
  const procs: Proc[] = [];
  for (let i = 0; i < n; i++) {
    const port = await freePort();
    const p = startProc(`upstream-${i + 1}`, process.execPath, [path.join(DIST, 'upstream.js'), String(port), `u${i + 1}`], {
      log: path.join(dir, `upstream-${i + 1}.log`),
    });
    await waitForPort(port, p);
    ports.push(port);
    procs.push(p);
  }
  return { ports, urls: ports.map((p) => `http://127.0.0.1:${p}`), procs };
}

export function directTarget(up: Upstreams): Target {
  return { id: 'direct', label: 'direct to one upstream', url: `${up.urls[0]}/api`, pid: up.procs[0].pid, note: 'no proxy: the limit of the upstream and the generator' };
}

function writeLbConfig(dir: string): string {
  const file = path.join(dir, 'lb.bench.yaml');
  fs.writeFileSync(file, 'admin:\n  enabled: false\n');
  return file;
}

/** Waits until the balancer's /__lb/health reports every upstream in rotation. */
export async function waitLbHealthy(port: number, want: number, timeoutMs = 10_000): Promise<void> {
  const began = Date.now();
  for (;;) {
    const h = await getJson<{ inRotation?: number }>(`http://127.0.0.1:${port}/__lb/health`).catch(() => undefined);
    if ((h?.inRotation ?? 0) >= want) return;
    if (Date.now() - began > timeoutMs) throw new Error(`balancer on ${port}: ${h?.inRotation ?? 0}/${want} upstreams in rotation after ${timeoutMs} ms`);
    await sleep(50);
  }
}

export function getJson<T>(url: string, timeoutMs = 2000, headers: Record<string, string> = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString()) as T);
        } catch (err) {
          reject(err as Error);
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

export async function lbTarget(
  dir: string,
  up: Upstreams,
  lbMain: string,
  opts: { execArgv?: string[]; id?: string; label?: string; env?: Record<string, string> } = {},
): Promise<Target & { proc: Proc }> {
  if (!fs.existsSync(lbMain)) throw new Error(`${lbMain} is missing: run "npm run build" first`);
  const port = await freePort();
  const id = opts.id ?? 'lb';
  const proc = startProc(id, process.execPath, [...(opts.execArgv ?? []), lbMain, '--config', writeLbConfig(dir)], {
    env: { LB_UPSTREAMS: up.urls.join(','), LB_HOST: '127.0.0.1', LB_PORT: String(port), LOG_LEVEL: 'warn', LB_CONFIG: '', ...opts.env },
    log: path.join(dir, `${id}.log`),
  });
  await waitForPort(port, proc);
  await waitLbHealthy(port, up.urls.length);
  return { id, label: opts.label ?? 'our balancer (packages/lb)', url: `http://127.0.0.1:${port}/api`, pid: proc.pid, proc };
}

/** Our balancer with the opt-in undici engine (`LB_PROXY_ENGINE=undici`), in one process or `workers` workers. */
export async function lbUndiciTarget(dir: string, up: Upstreams, lbMain: string, workers = 1): Promise<Target> {
  const id = workers > 1 ? `lb-undici-cluster${workers}` : 'lb-undici';
  const t = await lbTarget(dir, up, lbMain, {
    id,
    label: `our balancer, proxy.engine: undici${workers > 1 ? `, workers: ${workers}` : ''}`,
    env: { LB_PROXY_ENGINE: 'undici', ...(workers > 1 ? { LB_WORKERS: String(workers) } : {}) },
  });
  return { ...t, extra: true, note: 'the same request path (retries, timeouts, body buffering) over one undici Pool per upstream instead of http-proxy' };
}

/** The balancer in cluster mode (`LB_WORKERS`): N proxy workers, health checks and state in the primary. */
export async function clusterTarget(dir: string, up: Upstreams, lbMain: string, workers: number): Promise<Target> {
  const t = await lbTarget(dir, up, lbMain, {
    id: `lb-cluster${workers}`,
    label: `our balancer, workers: ${workers} (cluster mode)`,
    env: { LB_WORKERS: String(workers) },
  });
  return { ...t, extra: true, note: `LB_WORKERS=${workers}: node:cluster workers proxy; the primary keeps health checks, admin API and routing state` };
}

const BARE = {
  'http-proxy': { id: 'http-proxy', label: 'bare http-proxy + keep-alive agent', note: 'the floor of our stack: no health checks, retries, body buffering or timeouts' },
  'node-http': { id: 'node-http', label: 'bare node:http.request proxy (no http-proxy)', note: 'prototype floor without http-proxy: same agents, request/response piped by hand' },
  undici: { id: 'undici', label: 'bare undici.Pool proxy', note: 'prototype floor with undici as the upstream client (pool.stream)' },
} as const;

export async function bareProxyTarget(
  dir: string,
  up: Upstreams,
  execArgv: string[] = [],
  mode: keyof typeof BARE = 'http-proxy',
): Promise<Target & { stop: () => Promise<void> }> {
  const port = await freePort();
  const b = BARE[mode];
  const proc = startProc(`bare-${mode}`, process.execPath, [...execArgv, path.join(DIST, 'bare-proxy.js'), String(port), up.urls.join(','), mode], {
    log: path.join(dir, `bare-${mode}.log`),
  });
  await waitForPort(port, proc);
  return {
    id: b.id,
    label: b.label,
    url: `http://127.0.0.1:${port}/api`,
    pid: proc.pid,
    note: b.note,
    extra: mode !== 'http-proxy',
    stop: () => proc.stop(10_000),
  };
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

export async function nginxTarget(dir: string, up: Upstreams, workers: '1' | 'auto'): Promise<Target> {
  const bin = which('nginx');
  if (!bin) throw new Error('nginx is not installed');
  const port = await freePort();
  const id = workers === '1' ? 'nginx' : 'nginx-auto';
  const prefix = path.join(dir, id);
  fs.mkdirSync(path.join(prefix, 'tmp'), { recursive: true });
  const conf = path.join(prefix, 'nginx.conf');
  fs.writeFileSync(
    conf,
    `# generated by packages/bench: nginx as a round-robin balancer with upstream keep-alive
${isRoot() ? 'user root root;' : ''}
worker_processes ${workers};
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  keepalive_timeout 65s;
  keepalive_requests 1000000;
  upstream app {
    # open-source nginx has only passive health checks: max_fails within fail_timeout
    server ${up.urls[0].slice(7)} max_fails=3 fail_timeout=5s;
    server ${up.urls[1].slice(7)} max_fails=3 fail_timeout=5s;
    keepalive 64;
    keepalive_timeout 4s;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port} reuseport;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_connect_timeout 1s;
      proxy_read_timeout 30s;
      proxy_next_upstream error timeout;
      proxy_buffering on;
    }
  }
}
`,
  );
  const proc = startProc(id, bin, ['-p', prefix, '-c', conf], { log: path.join(prefix, 'stdout.log') });
  await waitForPort(port, proc);
  const n = workers === '1' ? 1 : os.availableParallelism();
  return {
    id,
    label: `nginx ${nginxVersion(bin)}, ${n} worker${n > 1 ? 's' : ''}`,
    url: `http://127.0.0.1:${port}/api`,
    pid: proc.pid,
    extra: workers !== '1',
    note: 'passive health checks only (max_fails=3 fail_timeout=5s): open-source nginx has no active checks',
  };
}

export async function haproxyTarget(dir: string, up: Upstreams): Promise<Target> {
  const bin = which('haproxy');
  if (!bin) throw new Error('haproxy is not installed');
  const port = await freePort();
  const prefix = path.join(dir, 'haproxy');
  fs.mkdirSync(prefix, { recursive: true });
  const conf = path.join(prefix, 'haproxy.cfg');
  fs.writeFileSync(
    conf,
    `# generated by packages/bench: HAProxy as a round-robin balancer with upstream keep-alive and active checks
global
  nbthread 1
  maxconn 4000
  pidfile ${prefix}/haproxy.pid

defaults
  mode http
  timeout connect 1s
  timeout client 65s
  timeout server 30s
  timeout http-keep-alive 65s
  timeout check 500ms
  option http-keep-alive
  option forwardfor
  http-reuse always
  retries 1
  option redispatch 1

frontend fe
  bind 127.0.0.1:${port}
  default_backend app

backend app
  balance roundrobin
  option httpchk GET /ping
  server u1 ${up.urls[0].slice(7)} check inter 1s fall 3 rise 1
  server u2 ${up.urls[1].slice(7)} check inter 1s fall 3 rise 1
`,
  );
  const proc = startProc('haproxy', bin, ['-f', conf, '-db'], { log: path.join(prefix, 'stdout.log') });
  await waitForPort(port, proc);
  return {
    id: 'haproxy',
    label: `HAProxy ${haproxyVersion(bin)}, 1 thread`,
    url: `http://127.0.0.1:${port}/api`,
    pid: proc.pid,
    note: 'active checks GET /ping inter 1s fall 3 rise 1, http-reuse always',
  };
}

function nginxVersion(bin: string): string {
  const r = require('node:child_process').spawnSync(bin, ['-v'], { encoding: 'utf8' }) as { stderr: string };
  return /nginx\/([\d.]+)/.exec(r.stderr)?.[1] ?? '';
}

function haproxyVersion(bin: string): string {
  const r = require('node:child_process').spawnSync(bin, ['-v'], { encoding: 'utf8' }) as { stdout: string };
  return /version ([\d.]+)/.exec(r.stdout)?.[1] ?? '';
}

export { processTree };
