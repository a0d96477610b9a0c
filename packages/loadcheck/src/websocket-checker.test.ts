import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { WebSocketChecker, webSocketOk } from './websocket-checker';

/** A hello-then-echo server on loopback that can close its clients cleanly or drop them. */
async function echoServer() {
  const server = http.createServer();
  let refuse = 0;
  const wss = new WebSocketServer({ server, verifyClient: (_info, cb) => (refuse > 0 ? (refuse--, cb(false, 503)) : cb(true)) });
  const clients: WebSocket[] = [];
  wss.on('connection', (ws) => {
    clients.push(ws);
    ws.send(JSON.stringify({ type: 'hello', version: 'v1', instance: 'x' }));
    ws.on('message', (m) => ws.send(m.toString()));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`,
    open: () => clients.filter((c) => c.readyState === c.OPEN),
    refuseNext: (n: number) => (refuse = n),
    close: () => new Promise<void>((r) => (wss.close(), server.close(() => r()))),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('WebSocketChecker on a real server', () => {
  it('counts clean and abnormal closes, unanswered messages, failed connects and reconnect times', async () => {
    const s = await echoServer();
    const wc = new WebSocketChecker({ url: s.url, clients: 3, messageIntervalMs: 20, retryDelayMs: 10 });
    await wc.start();
    await sleep(150);
    const [a, b] = s.open();
    a.close(1012, 'restart');
    await sleep(100);
    s.refuseNext(1);
    b.terminate();
    await sleep(200);
    const summary = await wc.stop();
    await s.close();
    expect(summary).toMatchObject({ clients: 3, connections: 5, cleanCloses: 1, abnormalCloses: 1, serverCloses: { 1012: 1, 1006: 1 }, failedConnects: 1, failedConnectsByCause: { 'HTTP 503': 1 }, reconnects: 2, allReconnected: true, connectedAtEnd: 3 });
    expect(summary.messagesSent).toBeGreaterThan(10);
    expect(summary.messagesAnswered).toBeGreaterThanOrEqual(summary.messagesSent - 2);
    expect(summary.maxReconnectMs).toBeGreaterThan(0);
    expect(webSocketOk(summary)).toBe(false);
  });

  it('a run without trouble is ok', async () => {
    const s = await echoServer();
    const wc = new WebSocketChecker({ url: s.url, clients: 2, messageIntervalMs: 20 });
    await wc.start();
    await sleep(100);
    const summary = await wc.stop();
    await s.close();
    expect(summary.messagesAnswered).toBe(summary.messagesSent);
    expect(webSocketOk(summary)).toBe(true);
  });
});
