import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

// Every "bin" declared by any workspace (zdl-deploy, zdl-loadcheck, ...) must run as a command of its
// own, the way npm links it into node_modules/.bin: executed directly, not through `node file`.
// npm test builds first (tsc, then scripts/chmod-bins.js sets the executable bit).
const ROOT = path.resolve(__dirname, '../../../..');

function declaredBins(): [string, string][] {
  const out: [string, string][] = [];
  for (const pkg of fs.readdirSync(path.join(ROOT, 'packages'))) {
    const manifest = path.join(ROOT, 'packages', pkg, 'package.json');
    if (!fs.existsSync(manifest)) continue;
    const { name, bin } = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name: string; bin?: string | Record<string, string> };
    const bins = typeof bin === 'string' ? { [name]: bin } : (bin ?? {});
    for (const [cmd, rel] of Object.entries(bins)) out.push([cmd, path.join(ROOT, 'packages', pkg, rel)]);
  }
  return out;
}

describe('declared bins', () => {
  const bins = declaredBins();

  it('the workspaces declare the commands the README names', () => {
    expect(bins.map(([cmd]) => cmd)).toEqual(expect.arrayContaining(['zdl-deploy', 'zdl-loadcheck']));
  });

  it.each(bins)('%s starts with a node shebang and is executable', (_cmd, file) => {
    expect(fs.readFileSync(file, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    expect(fs.statSync(file).mode & 0o111).toBe(0o111);
  });

  it.each(bins)('%s --help, run directly, is answered by its own CLI with its usage', (_cmd, file) => {
    // No interpreter in front: the kernel reads the shebang, as when a user types the command.
    const r = spawnSync(file, ['--help'], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, LB_ADMIN_TOKEN: '' } });
    expect(r.error).toBeUndefined();
    expect(r.signal).toBeNull();
    const output = r.stdout + r.stderr;
    // What a shell says when it is handed JavaScript ("line 1: use strict: command not found").
    expect(output).not.toMatch(/command not found|syntax error|Exec format error/);
    expect(output).toMatch(/usage:/);
    expect([0, 2]).toContain(r.status);
  });
});
