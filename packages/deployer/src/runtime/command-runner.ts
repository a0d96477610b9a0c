import { execFile } from 'node:child_process';

/** Runs a command and returns its stdout; rejects with stderr in the message. Injected for tests. */
export type CommandRunner = (cmd: string, args: string[], opts?: { env?: Record<string, string>; cwd?: string }) => Promise<string>;

export const execRunner: CommandRunner = (cmd, args, opts = {}) =>
  new Promise((resolve, reject) => {
    // detached: its own process group, so a Ctrl-C in the terminal reaches only the deployer, which
    // lets the docker command in progress finish (the step's safe point) instead of cutting it short.
    execFile(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, maxBuffer: 64 * 1024 * 1024, detached: true }, (err, stdout, stderr) => {
      if (err) {
        const tail = String(stderr).trim().split('\n').slice(-5).join('\n');
        reject(new Error(`${cmd} ${args.join(' ')} failed: ${tail || err.message}`, { cause: err }));
      } else resolve(String(stdout));
    });
  });
