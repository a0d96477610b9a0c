import { execFile } from 'node:child_process';

/** Runs a command and returns its stdout; rejects with stderr in the message. Injected for tests. */
export type CommandRunner = (cmd: string, args: string[], opts?: { env?: Record<string, string>; cwd?: string }) => Promise<string>;

export const execRunner: CommandRunner = (cmd, args, opts = {}) =>
  new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const tail = String(stderr).trim().split('\n').slice(-5).join('\n');
        reject(new Error(`${cmd} ${args.join(' ')} failed: ${tail || err.message}`, { cause: err }));
      } else resolve(String(stdout));
    });
  });
