import { spawn } from 'node:child_process';
import path from 'node:path';
import { LabSwitchError, parseLabSwitches } from './lab-switches';

describe('lab switches (LB_LAB_DISABLE)', () => {
  it('is empty by default: every mechanism on', () => {
    expect(parseLabSwitches(undefined).size).toBe(0);
    expect(parseLabSwitches('').size).toBe(0);
  });

  it('reads a comma-separated list', () => {
    expect([...parseLabSwitches(' retry, health-gate ')].sort()).toEqual(['health-gate', 'retry']);
  });

  it('rejects an unknown name, naming it and the known ones', () => {
    expect(() => parseLabSwitches('retry,drain')).toThrow(LabSwitchError);
    expect(() => parseLabSwitches('retry,drain')).toThrow('LB_LAB_DISABLE: unknown lab switch "drain" (known: retry, health-gate)');
  });
});

describe('the balancer with LB_LAB_DISABLE (built entry point, as a user runs it)', () => {
  const MAIN = path.resolve(__dirname, '../dist/main.js');
  /** Starts the balancer; resolves once it printed `until` (then stops it) or exited by itself. */
  const run = (value: string, until?: string) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [MAIN], {
        env: { ...process.env, LB_CONFIG: '', LB_HOST: '127.0.0.1', LB_PORT: '0', LB_ADMIN_PORT: '0', LB_UPSTREAMS: 'http://127.0.0.1:9', LB_LAB_DISABLE: value },
      });
      let stdout = '';
      let stderr = '';
      const check = () => {
        if (until && stdout.includes(until)) child.kill('SIGTERM');
      };
      child.stdout.on('data', (d) => ((stdout += d), check()));
      child.stderr.on('data', (d) => (stderr += d));
      const cap = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.on('close', (status) => {
        clearTimeout(cap);
        resolve({ status, stdout, stderr });
      });
    });

  it('refuses an unknown switch with exit code 2, naming it', async () => {
    const r = await run('retry,bogus');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('LB_LAB_DISABLE: unknown lab switch "bogus"');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('warns loudly at start when a mechanism is switched off', async () => {
    const r = await run('retry,health-gate', '"msg":"listening"');
    expect(r.stderr).toContain('WARNING: lab switch LB_LAB_DISABLE=retry,health-gate');
    expect(r.stdout).toContain('"msg":"LAB SWITCH: retry, health-gate switched OFF');
  });
});
