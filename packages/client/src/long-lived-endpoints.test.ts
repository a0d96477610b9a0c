import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import WebSocket from 'ws';
import { createClientApp } from './client-app';
import { readClientConfig } from './client-config';
import { GracefulServer } from './graceful-server';
import { LongLivedEndpoints } from './long-lived-endpoints';

async function startClient(env: Record<string, string> = {}) {
  const config = readClientConfig({ PORT: '0', HOST: '127.0.0.1', INSTANCE_NAME: 'll-1', APP_VERSION: 'v3', SHUTDOWN_DRAIN_MS: '0', ...env });
  const server = new GracefulServer(config);
  const longLived = new LongLivedEndpoints({ version: config.version, instance: config.instance, eventsIntervalMs: config.eventsIntervalMs });
  await server.start(createClientApp(config, server, { events: longLived.events }), longLived);
  return { server, longLived };
}

/** Reads an event stream; resolves when it ends, with every event as {id, event, data}. */
function readEvents(port: number, headers: Record<string, string> = {}, onEvent?: (e: SseEvent) => void) {
  const events: SseEvent[] = [];
  const done = new Promise<{ status: number; events: SseEvent[] }>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/events?intervalMs=20', headers, agent: false }, (res) => {
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const e: SseEvent = {};
            for (const line of block.split('\n')) {
              const m = /^(id|event|data): ?(.*)$/.exec(line);
              if (m) e[m[1] as keyof SseEvent] = m[2];
            }
            if (e.data !== undefined) {
              events.push(e);
              onEvent?.(e);
            }
          }
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, events }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
  return done;
}
type SseEvent = { id?: string; event?: string; data?: string };

describe('demo service: /ws and /events', () => {
  it('/ws says hello with version and instance, then echoes; on shutdown it closes with 1001', async () => {
    const { server } = await startClient();
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
    const messages: string[] = [];
    const hello = new Promise<void>((r) => ws.once('message', () => r()));
    ws.on('message', (m) => messages.push(m.toString()));
    await hello;
    ws.send('seq 1');
    await new Promise((r) => ws.once('message', r));
    expect(JSON.parse(messages[0])).toEqual({ type: 'hello', version: 'v3', instance: 'll-1' });
    expect(messages[1]).toBe('seq 1');
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    const result = await server.stop();
    expect(await closed).toBe(1001);
    expect(result).toEqual({ cut: 0, longLivedClosed: 1 });
  });

  it('/events numbers its events, continues after Last-Event-ID, and ends after a final event on shutdown', async () => {
    const { server } = await startClient();
    const got: SseEvent[] = [];
    const stream = readEvents(server.port, { 'last-event-id': '41' }, (e) => got.push(e));
    while (got.length < 3) await new Promise((r) => setTimeout(r, 10));
    const [result, { status, events }] = await Promise.all([server.stop(), stream]);
    expect(status).toBe(200);
    const numbered = events.filter((e) => e.id !== undefined);
    expect(numbered.map((e) => Number(e.id))).toEqual(numbered.map((_, i) => 42 + i));
    expect(JSON.parse(numbered[0].data!)).toEqual({ n: 42, version: 'v3', instance: 'll-1' });
    const last = events[events.length - 1];
    expect(last.event).toBe('close');
    expect(last.id).toBeUndefined();
    expect(result).toEqual({ cut: 0, longLivedClosed: 1 });
  });

  it('refuses upgrades to other paths', async () => {
    const { server } = await startClient();
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api`);
    const status = await new Promise<number>((r) => ws.once('unexpected-response', (_req, res) => r(res.statusCode ?? 0)));
    expect(status).toBe(404);
    await server.stop();
  });

  it('a request cut by SHUTDOWN_TIMEOUT_MS is reported', async () => {
    const { server } = await startClient({ SHUTDOWN_TIMEOUT_MS: '200' });
    const req = new Promise<string>((resolve) => {
      http.get({ host: '127.0.0.1', port: server.port, path: '/api?delayMs=5000', agent: false }, () => resolve('answered')).on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    await new Promise((r) => setTimeout(r, 100));
    const result = await server.stop();
    expect(result.cut).toBe(1);
    expect(await req).toBe('ECONNRESET');
  });
});

describe('demo service process', () => {
  const MAIN = path.join(__dirname, '..', 'dist', 'main.js');
  const run = (env: Record<string, string>) => {
    const child = spawn(process.execPath, [MAIN], { env: { ...process.env, PORT: '0', HOST: '127.0.0.1', SHUTDOWN_DRAIN_MS: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const port = new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c) => {
        out += c;
        const m = /"msg":"listening","port":(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', () => reject(new Error(`exited early: ${out}`)));
    });
    const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    return { child, port, exit };
  };

  it('exits 1 when SIGTERM had to cut a request in flight, 0 when it stopped cleanly', async () => {
    const slow = run({ SHUTDOWN_TIMEOUT_MS: '300' });
    const port = await slow.port;
    http.get({ host: '127.0.0.1', port, path: '/api?delayMs=10000', agent: false }).on('error', () => {});
    await new Promise((r) => setTimeout(r, 200));
    slow.child.kill('SIGTERM');
    expect(await slow.exit).toBe(1);

    const clean = run({});
    await clean.port;
    clean.child.kill('SIGTERM');
    expect(await clean.exit).toBe(0);
  });
});
