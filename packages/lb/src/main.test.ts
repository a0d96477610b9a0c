import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Runs the built entry point (npm test builds first), as a user would.
const MAIN = path.resolve(__dirname, '../dist/main.js');

function runLb(args: string[]) {
  return spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 10_000, env: { ...process.env, LB_CONFIG: '' } });
}

describe('lb command line', () => {
  it('exits 2 with one message listing every config problem, and no stack trace', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lb-')), 'bad.yaml');
    fs.writeFileSync(file, 'listen: {port: x}\nupstreams: [ftp://a]\nhealthCheck: {timeoutMs: 2000}\n');
    const r = runLb(['--config', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('listen.port: expected an integer');
    expect(r.stderr).toContain('upstreams[0].url: "ftp://a": only http:// upstreams are supported');
    expect(r.stderr).toContain('healthCheck.timeoutMs: must be less than healthCheck.intervalMs');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('names a missing config file', () => {
    const r = runLb(['--config', '/nonexistent/lb.yaml']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('/nonexistent/lb.yaml: file not found');
  });

  it('rejects an unknown argument', () => {
    const r = runLb(['--bogus']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown argument "--bogus"');
  });
});
