import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import axios from 'axios';
import { formatSummary, LoadChecker, summarize } from '../packages/loadcheck/src';
import { ROOT, type DeployReportView, type UpstreamView } from './support/compose-lab';

// The workflow as the README promises it, on a fresh clone: `docker compose up -d --build`, then
// `npm run rolling-deploy -- --version v2`. No `npm run lab`, no token anywhere: the balancer
// generates one into .lab/compose/<project>/admin-token and the deployer finds it there.
// What differs from a user's run, and why: a project name of its own and free published ports
// (LB_PUBLISH/LB_ADMIN_PUBLISH in the environment) so it runs beside a lab on 8080/8090, and an
// empty --env-file so a developer's .env (which may hold an LB_ADMIN_TOKEN) cannot leak in: a fresh
// clone has none. The deployer gets --admin-url only because the port is not 8090.

jest.setTimeout(600_000);
const run = promisify(execFile);
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');
const DEPLOYER = path.join(ROOT, 'packages/deployer/dist/main.js');

/** The environment of a user's shell: no admin token, no admin host, nothing from an earlier lab. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_IMAGE: process.env.NODE_IMAGE ?? 'node:20-bookworm-slim', ...extra };
  for (const k of ['LB_ADMIN_TOKEN', 'LB_ADMIN_HOST', 'LB_ADMIN_TOKEN_FILE', 'COMPOSE_PROJECT_NAME', 'CLIENT_1_VERSION', 'CLIENT_2_VERSION']) delete env[k];
  return env;
}

describe('plain docker compose up, then the deploy CLI with no token given (real containers)', () => {
  const project = `zdl-e2e-plain-${Date.now().toString(36)}`;
  const tokenDir = path.join(ROOT, '.lab', 'compose', project);
  const tokenFile = path.join(tokenDir, 'admin-token');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'zdl-e2e-plain-'));
  const envFile = path.join(work, 'empty.env');
  const portsEnv = userEnv({ LB_PUBLISH: '127.0.0.1::8080', LB_ADMIN_PUBLISH: '127.0.0.1::8090' });
  let lbUrl = '';
  let adminUrl = '';

  const compose = async (args: string[], env = portsEnv): Promise<string> =>
    (await run('docker', ['compose', '-p', project, '-f', COMPOSE_FILE, '--env-file', envFile, ...args], { cwd: ROOT, env, maxBuffer: 64 * 1024 * 1024 })).stdout;

  // The upstreams' states are the admin API's (the public /__lb/health is a bare status); the token
  // is the one the balancer generated (the tests below check how it got there).
  const upstreams = async (): Promise<UpstreamView[]> =>
    (await axios.get<{ upstreams: UpstreamView[] }>(`${adminUrl}/upstreams`, { timeout: 2000, headers: { authorization: `Bearer ${fs.readFileSync(tokenFile, 'utf8').trim()}` } })).data.upstreams;

  beforeAll(async () => {
    fs.writeFileSync(envFile, '');
    await compose(['up', '-d', '--build', '--wait', '--wait-timeout', '300']);
    const published = async (port: number) => (await compose(['port', 'lb', String(port)])).trim();
    lbUrl = `http://${await published(8080)}`;
    adminUrl = `http://${await published(8090)}`;
    const deadline = Date.now() + 20_000;
    while ((await upstreams()).filter((u) => u.state === 'healthy').length < 2) {
      if (Date.now() > deadline) throw new Error(`upstreams not healthy: ${JSON.stringify(await upstreams())}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  afterAll(async () => {
    // Surge helpers are plain containers beside the project: remove any left behind.
    const { stdout } = await run('docker', ['ps', '-aq', '--filter', `name=${project}-`]).catch(() => ({ stdout: '' }));
    await compose(['down', '--volumes', '--remove-orphans', '--timeout', '10']).catch((err) => console.error(err));
    const extra = stdout.split('\n').filter(Boolean);
    if (extra.length) await run('docker', ['rm', '-f', ...extra]).catch(() => undefined);
    fs.rmSync(tokenDir, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('the balancer generated its token into the project folder (0600), and the admin API refuses every unauthenticated change', async () => {
    expect(fs.statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(fs.statSync(tokenDir).mode & 0o777).toBe(0o700);
    const token = fs.readFileSync(tokenFile, 'utf8').trim();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Nothing in the logs gives it away.
    expect(await compose(['logs', 'lb'])).not.toContain(token);

    const admin = axios.create({ baseURL: adminUrl, timeout: 5000, validateStatus: () => true });
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Bearer ${token}x` }]) {
      expect((await admin.post('/upstreams/client-1:8081/disable', undefined, { headers })).status).toBe(401);
      expect((await admin.post('/upstreams', { url: 'http://evil:1' }, { headers })).status).toBe(401);
      expect((await admin.put('/split', { groups: [{ group: 'x', weight: 1 }] }, { headers })).status).toBe(401);
      expect((await admin.get('/upstreams', { headers })).status).toBe(401);
    }
    // Nothing changed, and the right token works.
    expect((await upstreams()).map((u) => `${u.name}=${u.state}`).sort()).toEqual(['client-1:8081=healthy', 'client-2:8082=healthy']);
    expect((await admin.get('/upstreams', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  it('the admin port is published on the host loopback only', async () => {
    // The running container: every host binding of both ports is 127.0.0.1.
    const [container] = JSON.parse(await run('docker', ['inspect', `${project}-lb-1`]).then((r) => r.stdout)) as {
      HostConfig: { PortBindings: Record<string, { HostIp: string; HostPort: string }[]> };
      NetworkSettings: { Ports: Record<string, { HostIp: string; HostPort: string }[] | null> };
    }[];
    expect(Object.keys(container.NetworkSettings.Ports).sort()).toEqual(['8080/tcp', '8090/tcp']);
    for (const bindings of Object.values(container.NetworkSettings.Ports)) {
      expect(bindings?.length).toBeGreaterThan(0);
      for (const b of bindings ?? []) expect(b.HostIp).toBe('127.0.0.1');
    }
    // The file as a user gets it (no LB_*_PUBLISH): 127.0.0.1:8080 and 127.0.0.1:8090, nothing else.
    const config = JSON.parse(await compose(['config', '--format', 'json'], userEnv())) as {
      services: Record<string, { ports?: { host_ip?: string; published?: string; target: number }[] }>;
    };
    expect(config.services.lb.ports?.map((p) => `${p.host_ip}:${p.published}->${p.target}`).sort()).toEqual(['127.0.0.1:8080->8080', '127.0.0.1:8090->8090']);
    expect(config.services['client-1'].ports ?? []).toEqual([]);
    expect(config.services['client-2'].ports ?? []).toEqual([]);
    // And from the host's own non-loopback address the admin port is closed.
    const adminPort = Number(new URL(adminUrl).port);
    const external = Object.values(os.networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal);
    if (external) expect(await connects(external.address, adminPort)).toBe(false);
  });

  it('npm run rolling-deploy with no --token and no LB_ADMIN_TOKEN: v1 → v2 under load, 0 failed', async () => {
    const load = {
      get: new LoadChecker({ url: `${lbUrl}/api`, rate: 200, connections: 64 }),
      post: new LoadChecker({ url: `${lbUrl}/api`, rate: 20, method: 'POST', body: { order: 42, items: ['a', 'b'] } }),
      slow: new LoadChecker({ url: `${lbUrl}/api?delayMs=2000`, rate: 5 }),
    };
    Object.values(load).forEach((l) => l.start());
    await new Promise((r) => setTimeout(r, 2000));
    const reportFile = path.join(work, 'report.json');
    const deploy = await runDeployer(['--project', project, '--env-file', envFile, '--admin-url', adminUrl, '--json', reportFile, '--version', 'v2'], userEnv());
    const to = load.get.elapsedMs;
    await new Promise((r) => setTimeout(r, 2000));
    const [get, post, slow] = await Promise.all([load.get.stop(), load.post.stop(), load.slow.stop()]);
    const report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as DeployReportView;
    console.log(`${deploy.output}\nGET:\n${formatSummary(summarize(get))}\nPOST: ${formatSummary(summarize(post)).split('\n')[0]}\nslow: ${formatSummary(summarize(slow)).split('\n')[0]}`);

    if (summarize(get).failed + summarize(post).failed + summarize(slow).failed > 0) {
      // What the balancer saw (health transitions, evictions), to tell a starved machine from a bug.
      const log = await compose(['logs', '--no-color', '--no-log-prefix', 'lb']);
      console.log(log.split('\n').filter((l) => /upstream state|evict|error/i.test(l)).join('\n'));
    }
    expect(deploy.code).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.final.map((i) => i.version)).toEqual(['v2', 'v2']);
    expect(summarize(get).failed).toBe(0);
    expect(summarize(post).failed).toBe(0);
    expect(summarize(slow).failed).toBe(0);
    expect(get.length).toBeGreaterThan(1000);
    expect(new Set(get.map((o) => o.version))).toEqual(new Set(['v1', 'v2']));
    const after = get.filter((o) => o.sentAt > to + 200);
    expect(after.length).toBeGreaterThan(200);
    expect(new Set(after.map((o) => o.version))).toEqual(new Set(['v2']));
    // The token came from the generated file: the env file the deployer was given holds none.
    expect(fs.readFileSync(envFile, 'utf8')).not.toContain('LB_ADMIN_TOKEN');
    expect(fs.readFileSync(envFile, 'utf8')).toContain('CLIENT_1_VERSION=v2');
    expect((await upstreams()).map((u) => `${u.name}=${u.state}`).sort()).toEqual(['client-1:8081=healthy', 'client-2:8082=healthy']);
  });

  it('a deploy against a project whose balancer never ran says where it looked for a token, changes nothing, exits non-zero', async () => {
    const other = `${project}-none`;
    const r = await runDeployer(['--project', other, '--env-file', envFile, '--admin-url', adminUrl, '--version', 'v3'], userEnv());
    expect(r.code).toBe(1);
    expect(r.output).toContain('no admin token found; looked at:');
    expect(r.output).toContain(path.join(ROOT, '.lab', 'compose', other, 'admin-token'));
    expect(r.output).toContain('nothing was changed');
    expect(fs.readFileSync(envFile, 'utf8')).not.toContain('v3');
  });
});

function runDeployer(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  const child = spawn(process.execPath, [DEPLOYER, ...args], { cwd: ROOT, env });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, output })));
}

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 2000 });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(false));
  });
}
