import net from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A scripted upstream on a raw TCP socket: each request's head (and body, by Content-Length) is
 * handed to `reply`, which writes whatever bytes it likes, valid HTTP or not. Keeps every raw byte
 * received, so a test can see exactly what the balancer sent.
 */
export class ScriptedUpstream {
  private server?: net.Server;
  readonly sockets = new Set<net.Socket>();
  /** Everything received, per connection, in order. */
  readonly received: string[] = [];
  port = 0;

  constructor(private readonly reply: (head: string, socket: net.Socket) => void) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = net.createServer((socket) => {
      this.sockets.add(socket);
      const index = this.received.push('') - 1;
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => {});
      let buffer = '';
      socket.on('data', (d) => {
        this.received[index] += d.toString('latin1');
        buffer += d.toString('latin1');
        // Hand over each complete request head (with its Content-Length body) as it arrives.
        for (;;) {
          const end = buffer.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = buffer.slice(0, end);
          const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
          if (buffer.length < end + 4 + length) return;
          buffer = buffer.slice(end + 4 + length);
          this.reply(head, socket);
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** Replies to /ping with 200 (so health checks pass) and hands every other request to `other`. */
export function pingOr(other: (head: string, socket: net.Socket) => void): (head: string, socket: net.Socket) => void {
  return (head, socket) => {
    if (head.startsWith('GET /ping ')) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\npong');
    else other(head, socket);
  };
}

/**
 * Sends raw bytes to the balancer on a fresh connection and collects what comes back until the
 * connection closes or `waitMs` passes.
 */
export function rawExchange(port: number, bytes: string | Buffer, waitMs = 2000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let closed = false;
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed });
    };
    const timer = setTimeout(finish, waitMs);
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.write(bytes);
  });
}

/** The status codes of every response in a raw byte stream. */
export const statuses = (text: string): number[] => [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
