import { spawn } from 'node:child_process';

/** Runs a command and returns its stdout; rejects with stderr in the message. Injected for tests. */
export type CommandRunner = (cmd: string, args: string[], opts?: { env?: Record<string, string>; cwd?: string }) => Promise<string>;

const MAX_OUTPUT = 64 * 1024 * 1024;

export const execRunner: CommandRunner = (cmd, args, opts = {}) =>
  new Promise((resolve, reject) => {
    // detached: its own process group, so a Ctrl-C in the terminal reaches only the deployer, which
    // lets the docker command in progress finish (the step's safe point) instead of cutting it short.
    const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    const collect = (into: Buffer[]) => (b: Buffer) => {
      size += b.length;
      if (size <= MAX_OUTPUT) into.push(b);
    };
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    child.on('error', (e) => reject(new Error(`${cmd} ${args.join(' ')} failed: ${e.message}`, { cause: e })));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve(Buffer.concat(out).toString());
      const tail = Buffer.concat(err).toString().trim().split('\n').slice(-5).join('\n');
      reject(new Error(`${cmd} ${args.join(' ')} failed: ${tail || `exit ${code ?? signal}`}`));
    });
  });
