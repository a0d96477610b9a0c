import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

/** The built CLI (npm test builds first). */
export const DEPLOYER_MAIN = path.resolve(__dirname, '../../dist/main.js');

export interface KillPoint {
  /** The step whose "started" line triggers the signal (drain, stop, start, health, switch, canary-step...). */
  step: string;
  /** Which occurrence of that step (1 = the first). */
  nth?: number;
  signal: 'SIGINT' | 'SIGKILL' | 'SIGTERM';
  /** Send the signal again once the deployer says it is stopping (a second Ctrl-C during the repair). */
  again?: boolean;
}

export interface DeployerRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  /** Whether the kill point was reached (the signal was sent). */
  killed: boolean;
  /** Whether a second signal was sent before the deployer had printed its last line. */
  againSent: boolean;
}

const STARTED = /^\[\s*[\d.]+s\] (\S+)\s+(\S+)\s+started/;

/**
 * Runs the deployer CLI as a real process; with a kill point, sends the signal as soon as the
 * deployer itself reports that step as started (its progress line), not after a guessed delay.
 */
export function runDeployer(args: string[], kill?: KillPoint, timeoutMs = 120_000): Promise<DeployerRun> {
  if (!fs.existsSync(DEPLOYER_MAIN)) throw new Error(`${DEPLOYER_MAIN} is missing: run "npm run build" first`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DEPLOYER_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let seen = 0;
    let killed = false;
    let againSent = false;
    let ended = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`deployer did not end within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onLine = (line: string) => {
      output += line + '\n';
      if (/^(deploy|recover): .*\(exit \d+\)$/.test(line)) ended = true;
      // The second Ctrl-C lands while the first one's repair runs (it acknowledged the first).
      if (kill?.again && killed && !againSent && !ended && /: stopping at the next safe point/.test(line) && child.exitCode === null) {
        againSent = true;
        child.kill(kill.signal);
      }
      const m = STARTED.exec(line);
      if (!kill || killed || !m || m[2] !== kill.step) return;
      if (++seen < (kill.nth ?? 1)) return;
      killed = true;
      child.kill(kill.signal);
    };
    readline.createInterface({ input: child.stdout }).on('line', onLine);
    readline.createInterface({ input: child.stderr }).on('line', (l) => (output += `stderr: ${l}\n`));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // Let the last lines arrive.
      setImmediate(() => resolve({ code, signal, output, killed, againSent }));
    });
  });
}

/** Live processes whose environment carries `marker` (every instance a lab started carries its id). */
export function processesWithMarker(marker: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/environ`, 'latin1').split('\0').includes(marker)) out.push(Number(d));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}
