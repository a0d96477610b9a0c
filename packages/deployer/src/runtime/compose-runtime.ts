import path from 'node:path';
import type { CommandRunner } from './command-runner';
import { readEnvFile, setEnvVar } from './env-file';
import type { BesideRole, Instance, Runtime, SlotView } from './runtime';

export interface ComposeRuntimeOptions {
  /** Compose project name (testcontainers picks random ones, so it is always explicit here). */
  project: string;
  composeFile: string;
  /** Where each service's version is kept (the project's .env by default), so `docker compose up` keeps it. */
  envFile: string;
  /** The service's compose services, one slot each; the first one has the build section. */
  services: string[];
  /** Seconds docker waits after SIGTERM before SIGKILL. */
  stopTimeoutS?: number;
}

/** Lab knobs the compose file passes through to the client containers. */
export const COMPOSE_PASSTHROUGH_ENV = ['LATENCY_MS', 'FAIL_RATE', 'STARTUP_DELAY_MS'] as const;

/** The variable that holds one service's version in the env file: client-1 → CLIENT_1_VERSION. */
export const versionVar = (service: string) => `${service.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_VERSION`;

/**
 * Instances as docker compose services. Each service is recreated in place with its version in the
 * env file, so compose stays the source of truth and a later `docker compose up` keeps the version.
 */
export class ComposeRuntime implements Runtime {
  readonly kind = 'compose';

  constructor(
    private readonly o: ComposeRuntimeOptions,
    private readonly run: CommandRunner,
  ) {}

  private compose(args: string[], env: Record<string, string> = {}): Promise<string> {
    return this.run('docker', ['compose', '-p', this.o.project, '-f', this.o.composeFile, '--env-file', this.o.envFile, ...args], {
      env,
      cwd: path.dirname(path.resolve(this.o.composeFile)),
    });
  }

  private async containerId(service: string): Promise<string | undefined> {
    const id = (await this.compose(['ps', '-q', service])).trim().split('\n')[0];
    return id || undefined;
  }

  private async inspectEnv(id: string): Promise<Record<string, string>> {
    const out = await this.run('docker', ['inspect', '--format', '{{json .Config.Env}}', id]);
    const env: Record<string, string> = {};
    for (const kv of JSON.parse(out) as string[]) {
      const i = kv.indexOf('=');
      env[kv.slice(0, i)] = kv.slice(i + 1);
    }
    return env;
  }

  private async describe(service: string, id: string, host = service): Promise<Instance> {
    const env = await this.inspectEnv(id);
    const port = env.PORT ?? '8081';
    return { slot: service, name: `${host}:${port}`, url: `http://${host}:${port}`, version: env.APP_VERSION ?? 'unknown' };
  }

  async list(): Promise<Instance[]> {
    const out: Instance[] = [];
    for (const service of this.o.services) {
      const id = await this.containerId(service);
      if (id && (await this.run('docker', ['inspect', '--format', '{{.State.Running}}', id])).trim() === 'true') {
        out.push(await this.describe(service, id));
      }
    }
    return out;
  }

  /** Builds the client image for this version (cached layers make a rebuild fast). */
  async prepare(version: string): Promise<void> {
    const first = this.o.services[0];
    await this.compose(['build', first], { [versionVar(first)]: version });
  }

  async stop(instance: Instance): Promise<void> {
    await this.compose(['stop', '-t', String(this.o.stopTimeoutS ?? 15), instance.slot]);
  }

  async start(slot: string, version: string, env: Record<string, string> = {}): Promise<Instance> {
    setEnvVar(this.o.envFile, versionVar(slot), version);
    await this.compose(['up', '-d', '--no-deps', '--no-build', '--force-recreate', slot], { ...env, [versionVar(slot)]: version });
    const id = await this.containerId(slot);
    if (!id) throw new Error(`docker compose did not start ${slot}`);
    return this.describe(slot, id);
  }

  /** A plain container of the same image on the project's network, beside the service (surge). */
  async startBeside(slot: string, version: string, env: Record<string, string> = {}, role: BesideRole = 'surge'): Promise<Instance> {
    const id = await this.containerId(slot);
    if (!id) throw new Error(`${slot} is not running`);
    const [network] = (await this.run('docker', ['inspect', '--format', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}', id])).trim().split(' ');
    const image = (await this.run('docker', ['inspect', '--format', '{{.Config.Image}}', id])).trim().replace(/:[^:/]+$/, `:${version}`);
    const base = await this.inspectEnv(id);
    const host = `${slot}-${role}`;
    const name = `${this.o.project}-${host}`;
    // Labelled so that the project's own clean-up can find it.
    const args = ['run', '-d', '--init', '--name', name, '--network', network, '--network-alias', host, '--label', `zdl.project=${this.o.project}`, '--label', `zdl.slot=${slot}`];
    const vars = { PORT: base.PORT ?? '8081', APP_VERSION: version, INSTANCE_NAME: host, ...env };
    for (const [k, v] of Object.entries(vars)) args.push('-e', `${k}=${v}`);
    await this.run('docker', ['rm', '-f', name]).catch(() => undefined);
    await this.run('docker', [...args, image]);
    return { slot, name: `${host}:${vars.PORT}`, url: `http://${host}:${vars.PORT}`, version };
  }

  async removeBeside(instance: Instance): Promise<void> {
    const name = `${this.o.project}-${instance.name.split(':')[0]}`;
    await this.run('docker', ['stop', '-t', String(this.o.stopTimeoutS ?? 15), name]).catch(() => undefined);
    await this.run('docker', ['rm', '-f', name]).catch(() => undefined);
  }

  async slots(): Promise<SlotView[]> {
    const configured = readEnvFile(this.o.envFile);
    const out: SlotView[] = [];
    for (const service of this.o.services) {
      const id = await this.containerId(service);
      const running = id && (await this.run('docker', ['inspect', '--format', '{{.State.Running}}', id])).trim() === 'true' ? await this.describe(service, id) : undefined;
      out.push({ slot: service, version: running?.version ?? configured[versionVar(service)] ?? 'v1', ...(running ? { running } : {}) });
    }
    return out;
  }

  /** Helper containers are found by their label, so one left by a deployer that died is found too. */
  async helpers(): Promise<Instance[]> {
    const ids = (await this.run('docker', ['ps', '-q', '--filter', `label=zdl.project=${this.o.project}`])).trim().split('\n').filter(Boolean);
    const out: Instance[] = [];
    for (const id of ids) {
      const env = await this.inspectEnv(id);
      const host = env.INSTANCE_NAME;
      if (!host) continue;
      const slot = (await this.run('docker', ['inspect', '--format', '{{index .Config.Labels "zdl.slot"}}', id])).trim() || host.replace(/-(surge|green|canary)$/, '');
      const port = env.PORT ?? '8081';
      out.push({ slot, name: `${host}:${port}`, url: `http://${host}:${port}`, version: env.APP_VERSION ?? 'unknown' });
    }
    return out;
  }
}
