import crypto from 'node:crypto';
import path from 'node:path';
import type { BesideRole, Instance, Runtime, SlotView } from './runtime';
import { CLIENT_MAIN, findPidByToken, freePort, INSTANCE_TOKEN_VAR, isAlive, startNodeProcess, stopProcess, waitForPort } from './local-process';
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
    const pid = this.pidOf(proc);
    if (pid) await stopProcess(pid);
  }

  /** The process of a record: its pid, or, if its spawner died before recording it, found by token. */
  private pidOf(p: LocalProc): number | undefined {
    if (p.pid > 0) return isAlive(p.pid) ? p.pid : undefined;
    return p.token ? findPidByToken(p.token) : undefined;
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
    return Object.values(this.state.read().slots).map((p) => {
      const pid = this.pidOf(p);
      if (pid && pid !== p.pid) this.state.update((s) => (s.slots[p.slot] = { ...p, pid }));
      return { slot: p.slot, version: p.version, ...(pid ? { running: this.toInstance(p) } : {}) };
    });
  }

  async helpers(): Promise<Instance[]> {
    const out: Instance[] = [];
    for (const [name, p] of Object.entries(this.state.read().beside)) {
      const pid = this.pidOf(p);
      // A helper whose process is gone is forgotten here; a repair still deregisters it by name.
      if (!pid) this.state.update((x) => delete x.beside[name]);
      else {
        if (pid !== p.pid) this.state.update((x) => (x.beside[name] = { ...p, pid }));
        out.push(this.toInstance(p));
      }
    }
    return out;
  }

  async removeBeside(instance: Instance): Promise<void> {
    const proc = this.state.read().beside[instance.name];
    if (!proc) return;
    const pid = this.pidOf(proc);
    if (pid) await stopProcess(pid);
    this.state.update((s) => delete s.beside[instance.name]);
  }

  /**
   * `record` runs right after the spawn, before any await: a deployer killed while the instance
   * boots leaves it in the state file, never as an orphan nobody knows.
   */
  private async spawn(slot: string, port: number, version: string, instanceName: string, env: Record<string, string>, record: (p: LocalProc) => void): Promise<LocalProc> {
    const s = this.state.read();
    const log = path.join(this.state.dir, 'logs', `${instanceName}.log`);
    // The intent first (a SIGKILL can land inside the spawn): whoever reads the state next finds
    // the process by its token even if its pid was never recorded.
    const token = crypto.randomBytes(9).toString('base64url');
    record({ pid: 0, token, port, version, slot });
    const pid = startNodeProcess(
      CLIENT_MAIN,
      { ...s.clientEnv, ...env, PORT: String(port), HOST: '127.0.0.1', APP_VERSION: version, INSTANCE_NAME: instanceName, [INSTANCE_TOKEN_VAR]: token },
      log,
    );
    const proc = { pid, token, port, version, slot };
    record(proc);
    await waitForPort(port, pid, 10_000, log);
    return proc;
  }
}
