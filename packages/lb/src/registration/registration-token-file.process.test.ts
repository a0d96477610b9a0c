import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// The built entry point (npm test builds first).
const MAIN = path.resolve(__dirname, '../../dist/main.js');

function startLb(configFile: string) {
  const child = spawn(process.execPath, [MAIN, '--config', configFile], {
    env: { PATH: process.env.PATH ?? '', LB_PORT: '0', LB_ADMIN_PORT: '0', LB_ADMIN_TOKEN: 'admin-token-x', LB_UPSTREAMS: 'http://127.0.0.1:1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const listening = new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('"msg":"listening"'));
      if (line) resolve(Number(String(JSON.parse(line).admin).split(':').pop()));
    });
    child.stderr.on('data', (d) => (out += d));
    void exited.then((c) => reject(new Error(`lb exited ${c}: ${out}`)));
  });
  listening.catch(() => {});
  return { child, exited, listening, output: () => out };
}

describe('lb: registration token from admin.registrationTokenFile', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lb-reg-token-'));

  it('reads the token from the file: it registers, and gets 403 on the admin routes', async () => {
    fs.writeFileSync(path.join(dir, 'reg-token'), 'file-reg-token\n', { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'lb.yaml'), `admin:\n  registrationTokenFile: ${path.join(dir, 'reg-token')}\n`);
    const lb = startLb(path.join(dir, 'lb.yaml'));
    try {
      const adminPort = await lb.listening;
      const auth = { authorization: 'Bearer file-reg-token' };
      const reg = await fetch(`http://127.0.0.1:${adminPort}/registrations`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ url: 'http://127.0.0.1:2' }) });
      expect(reg.status).toBe(201);
      expect((await fetch(`http://127.0.0.1:${adminPort}/upstreams`, { headers: auth })).status).toBe(403);
      expect(lb.output()).not.toContain('file-reg-token');
    } finally {
      lb.child.kill('SIGTERM');
      await lb.exited;
    }
  });

  it('a missing file stops the balancer with exit code 2 naming the key and the file', async () => {
    fs.writeFileSync(path.join(dir, 'lb2.yaml'), `admin:\n  registrationTokenFile: ${path.join(dir, 'nope')}\n`);
    const lb = startLb(path.join(dir, 'lb2.yaml'));
    expect(await lb.exited).toBe(2);
    expect(lb.output()).toContain(`lb: admin.registrationTokenFile: cannot read ${path.join(dir, 'nope')}: ENOENT`);
  });
});
