import { execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import axios from 'axios';
import { formatSummary, LoadChecker, summarize } from '../packages/loadcheck/src';
import { ROOT, type DeployReportView } from './support/compose-lab';

// The lab on Docker Swarm (npm run lab:swarm) and `npm run deploy -- --runtime swarm`: ONE stack
// for every case (each deploy starts from what the previous one left), under 200 GET/s + 20 POST/s
// over keep-alive connections. Needs this engine to be a swarm manager: .ci/run runs `docker swarm
// init` and sets ZDL_SWARM_E2E=1, which turns a missing swarm into a failure instead of a skip.

jest.setTimeout(900_000);
const run = promisify(execFile);
const DEPLOYER = path.join(ROOT, 'packages/deployer/dist/main.js');

function swarmState(): string {
  try {
    return execFileSync('docker', ['info', '--format', '{{.Swarm.LocalNodeState}}/{{.Swarm.ControlAvailable}}'], { encoding: 'utf8' }).trim();
  } catch (err) {
    return `no docker (${(err as Error).message.split('\n')[0]})`;
  }
}
const state = swarmState();
const ready = state === 'active/true';
const required = process.env.ZDL_SWARM_E2E === '1';
if (!ready && !required) {
  console.warn(`swarm e2e SKIPPED: this Docker engine is not a swarm manager (${state}); run "docker swarm init --advertise-addr 127.0.0.1" (CI does, and sets ZDL_SWARM_E2E=1)`);
}
const suite = ready || required ? describe : describe.skip;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

interface Upstream {
  name: string;
  url: string;
  state: string;
  health: string;
  version?: string | null;
}

suite('the lab on Docker Swarm: one stack, every strategy, a killed task, a broken version (real swarm)', () => {
  const stack = `zdle2e${Date.now().toString(36)}`;
  const service = `${stack}_client`;
  const stateDir = path.join(ROOT, '.lab', 'swarm', stack);
  const receipts = fs.mkdtempSync(path.join(os.tmpdir(), 'zdl-swarm-receipts-'));
  let lbUrl = '';
  let adminUrl = '';
  let token = '';
  // What the service runs after the last successful deploy: the cases after a failed one still test their own thing.
  let current = 'v1';

  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = { ...process.env, ZDL_STACK: stack, NODE_IMAGE: process.env.NODE_IMAGE ?? 'zdl/node:20-local', ...extra };
    delete e.LB_ADMIN_TOKEN;
    return e;
  };
  const upstreams = async (): Promise<Upstream[]> =>
    (await axios.get<{ upstreams: Upstream[] }>(`${adminUrl}/upstreams`, { timeout: 3000, headers: { authorization: `Bearer ${token}` } })).data.upstreams;

  async function deploy(...args: string[]): Promise<{ code: number; output: string; report: DeployReportView }> {
    const r = await run('node', [DEPLOYER, '--runtime', 'swarm', '--stack', stack, '--json', '-', '--receipt', receipts, ...args], { cwd: ROOT, env: env(), maxBuffer: 64 * 1024 * 1024 }).then(
      (x) => ({ code: 0, stdout: x.stdout, stderr: x.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
    );
    let report: DeployReportView;
    try {
      report = JSON.parse(r.stdout) as DeployReportView;
    } catch {
      throw new Error(`the deployer printed no JSON report (exit ${r.code}):\n${r.stderr}\n${r.stdout}`);
    }
    return { code: r.code, output: r.stderr, report };
  }

  /** 200 GET/s + 20 POST/s through the balancer while `during` runs, then 1.5 s more. */
  async function underLoad<T>(during: () => Promise<T>) {
    const get = new LoadChecker({ url: `${lbUrl}/api`, rate: 200 });
    const post = new LoadChecker({ url: `${lbUrl}/api`, rate: 20, method: 'POST', body: { order: 1 } });
    get.start();
    post.start();
    await sleep(1000);
    const result = await during();
    await sleep(1500);
    const [g, p] = await Promise.all([get.stop(), post.stop()]);
    const gs = summarize(g);
    const ps = summarize(p);
    console.log(`GET: ${formatSummary(gs)}\nPOST: ${formatSummary(ps)}`);
    return { result, get: gs, post: ps, gets: g, startedAt: get.startedAtEpoch };
  }

  /** What the balancer and Swarm say: every upstream healthy on `version`, as many as replicas, the service's image on it. */
  async function expectUniform(version: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    let ups = await upstreams();
    while (!(ups.length === 2 && ups.every((u) => u.state === 'healthy' && u.version === version)) && Date.now() < deadline) {
      await sleep(250);
      ups = await upstreams();
    }
    expect(ups.map((u) => `${u.state} ${u.version}`)).toEqual([`healthy ${version}`, `healthy ${version}`]);
    expect(ups.every((u) => u.name.startsWith(`${service}.`))).toBe(true);
    const image = (await run('docker', ['service', 'inspect', '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}}', service])).stdout.trim();
    expect(image.replace(/@sha256:.*$/, '')).toBe(`zdl/swarm-client:${version}`);
    // No helper service (green, canary) left beside the stack.
    const helpers = (await run('docker', ['service', 'ls', '--filter', `label=zdl.helper-of=${service}`, '--format', '{{.Name}}'])).stdout.trim();
    expect(helpers).toBe('');
  }

  beforeAll(async () => {
    if (!ready) throw new Error(`ZDL_SWARM_E2E=1 but this Docker engine is not a swarm manager (${state}): .ci/run should have run "docker swarm init"`);
    const [p, a] = [await freePort(), await freePort()];
    const up = await run('bash', [path.join(ROOT, 'scripts/lab-swarm-up.sh')], { cwd: ROOT, env: env({ LB_PORT: String(p), LB_ADMIN_PORT: String(a) }), maxBuffer: 16 * 1024 * 1024 }).catch(
      (e: { stdout?: string; stderr?: string; message: string }) => {
        throw new Error(`npm run lab:swarm failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
      },
    );
    console.log(up.stdout);
    lbUrl = `http://127.0.0.1:${p}`;
    adminUrl = `http://127.0.0.1:${a}`;
    token = fs.readFileSync(path.join(stateDir, 'admin-token'), 'utf8').trim();
  });

  afterAll(async () => {
    // ZDL_SWARM_KEEP: a test never leaves the swarm, whoever created it.
    await run('bash', [path.join(ROOT, 'scripts/lab-swarm-down.sh')], { cwd: ROOT, env: env({ ZDL_SWARM_KEEP: '1' }) }).catch((e) => console.error(e));
    fs.rmSync(stateDir, { recursive: true, force: true });
    fs.rmSync(receipts, { recursive: true, force: true });
  });

  it('the stack: admin token is a Docker secret (not in any environment), the admin API refuses requests without it, both tasks registered themselves', async () => {
    const lbEnv = (await run('docker', ['service', 'inspect', '--format', '{{json .Spec.TaskTemplate.ContainerSpec.Env}}', `${stack}_lb`])).stdout;
    expect(lbEnv).not.toContain(token);
    const secrets = (await run('docker', ['service', 'inspect', '--format', '{{range .Spec.TaskTemplate.ContainerSpec.Secrets}}{{.SecretName}} {{end}}', `${stack}_lb`])).stdout;
    expect(secrets).toContain(`${stack}_admin_token`);
    const anon = await axios.get(`${adminUrl}/upstreams`, { validateStatus: () => true });
    expect(anon.status).toBe(401);
    await expectUniform('v1');
  });

  it('rolling = Swarm\'s start-first update, followed task by task: 0 failed, v2 everywhere, a receipt', async () => {
    const { result, get, post } = await underLoad(() => deploy('--strategy', 'rolling', '--version', 'v2'));
    console.log(result.output);
    expect(result.code).toBe(0);
    expect(get.failed).toBe(0);
    expect(post.failed).toBe(0);
    // The deployer reported each new task's start and its health in the balancer, each old task's drain and stop.
    for (const step of ['start', 'health', 'drain', 'stop']) expect(result.output).toMatch(new RegExp(`client\\.1 +${step} +ok`));
    await expectUniform('v2');
    current = 'v2';
    const receipt = fs.readdirSync(receipts).find((d) => d.includes('rolling-v2'));
    expect(receipt && fs.existsSync(path.join(receipts, receipt, 'receipt.json'))).toBeTruthy();
  });

  it('blue/green: a green service beside the stack\'s, one switch, blue refilled: 0 failed, v3 everywhere', async () => {
    const { result, get, post, gets, startedAt } = await underLoad(() => deploy('--strategy', 'blue-green', '--version', 'v3'));
    console.log(result.output);
    expect(result.code).toBe(0);
    expect(get.failed + post.failed).toBe(0);
    // After the one switch, every answer comes from v3 (green, then the refilled service).
    const after = gets.filter((o) => o.sentAt > result.report.switchedAt! - startedAt);
    expect(after.length).toBeGreaterThan(200);
    expect(new Set(after.map((o) => o.version))).toEqual(new Set(['v3']));
    await expectUniform('v3');
    current = 'v3';
  });

  it('canary 10 → 50 → 100 %, judged on the balancer\'s metrics, then promoted: 0 failed, v4 everywhere', async () => {
    // The p99 comparison gets a wide slack: on this shared 2-core machine, a 2 s window's p99 moves by
    // 100 ms between two identical versions (it failed a run that way), and latency is not what this
    // case is about; the error-rate analysis (5xx and failed connections) stays as it is.
    const { result, get, post } = await underLoad(() =>
      deploy('--strategy', 'canary', '--version', 'v4', '--canary-steps', '10,50,100', '--step-duration', '2s', '--p99-slack', '2s'),
    );
    console.log(result.output);
    expect(result.code).toBe(0);
    expect(get.failed + post.failed).toBe(0);
    expect(result.report.canarySteps!.map((s) => `${s.percent} ${s.verdict}`)).toEqual(['10 pass', '50 pass', '100 pass']);
    await expectUniform('v4');
    current = 'v4';
  });

  it('the deployer SIGKILLed in a blue/green deploy right after green started, then run again: it takes the lock over, repairs, deploys; 0 failed', async () => {
    const args = [DEPLOYER, '--runtime', 'swarm', '--stack', stack, '--no-receipt', '--strategy', 'blue-green', '--version', 'v5'];
    const { result, get, post } = await underLoad(async () => {
      const first = spawn('node', args, { cwd: ROOT, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
      let seen = '';
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no "start-beside ok" within 120 s:\n${seen}`)), 120_000);
        first.stdout.on('data', (d: Buffer) => {
          seen += d.toString();
          if (/client\.1 +start-beside +ok/.test(seen)) {
            clearTimeout(t);
            first.kill('SIGKILL');
            resolve();
          }
        });
      });
      await new Promise((r) => first.on('close', r));
      return deploy('--strategy', 'blue-green', '--version', 'v5');
    });
    console.log(result.output);
    expect(result.code).toBe(0);
    expect(result.output).toMatch(/found an unfinished blue-green deploy of v5/);
    expect(result.output).toMatch(/repair: client\.1: removing the helper/);
    expect(get.failed + post.failed).toBe(0);
    await expectUniform('v5');
    current = 'v5';
  });

  it('docker kill of one task\'s container: 0 failed GETs, Swarm replaces it, the replacement is back in rotation (timed)', async () => {
    const before = await upstreams();
    const container = (await run('docker', ['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${service}`])).stdout.trim().split('\n')[0];
    const taskId = (await run('docker', ['inspect', '--format', '{{index .Config.Labels "com.docker.swarm.task.id"}}', container])).stdout.trim();
    const killed = before.find((u) => u.name.endsWith(`.${taskId}`))!;
    expect(killed).toBeDefined();
    expect(before).toHaveLength(2);
    let outOfRotationMs = -1;
    let replacedMs = -1;
    const { get } = await underLoad(async () => {
      const t0 = Date.now();
      await run('docker', ['kill', container]);
      while (Date.now() - t0 < 90_000) {
        const ups = await upstreams();
        const k = ups.find((u) => u.name === killed.name);
        if (outOfRotationMs < 0 && (!k || k.state !== 'healthy')) outOfRotationMs = Date.now() - t0;
        const fresh = ups.filter((u) => !before.some((b) => b.name === u.name) && u.state === 'healthy');
        if (fresh.length === 1 && !k) {
          replacedMs = Date.now() - t0;
          return;
        }
        await sleep(100);
      }
    });
    console.log(`docker kill: out of rotation after ${outOfRotationMs} ms; replacement task healthy in the balancer (and the killed one removed) after ${replacedMs} ms`);
    expect(get.failed).toBe(0);
    expect(replacedMs).toBeGreaterThan(0);
    await expectUniform(current);
  });

  it('a version that never becomes healthy: Swarm rolls the update back, 0 failed, non-zero exit, the previous version everywhere', async () => {
    const { result, get, post } = await underLoad(() => deploy('--strategy', 'rolling', '--version', 'v6', '--env', 'STARTUP_DELAY_MS=999999'));
    console.log(result.output);
    expect(result.code).toBe(1);
    expect(result.report.error?.code).toBe('DEPLOY_ERR_ROLLED_BACK');
    expect(result.report.error?.message).toMatch(/rolled back by Swarm/);
    expect(get.failed + post.failed).toBe(0);
    await expectUniform(current);
  });
});
