import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

export interface LongLivedOptions {
  version: string;
  instance: string;
  /** Default interval between two `/events` events (`?intervalMs=` overrides it per stream). */
  eventsIntervalMs: number;
  now?: () => number;
}

/** Close code the service sends to its WebSockets when it shuts down (RFC 6455 §7.4.1: "going away"). */
export const WS_GOING_AWAY = 1001;
/** Largest message a client may send to `/ws`: the service never buffers more per message. */
const MAX_WS_MESSAGE_BYTES = 64 * 1024;
/** How long a shutdown waits for a client to answer a close frame before cutting the socket. */
const CLOSE_HANDSHAKE_TIMEOUT_MS = 1000;
const MIN_EVENTS_INTERVAL_MS = 10;
const MAX_EVENTS_INTERVAL_MS = 60_000;

/**
 * The demo service's long-lived endpoints:
 * - `/ws`: a WebSocket that first sends `{"type":"hello","version","instance"}`, then echoes every message;
 * - `/events`: Server-Sent Events, a numbered event every interval; the numbering continues after
 *   `Last-Event-ID`, so a client that reconnects (to any instance) misses no number.
 * On shutdown both are closed cleanly: WebSockets with a close frame 1001, event streams after a
 * final `event: close` (without an id, so the client's Last-Event-ID stays the last real event).
 * See docs/long-lived-connections.md.
 */
export class LongLivedEndpoints {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_MESSAGE_BYTES, perMessageDeflate: false });
  private readonly streams = new Set<() => void>();
  private closing = false;

  constructor(private readonly options: LongLivedOptions) {
    this.wss.on('connection', (ws) => this.onConnection(ws));
  }

  /** Open WebSockets and event streams. */
  get open(): number {
    return this.wss.clients.size + this.streams.size;
  }

  /** The server's `upgrade` listener: `/ws` becomes a WebSocket, anything else is refused. */
  readonly upgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/ws' || this.closing || (req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      const status = this.closing ? '503 Service Unavailable' : '404 Not Found';
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req));
  };

  private onConnection(ws: WebSocket): void {
    ws.on('error', () => ws.terminate());
    ws.send(JSON.stringify({ type: 'hello', version: this.options.version, instance: this.options.instance }));
    ws.on('message', (data, isBinary) => {
      if (ws.readyState === ws.OPEN) ws.send(data, { binary: isBinary });
    });
  }

  /** The `/events` handler (an express/http handler). */
  readonly events = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (this.closing) {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' }).end('{"error":"shutting down"}');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const interval = clampInterval(url.searchParams.get('intervalMs'), this.options.eventsIntervalMs);
    const last = Number(req.headers['last-event-id']);
    let n = Number.isSafeInteger(last) && last >= 0 ? last : 0;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    // A comment first, so the client (and the balancer) see the stream open at once.
    res.write(`: ${this.options.instance} ${this.options.version}\n\n`);
    const timer = setInterval(() => {
      n++;
      res.write(`id: ${n}\ndata: ${JSON.stringify({ n, version: this.options.version, instance: this.options.instance })}\n\n`);
    }, interval);
    const end = () => {
      clearInterval(timer);
      this.streams.delete(end);
      if (!res.writableEnded) res.end(`event: close\ndata: ${JSON.stringify({ reason: 'shutting down', instance: this.options.instance })}\n\n`);
    };
    this.streams.add(end);
    res.once('close', () => {
      clearInterval(timer);
      this.streams.delete(end);
    });
  };

  /**
   * Closes every long-lived connection cleanly and refuses new ones; resolves with how many were
   * closed once every WebSocket's close handshake finished (or was cut after a timeout).
   */
  async closeAll(): Promise<number> {
    this.closing = true;
    const sockets = [...this.wss.clients];
    const streams = [...this.streams];
    for (const end of streams) end();
    await Promise.all(
      sockets.map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === ws.CLOSED) return resolve();
            const cut = setTimeout(() => ws.terminate(), CLOSE_HANDSHAKE_TIMEOUT_MS);
            ws.once('close', () => {
              clearTimeout(cut);
              resolve();
            });
            ws.close(WS_GOING_AWAY, 'server shutting down');
          }),
      ),
    );
    this.wss.close();
    return sockets.length + streams.length;
  }
}

function clampInterval(raw: string | null, def: number): number {
  const n = Number(raw);
  if (raw === null || raw === '' || !Number.isFinite(n)) return def;
  return Math.min(MAX_EVENTS_INTERVAL_MS, Math.max(MIN_EVENTS_INTERVAL_MS, Math.round(n)));
}
