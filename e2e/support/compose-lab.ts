import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import axios from 'axios';
import { DockerComposeEnvironment, type StartedDockerComposeEnvironment, Wait } from 'testcontainers';

const run = promisify(execFile);
export const ROOT = path.resolve(__dirname, '../..');
const DEPLOYER = path.join(ROOT, 'packages/deployer/dist/main.js');

export interface DeployReportView {
  ok: boolean;
  durationMs: number;
  final: { slot: string; version: string }[];
  switchedAt?: number;
  canarySteps?: { percent: number; startedAt: number; endedAt: number; verdict: string; reason: string }[];
  error?: { code: string; message: string };
}

export interface UpstreamView {
  name: string;
  state: string;
  health: string;
  inFlight: number;
  requests: number;
}

/**
 * The compose lab started for one test file: its own project name, its own env file (never the
 * repo's .env), random loopback ports, and an admin token of its own.
 */
export class ComposeLab {
  private constructor(
    readonly env: StartedDockerComposeEnvironment,
    readonly project: string,
    readonly envFile: string,
    readonly token: string,
    readonly lbUrl: string,
    readonly adminUrl: string,
  ) {}

  /** `extra`: more variables for the env file, e.g. LB_WORKERS. */
  static async up(extra: Record<string, string> = {}): Promise<ComposeLab> {
    if (!process.env.TESTCONTAINERS_RYUK_DISABLED) process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
    const project = `zdl-e2e-${Date.now().toString(36)}`;
    const token = crypto.randomBytes(16).toString('hex');
    const envFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'zdl-e2e-')), 'lab.env');
    const vars: Record<string, string> = {
      LB_PUBLISH: '127.0.0.1::8080',
      LB_ADMIN_PUBLISH: '127.0.0.1::8090',
      LB_ADMIN_HOST: '0.0.0.0',
      LB_ADMIN_TOKEN: token,
      NODE_IMAGE: process.env.NODE_IMAGE ?? 'node:20-bookworm-slim',
      ...extra,
    };
    fs.writeFileSync(envFile, Object.entries(vars).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
    const env = await new DockerComposeEnvironment(ROOT, 'docker-compose.yml')
      .withProjectName(project)
      .withBuild()
      .withEnvironmentFile(envFile)
      .withWaitStrategy('lb-1', Wait.forHealthCheck())
      .withWaitStrategy('client-1-1', Wait.forHealthCheck())
      .withWaitStrategy('client-2-1', Wait.forHealthCheck())
      .withStartupTimeout(300_000)
      .up();
    const lb = env.getContainer('lb-1');
    const lab = new ComposeLab(env, project, envFile, token, `http://127.0.0.1:${lb.getMappedPort(8080)}`, `http://127.0.0.1:${lb.getMappedPort(8090)}`);
    await lab.waitForState('client-1:8081', 'healthy', 15_000);
    await lab.waitForState('client-2:8082', 'healthy', 15_000);
    return lab;
  }

  /** docker compose against this lab's project and env file (stop/start/ps ...). */
  async compose(...args: string[]): Promise<string> {
    const { stdout } = await run('docker', ['compose', '-p', this.project, '-f', path.join(ROOT, 'docker-compose.yml'), '--env-file', this.envFile, ...args], {
      cwd: ROOT,
    });
    return stdout;
  }

  async upstreams(): Promise<UpstreamView[]> {
    // The upstreams' states are the admin API's (the public /__lb/health is a bare status).
    const r = await axios.get<{ upstreams: UpstreamView[] }>(`${this.adminUrl}/upstreams`, { timeout: 2000, headers: { authorization: `Bearer ${this.token}` } });
    return r.data.upstreams;
  }

  async waitForState(name: string, state: string, timeoutMs: number): Promise<number> {
    const start = Date.now();
    for (;;) {
      const u = (await this.upstreams()).find((x) => x.name === name);
      if (u?.state === state) return Date.now() - start;
      if (Date.now() - start > timeoutMs) throw new Error(`${name} did not become ${state} within ${timeoutMs} ms (is ${u?.state})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Runs the real deployer CLI against this lab; resolves with its exit code and output. */
  deploy(...args: string[]): Promise<{ code: number; output: string; report?: DeployReportView }> {
    const reportFile = path.join(path.dirname(this.envFile), `report-${Date.now()}.json`);
    const child = spawn(
      process.execPath,
      [DEPLOYER, '--project', this.project, '--env-file', this.envFile, '--admin-url', this.adminUrl, '--token', this.token, '--json', reportFile, ...(args.includes('--receipt') ? [] : ['--no-receipt']), ...args],
      { cwd: ROOT, env: { ...process.env, NODE_IMAGE: process.env.NODE_IMAGE ?? '' } },
    );
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    return new Promise((resolve) => {
      child.on('close', (code) => {
        const report = fs.existsSync(reportFile) ? JSON.parse(fs.readFileSync(reportFile, 'utf8')) : undefined;
        resolve({ code: code ?? -1, output, report });
      });
    });
  }

  async down(): Promise<void> {
    // Surge helpers are plain containers beside the project: remove any left behind.
    const { stdout } = await run('docker', ['ps', '-aq', '--filter', `name=${this.project}-`]).catch(() => ({ stdout: '' }));
    const extra = stdout.split('\n').filter(Boolean);
    await this.env.down({ timeout: 10_000, removeVolumes: true });
    if (extra.length) await run('docker', ['rm', '-f', ...extra]).catch(() => undefined);
    // The balancer's token folder (bind-mounted per project; empty here, the token comes from the env file).
    fs.rmSync(path.join(ROOT, '.lab', 'compose', this.project), { recursive: true, force: true });
  }
}
