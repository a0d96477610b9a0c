import http from 'node:http';
import type { AddressInfo } from 'node:net';
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

/**
 * An HTTP server that shuts down without failing a request (see shared FIELD-NOTES):
 * 1. /ping turns 503 so the balancer stops choosing us;
 * 2. keep serving until traffic has been quiet for `shutdownQuietMs` (the balancer has let go)
 *    or `shutdownDrainMs` has passed;
 * 3. stop accepting, close idle keep-alive sockets, answer in-flight requests with `Connection: close`;
 * 4. resolve once they are done, or force-close after `shutdownTimeoutMs`.
 */
export class GracefulServer implements Lifecycle {
  private server?: http.Server;
  private readonly active = new Set<http.ServerResponse>();
  private lastRequestAt = 0;
  private stopping?: Promise<void>;
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

  async start(handler: http.RequestListener): Promise<void> {
    const server = http.createServer((req, res) => {
      this.active.add(res);
      res.once('close', () => this.active.delete(res));
      // Tell the balancer not to reuse this socket once we are going away.
      if (this.server && !this.server.listening) res.setHeader('connection', 'close');
      handler(req, res);
    });
    server.keepAliveTimeout = this.options.keepAliveTimeoutMs;
    server.headersTimeout = this.options.keepAliveTimeoutMs + 1000;
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
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    const server = this.server;
    this._shuttingDown = true;
    if (!server) return;
    const begin = this.now();
    this.lastRequestAt = Math.max(this.lastRequestAt, begin);
    this.log('shutdown: draining', { drainMs: this.options.shutdownDrainMs, quietMs: this.options.shutdownQuietMs });
    while (this.now() - begin < this.options.shutdownDrainMs && this.now() - this.lastRequestAt < this.options.shutdownQuietMs) {
      await sleep(50);
    }
    this.log('shutdown: closing', { inFlight: this.active.size, afterMs: this.now() - begin });
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Requests already in flight finish, but their sockets must not be reused afterwards.
    for (const res of this.active) if (!res.headersSent) res.setHeader('connection', 'close');
    server.closeIdleConnections();
    const timer = setTimeout(() => {
      this.log('shutdown: timeout, closing remaining connections', { inFlight: this.active.size });
      server.closeAllConnections();
    }, this.options.shutdownTimeoutMs);
    // close() waits for active sockets; idle ones left after a response are closed as they go idle.
    const idleSweep = setInterval(() => server.closeIdleConnections(), 100);
    await closed;
    clearTimeout(timer);
    clearInterval(idleSweep);
    this.log('shutdown: done', { afterMs: this.now() - begin });
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
