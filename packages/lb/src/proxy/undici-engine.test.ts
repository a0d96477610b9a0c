import http from 'node:http';
import type net from 'node:net';
import { validateConfig } from '../config/validate-config';
import { silentLogger } from '../logger';
import { classifyProxyError } from './classify-proxy-error';
import { EVICT_CONNECTIONS } from './evict-connections';
import type { UpstreamRequest } from './http-proxy-engine';
import { NO_BODY } from './request-body';
import { UndiciEngine } from './undici-engine';

// The undici engine on its own, against a real Node server: what the request path relies on
// (reused-socket flag, failure classes, eviction) and what undici does not say by itself.

const NO_FLAGS = { connectTimedOut: false, timedOut: false, abortedAsDead: false, abortedBeforeConnect: false };
type Outcome = { status?: number; rawHeaders?: string[]; body?: string; error?: NodeJS.ErrnoException; reused: boolean };

describe('UndiciEngine', () => {
  const proxy = validateConfig({ upstreams: ['http://127.0.0.1:1'], admin: { enabled: false }, proxy: { engine: 'undici', upstreamTimeoutMs: 300 } }, 'test').proxy;
  let server: http.Server;
  let port: number;
  let connections: number;
  let onRequest: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  let engine: UndiciEngine;
  const agent = new http.Agent({ keepAlive: true });
  // The client side the engine needs (req for its method, res unused by the engine).
  const fakeClient = { method: 'GET' } as http.IncomingMessage;

  beforeEach(async () => {
    connections = 0;
    onRequest = (_req, res) => res.writeHead(200, 'Fine', ['X-Mixed-Case', 'v', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2']).end('hello');
    server = http.createServer((req, res) => onRequest(req, res));
    server.keepAliveTimeout = 15_000;
    server.on('connection', () => connections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
    engine = new UndiciEngine(proxy, silentLogger);
  });
  afterEach(async () => {
    engine.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  afterAll(() => agent.destroy());

  // undici frees a connection for the next request a tick after the response ends (its 'drain');
  // a request sent before that would open a second connection.
  const send = async (targetPort = port, via = agent) => {
    await new Promise((r) => setImmediate(r));
    return new Promise<Outcome>((resolve) => {
      let handle: UpstreamRequest | undefined;
      engine.send(fakeClient, {} as http.ServerResponse, {
        target: { host: '127.0.0.1', port: targetPort },
        agent: via,
        path: '/x',
        headers: { host: 'example.test' },
        body: NO_BODY,
        onRequest: (h) => (handle = h),
        onResponse: (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks).toString(), reused: handle!.reusedSocket }));
        },
        onError: (error) => resolve({ error, reused: handle!.reusedSocket }),
      });
    });
  };

  it('passes status and raw headers through and says when a request went on a kept-alive connection', async () => {
    const first = await send();
    expect(first).toMatchObject({ status: 200, body: 'hello', reused: false });
    expect(first.rawHeaders).toEqual(expect.arrayContaining(['X-Mixed-Case', 'v', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2']));
    const second = await send();
    expect(second).toMatchObject({ status: 200, reused: true });
    expect(connections).toBe(1);
  });

  it('classifies a reset on a reused connection as reset, and a refused connection as unreachable', async () => {
    await send();
    onRequest = (req) => req.socket.destroy();
    const reset = await send();
    expect(reset.reused).toBe(true);
    expect(classifyProxyError(reset.error!, NO_FLAGS)).toMatchObject({ kind: 'reset', code: 'LB_UPSTREAM_RESET' });

    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as net.AddressInfo).port;
    await new Promise((r) => closed.close(r));
    // Another upstream: its own agent, so its own undici pool.
    const refused = await send(deadPort, new http.Agent());
    expect(refused.error?.code).toBe('ECONNREFUSED');
    expect(classifyProxyError(refused.error!, NO_FLAGS)).toMatchObject({ kind: 'unreachable', status: 502 });
  });

  it('times out an upstream that sends no head (UND_ERR_HEADERS_TIMEOUT → 504 class)', async () => {
    onRequest = () => {};
    const r = await send();
    expect(r.error?.code).toBe('UND_ERR_HEADERS_TIMEOUT');
    expect(classifyProxyError(r.error!, NO_FLAGS)).toMatchObject({ kind: 'timeout', status: 504 });
  });

  it('drops its kept-alive connections to an upstream when the pool evicts them', async () => {
    await send();
    expect((await send()).reused).toBe(true);
    agent.emit(EVICT_CONNECTIONS);
    const after = await send();
    expect(after).toMatchObject({ status: 200, reused: false });
    expect(connections).toBe(2);
  });
});
