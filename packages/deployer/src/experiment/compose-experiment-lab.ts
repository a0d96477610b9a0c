import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CommandRunner } from '../runtime/command-runner';

export const COMPOSE_SERVICES = ['client-1', 'client-2'];

/**
 * The compose lab for one row of the experiment: its own project name and env file (never the
 * repository's .env), the balancer and admin API published on free loopback ports, the row's lab
 * switches in the env file (docker-compose.yml passes them to the containers).
 */
export class ComposeExperimentLab {
  private constructor(
    private readonly run: CommandRunner,
    readonly composeFile: string,
    readonly project: string,
    readonly envFile: string,
    readonly token: string,
    readonly lbUrl: string,
    readonly adminUrl: string,
  ) {}

  static async up(run: CommandRunner, o: { composeFile: string; project: string; env: Record<string, string> }): Promise<ComposeExperimentLab> {
    const token = crypto.randomBytes(16).toString('hex');
    const envFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), `${o.project}-`)), 'lab.env');
    const vars: Record<string, string> = {
      LB_PUBLISH: '127.0.0.1::8080',
      LB_ADMIN_PUBLISH: '127.0.0.1::8090',
      LB_ADMIN_HOST: '0.0.0.0',
      LB_ADMIN_TOKEN: token,
      NODE_IMAGE: process.env.NODE_IMAGE || 'node:20-bookworm-slim',
      ...o.env,
    };
    fs.writeFileSync(envFile, Object.entries(vars).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
    const lab = new ComposeExperimentLab(run, o.composeFile, o.project, envFile, token, '', '');
    try {
      await lab.compose(['up', '-d', '--build', '--wait', '--wait-timeout', '180']);
      const lbUrl = `http://${(await lab.compose(['port', 'lb', '8080'])).trim()}`;
      const adminUrl = `http://${(await lab.compose(['port', 'lb', '8090'])).trim()}`;
      return new ComposeExperimentLab(run, o.composeFile, o.project, envFile, token, lbUrl, adminUrl);
    } catch (err) {
      await lab.down().catch(() => undefined);
      throw err;
    }
  }

  compose(args: string[], env: Record<string, string> = {}): Promise<string> {
    return this.run('docker', ['compose', '-p', this.project, '-f', this.composeFile, '--env-file', this.envFile, ...args], {
      env,
      cwd: path.dirname(this.composeFile),
    });
  }

  logs(service: string): Promise<string> {
    return this.compose(['logs', '--no-color', service]);
  }

  /** Removes the project's containers, network and env file (idempotent). */
  async down(): Promise<void> {
    await this.compose(['down', '-v', '--remove-orphans', '-t', '5']);
    fs.rmSync(path.dirname(this.envFile), { recursive: true, force: true });
  }
}
