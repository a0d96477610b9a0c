import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

// The built entry point (npm test builds first), as compose runs it: no LB_ADMIN_TOKEN, a token file.
const MAIN = path.resolve(__dirname, '../dist/main.js');

function startLb(env: Record<string, string>): { child: ChildProcess; output: () => string; listening: Promise<{ adminPort: number }> } {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', LB_PORT: '0', LB_ADMIN_PORT: '0', LB_UPSTREAMS: 'http://127.0.0.1:1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const listening = new Promise<{ adminPort: number }>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('"msg":"listening"'));
      if (line) resolve({ adminPort: Number(String(JSON.parse(line).admin).split(':').pop()) });
    });
    child.stderr!.on('data', (d) => (out += d));
    child.on('exit', (code) => reject(new Error(`lb exited ${code}: ${out}`)));
  });
  return { child, output: () => out, listening };
}

function adminGet(port: number, token?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/upstreams', headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', reject);
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

describe('lb: admin token from a file (LB_ADMIN_TOKEN_FILE)', () => {
  it('generates the token at first start (0600, never logged), uses it, keeps it across restarts', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lb-main-token-')), 'admin-token');
    // Non-loopback admin address: allowed because a token file is configured.
    const first = startLb({ LB_ADMIN_TOKEN_FILE: file, LB_ADMIN_HOST: '0.0.0.0' });
    try {
      const { adminPort } = await first.listening;
      const token = fs.readFileSync(file, 'utf8').trim();
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(await adminGet(adminPort)).toBe(401);
      expect(await adminGet(adminPort, 'wrong')).toBe(401);
      expect(await adminGet(adminPort, token)).toBe(200);
      expect(first.output()).toContain('admin token generated');
      expect(first.output()).not.toContain(token);
    } finally {
      await stop(first.child);
    }
    const token = fs.readFileSync(file, 'utf8').trim();
    const second = startLb({ LB_ADMIN_TOKEN_FILE: file });
    try {
      const { adminPort } = await second.listening;
      expect(fs.readFileSync(file, 'utf8').trim()).toBe(token);
      expect(await adminGet(adminPort, token)).toBe(200);
      expect(second.output()).toContain('admin token read');
    } finally {
      await stop(second.child);
    }
  });

  it('LB_ADMIN_TOKEN wins over the file, which is then not created', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lb-main-token-')), 'admin-token');
    const lb = startLb({ LB_ADMIN_TOKEN_FILE: file, LB_ADMIN_TOKEN: 'from-env' });
    try {
      const { adminPort } = await lb.listening;
      expect(await adminGet(adminPort, 'from-env')).toBe(200);
      expect(fs.existsSync(file)).toBe(false);
    } finally {
      await stop(lb.child);
    }
  });

  it('an unusable token file stops it with exit code 2 and a message naming the file', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lb-main-token-')), 'no-such-folder', 'admin-token');
    const r = spawnSync(process.execPath, [MAIN], {
      encoding: 'utf8',
      timeout: 10_000,
      env: { PATH: process.env.PATH ?? '', LB_PORT: '0', LB_ADMIN_PORT: '0', LB_ADMIN_TOKEN_FILE: file },
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`lb: admin token file ${file}: cannot create it in ${path.dirname(file)} (ENOENT)`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
