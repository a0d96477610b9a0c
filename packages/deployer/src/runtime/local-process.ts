import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** Built entry points of the sibling packages (works from src/ under ts-jest and from dist/). */
export const CLIENT_MAIN = path.resolve(__dirname, '../../../client/dist/main.js');
export const LB_MAIN = path.resolve(__dirname, '../../../lb/dist/main.js');

/** Starts a detached node process with its output in `logFile`; it outlives the caller unless stopped. */
export function startNodeProcess(main: string, env: Record<string, string>, logFile: string): number {
  if (!fs.existsSync(main)) throw new Error(`${main} is missing: run "npm run build" first`);
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const out = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, [main], { env: { ...process.env, ...env }, stdio: ['ignore', out, out], detached: true });
  fs.closeSync(out);
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${main}`);
  return child.pid;
}

export function isAlive(pid: number): boolean {
  // 0 and negative pids address process groups (our own, for 0): never "a process".
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** SIGTERM, then wait for the process to exit by itself (its graceful shutdown); SIGKILL after `graceMs`. */
export async function stopProcess(pid: number, graceMs = 15_000): Promise<'exited' | 'killed' | 'gone'> {
  if (!isAlive(pid)) return 'gone';
  process.kill(pid, 'SIGTERM');
  const began = Date.now();
  while (isAlive(pid)) {
    if (Date.now() - began > graceMs) {
      process.kill(pid, 'SIGKILL');
      return 'killed';
    }
    await sleep(20);
  }
  return 'exited';
}

/** Environment variable that marks an instance with the token recorded before it was spawned. */
export const INSTANCE_TOKEN_VAR = 'ZDL_INSTANCE_TOKEN';

/**
 * The process started with `token` (Linux: read from /proc), for an instance whose spawner died
 * before it could record the pid. Undefined when there is none (or no /proc).
 */
export function findPidByToken(token: string): number | undefined {
  const needle = `${INSTANCE_TOKEN_VAR}=${token}`;
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const d of entries) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/environ`, 'latin1').split('\0').includes(needle)) return Number(d);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return undefined;
}

/** Resolves once something accepts connections on the port; rejects if `pid` dies or time runs out. */
export async function waitForPort(port: number, pid: number, timeoutMs: number, logFile: string): Promise<void> {
  const began = Date.now();
  for (;;) {
    if (await canConnect(port)) return;
    if (!isAlive(pid)) throw new Error(`process ${pid} exited before listening on ${port} (see ${logFile})`);
    if (Date.now() - began > timeoutMs) throw new Error(`nothing listening on ${port} after ${timeoutMs} ms (see ${logFile})`);
    await sleep(20);
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** A port the OS says is free right now. */
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
