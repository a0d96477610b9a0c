import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import axios from 'axios';
import { DockerComposeEnvironment, type StartedDockerComposeEnvironment, Wait } from 'testcontainers';

const run = promisify(execFile);
export const ROOT = path.resolve(__dirname, '../..');

export interface UpstreamView {
  name: string;
  state: string;
  inFlight: number;
  requests: number;
}

/** The compose lab started for one test file, with its own project name so parallel labs don't clash. */
export class ComposeLab {
  private constructor(
    readonly env: StartedDockerComposeEnvironment,
    readonly project: string,
    readonly lbUrl: string,
  ) {}

  static async up(): Promise<ComposeLab> {
    if (!process.env.TESTCONTAINERS_RYUK_DISABLED) process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
    const project = `zdl-e2e-${Date.now().toString(36)}`;
    const env = await new DockerComposeEnvironment(ROOT, 'docker-compose.yml')
      .withProjectName(project)
      .withBuild()
      // A random loopback port, so the e2e suite can run beside a lab on 8080.
      .withEnvironment({ LB_PUBLISH: '127.0.0.1::8080', ...(process.env.NODE_IMAGE ? { NODE_IMAGE: process.env.NODE_IMAGE } : {}) })
      .withWaitStrategy('lb-1', Wait.forHealthCheck())
      .withWaitStrategy('client-1-1', Wait.forHealthCheck())
      .withWaitStrategy('client-2-1', Wait.forHealthCheck())
      .withStartupTimeout(300_000)
      .up();
    const lb = env.getContainer('lb-1');
    const lab = new ComposeLab(env, project, `http://127.0.0.1:${lb.getMappedPort(8080)}`);
    return lab;
  }

  /** docker compose against this lab's project (stop/start/ps ...). */
  async compose(...args: string[]): Promise<string> {
    const { stdout } = await run('docker', ['compose', '-p', this.project, '-f', path.join(ROOT, 'docker-compose.yml'), ...args], {
      cwd: ROOT,
      env: { ...process.env, LB_PUBLISH: '127.0.0.1::8080' },
    });
    return stdout;
  }

  async upstreams(): Promise<UpstreamView[]> {
    const r = await axios.get<{ upstreams: UpstreamView[] }>(`${this.lbUrl}/__lb/health`, { timeout: 2000 });
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

  async down(): Promise<void> {
    await this.env.down({ timeout: 10_000, removeVolumes: true });
  }
}
