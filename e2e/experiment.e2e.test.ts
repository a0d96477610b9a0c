import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './support/compose-lab';

jest.setTimeout(900_000);

interface RowView {
  id: string;
  total: { sent: number; failed: number; byCause: Record<string, number> };
  runs: { deploy: { ok: boolean; error?: string } }[];
  explanation: string;
}

/** Runs the real experiment CLI on the compose runtime (its own compose projects, free loopback ports). */
function experiment(...args: string[]): Promise<{ code: number; output: string }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'packages/deployer/dist/experiment/experiment-main.js'), ...args], {
    cwd: ROOT,
    env: { ...process.env, NODE_IMAGE: process.env.NODE_IMAGE ?? '' },
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, output })));
}

describe('npm run experiment -- --runtime compose (real containers)', () => {
  it('the naive `docker compose up -d --force-recreate` fails requests; our rolling deploy under the same load fails none', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zdl-exp-e2e-'));
    const json = path.join(dir, 'result.json');
    const r = await experiment('--runtime', 'compose', '--rows', 'naive,all-on', '--no-docs', '--out', dir, '--json', json);
    console.log(r.output);
    expect(r.code).toBe(0);
    const rows = (JSON.parse(fs.readFileSync(json, 'utf8')) as { rows: RowView[] }).rows;
    const naive = rows.find((x) => x.id === 'naive')!;
    const ours = rows.find((x) => x.id === 'all-on')!;
    expect(naive.total.sent).toBeGreaterThan(1000);
    expect(naive.total.failed).toBeGreaterThan(0);
    expect(ours.runs[0].deploy).toMatchObject({ ok: true });
    expect(ours.total.sent).toBeGreaterThan(1000);
    expect(ours.total.byCause).toEqual({});
    expect(ours.total.failed).toBe(0);
    // Nothing of the experiment's compose projects is left running.
    const { output } = await new Promise<{ output: string }>((resolve) => {
      const ps = spawn('docker', ['ps', '-aq', '--filter', 'name=zdl-exp-']);
      let out = '';
      ps.stdout.on('data', (d) => (out += d));
      ps.on('close', () => resolve({ output: out }));
    });
    expect(output.trim()).toBe('');
  });
});
