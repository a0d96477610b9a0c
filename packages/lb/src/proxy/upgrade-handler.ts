import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import type { LbConfig } from '../config/lb-config';
import type { Logger } from '../logger';
import type { Upstream } from '../pool/upstream';
import type { RouteHints, UpstreamPool } from '../pool/upstream-pool';
import type { LongLivedRegistry } from './long-lived-registry';
import { readCookie } from './read-cookie';
import { clientResponseHeaders, upstreamUpgradeHeaders } from './upgrade-headers';
import { WebSocketRelay } from './websocket-relay';

/** The largest WebSocket message relayed (either way); a larger one closes the connection with 1009. */
export const MAX_WS_MESSAGE_BYTES = 1024 * 1024;

export type UpgradeOptions = Pick<LbConfig['proxy'], 'connectTimeoutMs' | 'upstreamTimeoutMs' | 'maxUpgraded'>;

/** A Sec-WebSocket-Key: 16 bytes in base64 (RFC 6455 §4.1), checked as the ws library does. */
const WS_KEY = /^[+/0-9A-Za-z]{22}==$/;
const kProtocol = Symbol('zdl.wsProtocol');
const kUpstream = Symbol('zdl.wsUpstream');
type Tagged = http.IncomingMessage & { [kProtocol]?: string; [kUpstream]?: string };

/** Errors that mean the upstream never got the request: its host is not there (for passive health). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'LB_CONNECT_TIMEOUT']);

/**
 * The traffic server's `upgrade` listener. A WebSocket is opened to an upstream first, and only once
 * the upstream has accepted it (101) is the client's handshake completed; the two are then relayed
 * message by message ({@link WebSocketRelay}), so the balancer can close them cleanly on a drain.
 * Any other `Upgrade` protocol is piped as raw bytes after the upstream's 101.
 *
 * The connection is counted in flight on its upstream from the choice until it ends (a drain waits
 * for it). Before the upstream accepts, a failure (refused, unreachable, timeout, a 503 answer) is
 * retried on the next upstream, each at most once: an unaccepted handshake has had no effect. Once
 * accepted it is never retried. At most `maxUpgraded` upgraded connections per process: beyond,
 * 503 (nothing a client does can make the balancer hold more).
 */
export class UpgradeHandler {
  private readonly wss: WebSocketServer;

