import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parseCliArgs, usage } from './cli-options';

describe('loadcheck arguments', () => {
  it('has defaults for everything', () => {
    expect(parseCliArgs([])).toEqual({
      options: { mode: 'http', url: 'http://127.0.0.1:8080/api', rate: 200, durationMs: 10_000, method: 'GET', body: undefined, connections: 64, clients: 10, intervalMs: 100 },
    });
    expect(parseCliArgs(['--mode', 'websocket'])).toMatchObject({ options: { url: 'ws://127.0.0.1:8080/ws' } });
    expect(parseCliArgs(['--mode', 'sse', '--clients', '3'])).toMatchObject({ options: { url: 'http://127.0.0.1:8080/events', clients: 3 } });
  });

  it('--help and -h ask for help; the help lists every option with its default', () => {
    expect(parseCliArgs(['--help'])).toEqual({ help: true });
    expect(parseCliArgs(['-h'])).toEqual({ help: true });
    expect(usage()).toMatch(/--duration TIME .*\(default: 10s\)/);
    expect(usage()).toContain('--json FILE|-');
  });

  it('reports every problem at once; --duration 0 is one', () => {
    expect(parseCliArgs(['--duration', '0', '--rate', 'x', '--bogus', 'extra', '--mode', 'websocket', '--url', 'http://x/ws', '--json'])).toEqual({
      problems: [
        '--bogus: unknown option',
        'unexpected argument "extra"',
        '--json: needs a value (FILE|-)',
        '--url: --mode websocket needs a ws:// URL, got "http://x/ws"',
        '--duration: must be more than 0 (nothing would be sent)',
        '--rate: expected a number from 1 to 100000, got "x"',
      ],
    });
  });

  it('--json - is stdout', () => {
    expect(parseCliArgs(['--json', '-'])).toMatchObject({ options: { json: '-' } });
  });
});

describe('loadcheck command', () => {
  const MAIN = path.join(__dirname, '..', 'dist', 'main.js');
  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [MAIN, ...args], (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    });

  it('the bin starts with a shebang', () => {
    expect(require('node:fs').readFileSync(MAIN, 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
  });

  it('--help prints the help on stdout and exits 0; bad arguments exit 2 with no stack trace', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: npm run loadcheck');
    const bad = await run(['--duration', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--duration: must be more than 0');
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });

  it('--json - writes only JSON to stdout (progress and summary on stderr)', async () => {
    const server = http.createServer((_req, res) => res.end('{"version":"v1","instance":"x"}'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const r = await run(['--url', `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`, '--rate', '50', '--duration', '400ms', '--json', '-']);
      expect(r.code).toBe(0);
      const json = JSON.parse(r.stdout);
      expect(json).toMatchObject({ mode: 'http', ok: true, failed: 0, byVersion: { v1: json.sent } });
      expect(json.sent).toBeGreaterThan(5);
      expect(r.stderr).toContain('succeeded');
    } finally {
      server.close();
    }
  });
});
