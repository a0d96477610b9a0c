import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';

/**
 * A real loopback upstream with long-lived endpoints, for proxy tests: `/ws` (hello, then echo),
 * `/events` (numbered SSE after Last-Event-ID), `/404` refuses upgrades, and any other `Upgrade`
 * protocol switches to a raw echo. It records the last upgrade request's headers.
 */
export class LongLivedUpstream {
  private server?: http.Server;
  private readonly wss = new WebSocketServer({ noServer: true, handleProtocols: (p) => (p.has('chat') ? 'chat' : false) });
  private readonly raw = new Set<Duplex>();
  port = 0;
  lastUpgradeHeaders: http.IncomingHttpHeaders = {};

  constructor(readonly name: string) {
    this.wss.on('connection', (ws) => {
      ws.send(JSON.stringify({ type: 'hello', instance: this.name }));
      ws.on('message', (m, binary) => ws.send(m, { binary }));
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get openWebSockets(): number {
    return this.wss.clients.size;
  }

  async start(): Promise<this> {
    const server = http.createServer((req, res) => {
      if (req.url === '/ping') return void res.end('pong');
      if (req.url?.startsWith('/events')) {
        let n = Number(req.headers['last-event-id'] ?? 0) || 0;
        // ?splitMs=: the gap between the two halves of each event (the proxy sees events half written).
        const split = Number(new URL(req.url, 'http://x').searchParams.get('splitMs') ?? 5);
        res.writeHead(200, { 'content-type': 'text/event-stream', 'x-instance': this.name });
        res.write(': open\n\n');
        let t: NodeJS.Timeout;
        const next = () => {
          n++;
          res.write(`id: ${n}\n`);
          t = setTimeout(() => {
            if (!res.writable) return;
            res.write(`data: ${this.name}\n\n`);
            t = setTimeout(next, 20);
          }, split);
        };
        t = setTimeout(next, 20);
        res.on('close', () => clearTimeout(t));
        return;
      }
      res.end(JSON.stringify({ instance: this.name }));
    });
    server.on('upgrade', (req, socket: Duplex, head) => {
      this.lastUpgradeHeaders = req.headers;
      socket.on('error', () => {});
      if (req.url === '/404') return void socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 9\r\nconnection: close\r\n\r\nnot found');
      if (String(req.headers.upgrade).toLowerCase() === 'websocket') return this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req));
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: ${req.headers.upgrade}\r\n\r\n`);
      this.raw.add(socket);
      socket.on('close', () => this.raw.delete(socket));
      socket.pipe(socket);
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  /** Dies abruptly: every connection, upgraded ones included, is dropped without a close frame. */
  async kill(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    for (const ws of this.wss.clients) ws.terminate();
    for (const r of this.raw) r.destroy();
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
