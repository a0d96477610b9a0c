import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { findPidByToken, freePort, isAlive, LB_MAIN, startNodeProcess, stopProcess, waitForPort } from './runtime/local-process';
import { LocalRuntime } from './runtime/local-runtime';
import { type LocalLabState, type LocalProc, LocalStateFile } from './runtime/local-state';

/** A record's process, also one whose spawner died before recording its pid. */
const pidOf = (p: LocalProc): number => p.pid || (p.token ? findPidByToken(p.token) ?? 0 : 0);

export interface LocalLabOptions {
  /** Where the state file and logs go. */
  dir: string;
  instances?: number;
  version?: string;
  /** 0 picks free ports (tests, demo); the lab command uses 8080/8090 and 8081.. */
  lbPort?: number;
  adminPort?: number;
  firstClientPort?: number;
  clientEnv?: Record<string, string>;
  /** YAML config for the balancer (health-check settings); upstreams come from the lab. */
  lbConfigFile?: string;
  /** Extra environment for the balancer (e.g. LB_WORKERS). */
  lbEnv?: Record<string, string>;
}

/**
 * The whole lab as local processes: the balancer and N demo instances on loopback. start() writes a
 * state file that LocalRuntime (and a deploy from another terminal) reads; stop() ends them all.
 */
export class LocalLab {
  readonly stateFile: LocalStateFile;

  constructor(private readonly options: LocalLabOptions) {
    this.stateFile = new LocalStateFile(path.join(options.dir, 'state.json'));
  }

  get state(): LocalLabState {
    return this.stateFile.read();
  }

  get lbUrl(): string {
    return `http://127.0.0.1:${this.state.lb.port}`;
  }

  get adminUrl(): string {
    return `http://127.0.0.1:${this.state.lb.adminPort}`;
  }

  runtime(): LocalRuntime {
    return new LocalRuntime(this.stateFile);
  }

  async start(): Promise<void> {
    const o = this.options;
    if (this.stateFile.exists() && isAlive(this.stateFile.read().lb.pid)) {
      throw new Error(`a local lab is already running (state in ${this.stateFile.file}); stop it first`);
    }
    fs.mkdirSync(o.dir, { recursive: true });
    const n = o.instances ?? 2;
    const pick = async (p: number | undefined, i = 0) => (p ? p + i : freePort());
    const lbPort = await pick(o.lbPort);
    const adminPort = await pick(o.adminPort);
    const state: LocalLabState = {
      lb: { pid: 0, port: lbPort, adminPort },
      adminToken: crypto.randomBytes(18).toString('base64url'),
      clientEnv: o.clientEnv ?? {},
      slots: {},
      beside: {},
    };
    for (let i = 0; i < n; i++) {
      const port = await pick(o.firstClientPort, i);
      state.slots[`client-${i + 1}`] = { pid: 0, port, version: o.version ?? 'v1', slot: `client-${i + 1}` };
    }
    this.stateFile.write(state);
    const rt = this.runtime();
    for (const slot of Object.keys(state.slots)) await rt.start(slot, o.version ?? 'v1');
    const log = path.join(o.dir, 'logs', 'lb.log');
    const pid = startNodeProcess(
      LB_MAIN,
      {
        LB_HOST: '127.0.0.1',
        LB_PORT: String(lbPort),
        LB_ADMIN_HOST: '127.0.0.1',
        LB_ADMIN_PORT: String(adminPort),
        LB_ADMIN_TOKEN: state.adminToken,
        LB_UPSTREAMS: Object.values(state.slots).map((s) => `http://127.0.0.1:${s.port}`).join(','),
        LB_CONFIG: o.lbConfigFile ?? '',
        ...o.lbEnv,
      },
      log,
    );
    this.stateFile.update((s) => (s.lb.pid = pid));
    await waitForPort(lbPort, pid, 10_000, log);
    await waitForPort(adminPort, pid, 10_000, log);
  }

  /**
   * Last resort when this process is exiting and cannot wait (an uncaught error, a closed stdout):
   * SIGTERM every process of the lab, synchronously, so none is left running.
   */
  killAllSync(): void {
    if (!this.stateFile.exists()) return;
    const s = this.stateFile.read();
    for (const p of [...Object.values(s.slots), ...Object.values(s.beside), s.lb]) {
      try {
        const pid = 'slot' in p ? pidOf(p) : p.pid;
        if (pid > 0) process.kill(pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
    this.stateFile.remove();
  }

  /** Ends every process of the lab (idempotent). */
  async stop(): Promise<void> {
    if (!this.stateFile.exists()) return;
    const s = this.stateFile.read();
    await Promise.all([...Object.values(s.slots), ...Object.values(s.beside)].map((p) => stopProcess(pidOf(p))));
    await stopProcess(s.lb.pid);
    this.stateFile.remove();
  }
}
