import path from 'node:path';
import type { BesideRole, Instance, Runtime, SlotView } from './runtime';
import { CLIENT_MAIN, freePort, isAlive, startNodeProcess, stopProcess, waitForPort } from './local-process';
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
    const proc = await this.spawn(slot, port, version, slot, env, (p) => this.state.update((s) => (s.slots[slot] = p)));
    return this.toInstance(proc);
  }

  async startBeside(slot: string, version: string, env: Record<string, string> = {}, role: BesideRole = 'surge'): Promise<Instance> {
    const port = await freePort();
    const proc = await this.spawn(slot, port, version, `${slot}-${role}`, env, (p) => this.state.update((s) => (s.beside[nameOf(port)] = p)));
    return this.toInstance(proc);
  }

  async slots(): Promise<SlotView[]> {
    return Object.values(this.state.read().slots).map((p) => ({
      slot: p.slot,
      version: p.version,
      ...(p.pid && isAlive(p.pid) ? { running: this.toInstance(p) } : {}),
    }));
  }

  async helpers(): Promise<Instance[]> {
    const s = this.state.read();
    // A helper whose process is gone is forgotten here; a repair still deregisters it by name.
    for (const [name, p] of Object.entries(s.beside)) if (!isAlive(p.pid)) this.state.update((x) => delete x.beside[name]);
    return Object.values(s.beside).filter((p) => isAlive(p.pid)).map((p) => this.toInstance(p));
  }

  async removeBeside(instance: Instance): Promise<void> {
    const proc = this.state.read().beside[instance.name];
    if (!proc) return;
    await stopProcess(proc.pid);
    this.state.update((s) => delete s.beside[instance.name]);
  }

  /**
   * `record` runs right after the spawn, before any await: a deployer killed while the instance
   * boots leaves it in the state file, never as an orphan nobody knows.
   */
  private async spawn(slot: string, port: number, version: string, instanceName: string, env: Record<string, string>, record: (p: LocalProc) => void): Promise<LocalProc> {
    const s = this.state.read();
    const log = path.join(this.state.dir, 'logs', `${instanceName}.log`);
    const pid = startNodeProcess(
      CLIENT_MAIN,
      { ...s.clientEnv, ...env, PORT: String(port), HOST: '127.0.0.1', APP_VERSION: version, INSTANCE_NAME: instanceName },
      log,
    );
    const proc = { pid, port, version, slot };
    record(proc);
    await waitForPort(port, pid, 10_000, log);
    return proc;
  }
}