  constructor(
    private readonly pool: UpstreamPool,
    private readonly options: UpgradeOptions,
    private readonly routing: LbConfig['routing'],
    private readonly registry: LongLivedRegistry,
    private readonly log: Logger,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: MAX_WS_MESSAGE_BYTES,
      // The client gets the subprotocol the upstream chose (the upstream answered first).
      handleProtocols: (_offered, req) => (req as Tagged)[kProtocol] ?? false,
    });
    this.wss.on('headers', (headers, req) => {
      const u = (req as Tagged)[kUpstream];
      if (u) headers.push(`x-upstream: ${u}`);
    });
  }

  readonly handle = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
    const websocket = upgrade === 'websocket';
    if (!req.url?.startsWith('/')) return reject(socket, 400, 'LB_BAD_REQUEST', 'request target must be a path');
    if (websocket && (req.method !== 'GET' || !WS_KEY.test(String(req.headers['sec-websocket-key'])) || req.headers['sec-websocket-version'] !== '13')) {
      return reject(socket, 400, 'LB_BAD_WEBSOCKET', 'not a valid WebSocket handshake (GET, Sec-WebSocket-Key, Sec-WebSocket-Version: 13)');
    }
    if (this.registry.upgraded >= this.options.maxUpgraded) {
      this.log.warn('upgrade refused: too many upgraded connections', { max: this.options.maxUpgraded });
      return reject(socket, 503, 'LB_TOO_MANY_UPGRADED', `at most ${this.options.maxUpgraded} upgraded connections`);
    }
    this.registry.upgraded++;
    socket.once('close', () => this.registry.upgraded--);
    const hints = this.pool.wantsHints ? this.hints(req) : undefined;
    const tried = new Set<Upstream>();
    let last: { status: number; code: string } | undefined;
    const next = () => {
      if (socket.destroyed) return;
      const u = this.pool.acquire(tried, hints);
      if (!u) {
        return last
          ? reject(socket, last.status, last.code, 'every upstream tried failed')
          : reject(socket, 503, 'LB_NO_UPSTREAM', 'no healthy upstream in rotation');
      }
      tried.add(u);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        this.pool.release(u);
      };
      const failed = (err: NodeJS.ErrnoException) => {
        release();
        const code = err.code ?? 'ERR';
        const unreachable = UNREACHABLE.has(code);
        this.pool.reportPassiveFailure(u, { ok: false, reason: `upgrade failed: ${code}`, unreachable });
        last = code === 'LB_UPSTREAM_TIMEOUT' ? { status: 504, code } : { status: 502, code: unreachable ? 'LB_UPSTREAM_UNREACHABLE' : 'LB_UPSTREAM_RESET' };
        this.log.info('upgrade: upstream failed before accepting, trying the next', { upstream: u.name, code });
        next();
      };
      try {
        if (websocket) this.websocket(req as Tagged, socket, head, u, release, failed, next);
        else this.raw(req, socket, head, u, release, failed);
      } catch (err) {
        // A target the URL parser or the client library refuses: the client's mistake, not the upstream's.
        release();
        this.log.info('upgrade refused', { error: err instanceof Error ? err.message : String(err) });
        reject(socket, 400, 'LB_BAD_REQUEST', 'request target not accepted');
      }
    };
    next();
  };

  private websocket(req: Tagged, socket: Duplex, head: Buffer, u: Upstream, release: () => void, failed: (err: NodeJS.ErrnoException) => void, next: () => void): void {
    const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
    let settled = false;
    let chosen: string | undefined;
    // The offered subprotocols go as a plain header, not through ws's `protocols`: ws would fail a
    // handshake whose server picks none, which a browser accepts and a transparent proxy must pass on.
    const peer = new WebSocket(`ws://${u.target.host}${req.url}`, {
      headers: upstreamUpgradeHeaders(req, true),
      perMessageDeflate: false,
      maxPayload: MAX_WS_MESSAGE_BYTES,
      followRedirects: false,
      handshakeTimeout: this.options.upstreamTimeoutMs,
      createConnection: () => connectWithTimeout(u.target, this.options.connectTimeoutMs) as never,
      finishRequest: (r) => {
        if (offered.length > 0) r.setHeader('sec-websocket-protocol', offered.join(', '));
        r.end();
      },
    });
    peer.once('upgrade', (res) => {
      const p = res.headers['sec-websocket-protocol'];
      delete res.headers['sec-websocket-protocol'];
      if (p === undefined) return;
      if (!offered.includes(p)) {
        // Accepted (101) with a subprotocol nobody asked for: a broken upstream; not retried.
        settled = true;
        socket.off('close', clientGone);
        peer.terminate();
        release();
        this.log.warn('upgrade: upstream chose a subprotocol the client did not offer', { upstream: u.name });
        return reject(socket, 502, 'LB_UPSTREAM_PROTOCOL', 'upstream chose a subprotocol the client did not offer');
      }
      chosen = p;
    });
    const clientGone = () => {
      settled = true;
      peer.terminate();
      release();
    };
    socket.once('close', clientGone);
    peer.once('error', (err: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      socket.off('close', clientGone);
      if (/timed out/.test(err.message)) err.code = 'LB_UPSTREAM_TIMEOUT';
      failed(err);
    });
    peer.once('unexpected-response', (clientReq, res) => {
      settled = true;
      socket.off('close', clientGone);
      release();
      // A 503 (an instance shutting down) has had no effect either: the next upstream may accept.
      if (res.statusCode === 503 && this.pool.inRotation.length > 1) {
        res.resume();
        clientReq.destroy();
        return next();
      }
      relayResponse(socket, res, u.name);
      res.once('end', () => clientReq.destroy());
    });
    peer.once('open', () => {
      settled = true;
      socket.off('close', clientGone);
      if (socket.destroyed) {
        peer.terminate();
        release();
        return;
      }
      req[kProtocol] = chosen;
      req[kUpstream] = u.name;
      // handleUpgrade may still refuse the client's handshake (it answers 400 itself): then the
      // upstream's WebSocket must not stay open.
      let adopted = false;
      socket.once('close', () => {
        if (adopted) return;
        peer.terminate();
        release();
      });
      this.wss.handleUpgrade(req, socket, head, (client) => {
        adopted = true;
        const relay = new WebSocketRelay(client, peer, u.name);
        const remove = this.registry.add(relay);
        void relay.done.then(() => {
          remove();
          release();
        });
      });
    });
  }

  /** Any other protocol: the upstream's 101 and then bytes both ways; a drain can only cut it. */
  private raw(req: http.IncomingMessage, socket: Duplex, head: Buffer, u: Upstream, release: () => void, failed: (err: NodeJS.ErrnoException) => void): void {
    let settled = false;
    const headers = { ...upstreamUpgradeHeaders(req, false), connection: 'upgrade', upgrade: String(req.headers.upgrade) };
    const upReq = http.request({
      host: u.target.hostname,
      port: u.target.port,
      method: req.method,
      path: req.url,
      headers,
      createConnection: () => connectWithTimeout(u.target, this.options.connectTimeoutMs),
      timeout: this.options.upstreamTimeoutMs,
    });
    const clientGone = () => {
      settled = true;
      upReq.destroy();
      release();
    };
    socket.once('close', clientGone);
    upReq.once('timeout', () => upReq.destroy(Object.assign(new Error('upstream timed out'), { code: 'LB_UPSTREAM_TIMEOUT' })));
    upReq.once('error', (err: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      socket.off('close', clientGone);
      failed(err);
    });
    upReq.once('response', (res) => {
      settled = true;
      socket.off('close', clientGone);
      relayResponse(socket, res, u.name);
      res.once('close', release);
    });
    upReq.once('upgrade', (res, upSocket, upHead) => {
      settled = true;
      socket.off('close', clientGone);
      upSocket.setTimeout(0);
      socket.write(`HTTP/1.1 101 ${res.statusMessage || 'Switching Protocols'}\r\n${clientResponseHeaders(res.rawHeaders, u.name, true)}\r\n`);
      if (upHead.length) socket.write(upHead);
      if (head.length) upSocket.write(head);
      socket.pipe(upSocket).pipe(socket);
      upSocket.on('error', () => upSocket.destroy());
      let remove = () => {};
      const ended = new Promise<void>((resolve) => {
        let open = 2;
        const one = () => {
          socket.destroy();
          upSocket.destroy();
          if (--open === 0) resolve();
        };
        socket.once('close', one);
        upSocket.once('close', one);
      });
      void ended.then(() => {
        remove();
        release();
      });
      remove = this.registry.add({
        kind: 'upgrade',
        upstream: u.name,
        close: async () => {
          socket.destroy();
          upSocket.destroy();
          await ended;
          return 'cut';
        },
      });
    });
    upReq.end();
  }

  private hints(req: http.IncomingMessage): RouteHints {
    const r = this.routing;
    const header = (name: string) => {
      const v = req.headers[name];
      return typeof v === 'string' && v !== '' ? v : undefined;
    };
    return {
      forceGroup: header(r.forceGroupHeader) ?? readCookie(req.headers.cookie, r.forceGroupCookie),
      userKey: header(r.userKeyHeader) ?? readCookie(req.headers.cookie, r.userKeyCookie),
    };
  }

  close(): void {
    this.wss.close();
  }
}

/** A TCP connection that must open within `timeoutMs` (a host gone without RST would hang). */
function connectWithTimeout(target: URL, timeoutMs: number): net.Socket {
  const s = net.connect({ host: target.hostname, port: Number(target.port || 80) });
  const timer = setTimeout(() => s.destroy(Object.assign(new Error('connect timed out'), { code: 'LB_CONNECT_TIMEOUT' })), timeoutMs);
  s.once('connect', () => clearTimeout(timer));
  s.once('close', () => clearTimeout(timer));
  return s;
}

/** An answer without a switch of protocols: passed on as it is, and the connection closed after it. */
function relayResponse(socket: Duplex, res: http.IncomingMessage, upstream: string): void {
  if (socket.destroyed) return void res.resume();
  socket.write(`HTTP/1.1 ${res.statusCode} ${res.statusMessage ?? ''}\r\n${clientResponseHeaders(res.rawHeaders, upstream, false)}connection: close\r\n\r\n`);
  res.pipe(socket);
  res.once('error', () => socket.destroy());
}

function reject(socket: Duplex, status: number, code: string, message: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: message, code });
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\nconnection: close\r\n${status === 503 ? 'retry-after: 1\r\n' : ''}\r\n${body}`,
  );
}
