import { type ChildProcess, fork, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** Every process and cleanup the bench started, undone in reverse order on exit, error or Ctrl-C. */
const cleanups: { name: string; fn: () => Promise<void> | void }[] = [];
const children = new Set<ChildProcess>();

export function onCleanup(name: string, fn: () => Promise<void> | void): void {
  cleanups.push({ name, fn });
}

let cleaning: Promise<void> | undefined;

/** Runs the cleanups; a second caller (a signal during an error's cleanup) waits for the same run. */
export function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const c = cleanups.pop()!;
      try {
        await c.fn();
      } catch (err) {
        process.stderr.write(`cleanup ${c.name}: ${(err as Error).message}\n`);
      }
    }
  })().finally(() => (cleaning = undefined));
  return cleaning;
}

/** Last resort on a synchronous exit: SIGKILL whatever child is still running. */
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

export interface Proc {
  name: string;
  child: ChildProcess;
  pid: number;
  log: string;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
  stop(graceMs?: number): Promise<void>;
}

/** Starts a long-running process with its output in `log`; stop() sends SIGTERM, then SIGKILL after graceMs. */
export function startProc(name: string, cmd: string, args: string[], opts: { env?: Record<string, string>; log: string; cwd?: string }): Proc {
  fs.mkdirSync(path.dirname(opts.log), { recursive: true });
  const out = fs.openSync(opts.log, 'a');
  const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: ['ignore', out, out], cwd: opts.cwd });
  fs.closeSync(out);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${cmd})`);
  children.add(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => (children.delete(child), resolve(code))));
  const proc: Proc = {
    name,
    child,
    pid: child.pid,
    log: opts.log,
    exited,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
  onCleanup(name, () => proc.stop());
  return proc;
}

/** Forks a node script and resolves with the IPC message that carries `ok` ({ok, result|error}); every message also goes to onMessage. The child should exit on 'disconnect'. */
export function forkForResult<T>(script: string, args: string[], timeoutMs: number, onMessage?: (m: unknown) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = fork(script, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
    children.add(child);
    let settled = false;
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      settle(() => reject(new Error(`${path.basename(script)} took longer than ${timeoutMs} ms`)));
    }, timeoutMs);
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(t);
      f();
    };
    child.on('message', (m: { ok?: boolean; result?: T; error?: string }) => {
      // Called for the final message too, while the child is still alive (meters read here see its CPU).
      onMessage?.(m);
      if (m.ok === undefined) return;
      settle(() => (m.ok ? resolve(m.result as T) : reject(new Error(m.error))));
      if (child.connected) child.disconnect();
    });
    child.once('exit', (code) => {
      children.delete(child);
      settle(() => reject(new Error(`${path.basename(script)} exited with ${code} before answering`)));
    });
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port: number, proc: Proc, timeoutMs = 10_000): Promise<void> {
  const began = Date.now();
  for (;;) {
    if (await canConnect(port)) return;
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) throw new Error(`${proc.name} exited before listening on ${port}:\n${tail(proc.log)}`);
    if (Date.now() - began > timeoutMs) throw new Error(`${proc.name}: nothing listening on ${port} after ${timeoutMs} ms:\n${tail(proc.log)}`);
    await sleep(25);
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

export function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function which(bin: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  const p = r.stdout.trim();
  if (p) return p;
  for (const dir of ['/usr/sbin', '/sbin', '/usr/local/sbin']) if (fs.existsSync(path.join(dir, bin))) return path.join(dir, bin);
  return undefined;
}

// ---- /proc readings (Linux) ----

const CLK_TCK = 100;

/** The pid and all its descendants. */
export function processTree(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parentOf.set(Number(d), Number(after[1]));
    } catch {
      /* gone */
    }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const [pid, ppid] of parentOf) if (ppid === out[i]) out.push(pid);
  return out;
}

/**
 * User+system CPU seconds used so far by these processes. With `reapedChildren`, also the CPU of
 * their children that have exited and been waited for (cutime+cstime): a short-lived child such as
 * wrk, which is gone before anyone reads its own /proc entry, is still accounted to its parent.
 */
export function cpuSeconds(pids: number[], opts: { reapedChildren?: boolean } = {}): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
      if (opts.reapedChildren) ticks += Number(f[13]) + Number(f[14]);
    } catch {
      /* gone */
    }
  }
  return ticks / CLK_TCK;
}

/** Resident set size in MiB (sum over the pids). */
export function rssMiB(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      /* gone */
    }
  }
  return kb / 1024;
}

/** CPU used by a process tree between mark() and read(): percent of one core. */
export class CpuMeter {
  private pids: number[] = [];
  private c0 = 0;
  private t0 = 0;
  constructor(private readonly root: number | undefined) {}
  mark(): void {
    if (this.root === undefined) return;
    this.pids = processTree(this.root);
    this.c0 = cpuSeconds(this.pids);
    this.t0 = performance.now();
  }
  read(): number {
    if (this.root === undefined || this.t0 === 0) return NaN;
    return ((cpuSeconds(this.pids) - this.c0) / ((performance.now() - this.t0) / 1000)) * 100;
  }
}
