import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { WebSocketRelay } from './websocket-relay';

/** A relay between a real client socket and a real upstream, on loopback, with a short heartbeat. */
async function relayOverLoopback(heartbeatMs: number) {
  const upstream = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  const upstreamCloses: number[] = [];
  upstream.on('connection', (ws) => ws.on('close', (code) => upstreamCloses.push(code)));
  await new Promise((r) => upstream.once('listening', r));
  const front = http.createServer();
  const wss = new WebSocketServer({ noServer: true });
  const relays: WebSocketRelay[] = [];
  front.on('upgrade', (req, socket, head) => {
    const peer = new WebSocket(`ws://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
    peer.once('open', () => wss.handleUpgrade(req, socket, head, (client) => relays.push(new WebSocketRelay(client, peer, 'up', heartbeatMs))));
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  return {
    port: (front.address() as AddressInfo).port,
    relays,
    upstream,
    upstreamCloses,
    close: () => {
      upstream.close();
      front.close();
    },
  };
}

describe('WebSocketRelay heartbeat', () => {
  it('cuts a client that stopped answering (no pong), and closes the upstream side too', async () => {
    const lab = await relayOverLoopback(50);
    // A client that completes the handshake and then never reads or answers anything.
    const s = net.connect(lab.port, '127.0.0.1');
    s.write(`GET / HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
    s.on('error', () => {});
    while (lab.relays.length === 0) await new Promise((r) => setTimeout(r, 10));
    const began = Date.now();
    await lab.relays[0].done;
    expect(Date.now() - began).toBeLessThan(2000);
    // The upstream got a close frame (1001) rather than a dangling connection.
    while (lab.upstream.clients.size > 0) await new Promise((r) => setTimeout(r, 10));
    expect(Date.now() - began).toBeLessThan(3000);
    expect(lab.upstreamCloses).toEqual([1001]);
    s.destroy();
    lab.close();
  });

  it('keeps a client that answers pings', async () => {
    const lab = await relayOverLoopback(50);
    const ws = new WebSocket(`ws://127.0.0.1:${lab.port}`);
    await new Promise((r) => ws.once('open', r));
    await new Promise((r) => setTimeout(r, 300));
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.close();
    await lab.relays[0].done;
    lab.close();
  });
});
