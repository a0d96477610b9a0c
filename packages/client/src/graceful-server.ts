import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Lifecycle } from './client-app';

export interface GracefulServerOptions {
  port: number;
  host: string;
  keepAliveTimeoutMs: number;
  shutdownDrainMs: number;
  shutdownQuietMs: number;
  shutdownTimeoutMs: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  now?: () => number;
}

/** How a shutdown ended. */
export interface ShutdownResult {
  /** Requests still in flight when `shutdownTimeoutMs` ran out, cut without an answer: not a clean exit. */
  cut: number;
  /** WebSockets and event streams closed cleanly (close frame / final event). */
  longLivedClosed: number;
}

/** What the server calls for connections that never end by themselves (WebSockets, event streams). */
export interface LongLivedConnections {
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Closes them cleanly; resolves with how many were closed. */
  closeAll(): Promise<number>;
}

/**
 * An HTTP server that shuts down without failing a request (docs/graceful-shutdown.md):
 * 1. /ping turns 503 so the balancer stops choosing us;
 * 2. keep serving until traffic has been quiet for `shutdownQuietMs` (the balancer has let go)
 *    or `shutdownDrainMs` has passed;
 * 3. close long-lived connections cleanly (WebSocket close frame 1001, a final SSE event);
 * 4. stop accepting, close idle keep-alive sockets, answer in-flight requests with `Connection: close`;
 * 5. resolve once they are done, or force-close after `shutdownTimeoutMs`, reporting how many
 *    requests were cut (the caller exits non-zero then: a cut request is not a clean stop).
 */
export class GracefulServer implements Lifecycle {
  private server?: http.Server;
  private readonly active = new Set<http.ServerResponse>();
  private lastRequestAt = 0;
  private stopping?: Promise<ShutdownResult>;
  private longLived?: LongLivedConnections;
  private _shuttingDown = false;
  private readonly now: () => number;
  private readonly log: NonNullable<GracefulServerOptions['log']>;

  constructor(private readonly options: GracefulServerOptions) {
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => {});
  }

  get shuttingDown(): boolean {
    return this._shuttingDown;
  }

  noteRequest(): void {
    this.lastRequestAt = this.now();
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  async start(handler: http.RequestListener, longLived?: LongLivedConnections): Promise<void> {
    this.longLived = longLived;
    const server = http.createServer((req, res) => {
      this.active.add(res);
      res.once('close', () => this.active.delete(res));
      // Tell the balancer not to reuse this socket once we are going away.
      if (this.server && !this.server.listening) res.setHeader('connection', 'close');
      handler(req, res);
    });
    server.keepAliveTimeout = this.options.keepAliveTimeoutMs;
    server.headersTimeout = this.options.keepAliveTimeoutMs + 1000;
    if (longLived) server.on('upgrade', (req, socket, head) => longLived.upgrade(req, socket, head));
    else server.on('upgrade', (_req, socket: Duplex) => socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n'));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /** Idempotent: every call returns the same shutdown. */
  stop(): Promise<ShutdownResult> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<ShutdownResult> {
    const server = this.server;
    this._shuttingDown = true;
    if (!server) return { cut: 0, longLivedClosed: 0 };
    const begin = this.now();
    this.lastRequestAt = Math.max(this.lastRequestAt, begin);
    this.log('shutdown: draining', { drainMs: this.options.shutdownDrainMs, quietMs: this.options.shutdownQuietMs });
    while (this.now() - begin < this.options.shutdownDrainMs && this.now() - this.lastRequestAt < this.options.shutdownQuietMs) {
      await sleep(50);
    }
    // Long-lived connections never go quiet by themselves: close them cleanly first, so their
    // clients reconnect (through the balancer, to another instance) instead of seeing a reset.
    const longLivedClosed = (await this.longLived?.closeAll()) ?? 0;
    this.log('shutdown: closing', { inFlight: this.active.size, longLivedClosed, afterMs: this.now() - begin });
    let cut = 0;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Requests already in flight finish, but their sockets must not be reused afterwards.
    for (const res of this.active) if (!res.headersSent) res.setHeader('connection', 'close');
    server.closeIdleConnections();
    const timer = setTimeout(() => {
      cut = this.active.size;
      this.log('shutdown: timeout, cutting requests still in flight', { cut });
      server.closeAllConnections();
    }, this.options.shutdownTimeoutMs);
    // close() waits for active sockets; idle ones left after a response are closed as they go idle.
    const idleSweep = setInterval(() => server.closeIdleConnections(), 100);
    await closed;
    clearTimeout(timer);
    clearInterval(idleSweep);
    this.log('shutdown: done', { afterMs: this.now() - begin, cut, longLivedClosed });
    return { cut, longLivedClosed };
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
