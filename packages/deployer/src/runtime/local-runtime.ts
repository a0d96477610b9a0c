import path from 'node:path';
import type { BesideRole, Instance, Runtime } from './runtime';
import { CLIENT_MAIN, freePort, startNodeProcess, stopProcess, waitForPort } from './local-process';
import type { LocalProc, LocalStateFile } from './local-state';

const nameOf = (port: number) => `127.0.0.1:${port}`;

/**
 * Instances as local child processes on loopback ports (needs no Docker). Each slot keeps its port
 * across versions, so its upstream name in the balancer stays the same.
 */
export class LocalRuntime implements Runtime {
  readonly kind = 'local';

  constructor(private readonly state: LocalStateFile) {}

  private toInstance(p: LocalProc): Instance {
    return { slot: p.slot, name: nameOf(p.port), url: `http://${nameOf(p.port)}`, version: p.version };
  }

  async list(): Promise<Instance[]> {
    return Object.values(this.state.read().slots).map((p) => this.toInstance(p));
  }

  async prepare(): Promise<void> {
    // Nothing to build: the client is already compiled (npm run build).
  }

  async stop(instance: Instance): Promise<void> {
    const s = this.state.read();
    const proc = s.slots[instance.slot];
    if (!proc || nameOf(proc.port) !== instance.name) return;
    await stopProcess(proc.pid);
  }

  async start(slot: string, version: string, env: Record<string, string> = {}): Promise<Instance> {
    const port = this.state.read().slots[slot]?.port;
    if (port === undefined) throw new Error(`unknown slot ${slot}`);
    const proc = await this.spawn(slot, port, version, slot, env);
    this.state.update((s) => (s.slots[slot] = proc));
    return this.toInstance(proc);
  }

  async startBeside(slot: string, version: string, env: Record<string, string> = {}, role: BesideRole = 'surge'): Promise<Instance> {
    const port = await freePort();
    const proc = await this.spawn(slot, port, version, `${slot}-${role}`, env);
    this.state.update((s) => (s.beside[nameOf(port)] = proc));
    return this.toInstance(proc);
  }

  async removeBeside(instance: Instance): Promise<void> {
    const proc = this.state.read().beside[instance.name];
    if (!proc) return;
    await stopProcess(proc.pid);
    this.state.update((s) => delete s.beside[instance.name]);
  }

  private async spawn(slot: string, port: number, version: string, instanceName: string, env: Record<string, string>): Promise<LocalProc> {
    const s = this.state.read();
    const log = path.join(this.state.dir, 'logs', `${instanceName}.log`);
    const pid = startNodeProcess(
      CLIENT_MAIN,
      { ...s.clientEnv, ...env, PORT: String(port), HOST: '127.0.0.1', APP_VERSION: version, INSTANCE_NAME: instanceName },
      log,
    );
    await waitForPort(port, pid, 10_000, log);
    return { pid, port, version, slot };
  }
}
