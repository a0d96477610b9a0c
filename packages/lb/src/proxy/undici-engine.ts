import diagnostics from 'node:diagnostics_channel';
import type http from 'node:http';
import type net from 'node:net';
import { Readable } from 'node:stream';
import { buildConnector, Pool, type Dispatcher } from 'undici';
import type { LbConfig } from '../config/lb-config';
import type { Logger } from '../logger';
import { EVICT_CONNECTIONS } from './evict-connections';
import type { Attempt, ProxyEngine, UpstreamRequest } from './http-proxy-engine';

/**
 * The undici engine (opt-in: `proxy.engine: undici`): the same attempts as the http-proxy engine,
 * sent through one undici `Pool` per upstream (keep-alive; a new connection must open within
 * `connectTimeoutMs`; idle sockets close after `idleSocketMs`, or sooner if the upstream's
 * Keep-Alive hint says so; `upstreamTimeoutMs` bounds every silence of the upstream, by the
 * request path's timer as with http-proxy, and by undici's headers/body timeouts as a backstop). When the upstream pool evicts an upstream's connections (declared dead),
 * its undici pool is closed: idle sockets go at once, requests in flight finish or are aborted by
 * the request path, and the next request opens a fresh pool.
 *
 * Failures reach the request path's one classifier (classify-proxy-error.ts), in the same classes:
 *
 * | undici says                                              | class        | client gets | retried elsewhere |
 * |----------------------------------------------------------|--------------|-------------|-------------------|
 * | ECONNREFUSED, ENOTFOUND, EHOSTUNREACH... (never connected)| unreachable | 502 LB_UPSTREAM_UNREACHABLE | always |
 * | UND_ERR_CONNECT_TIMEOUT (or our connect timer)           | unreachable  | 502 LB_UPSTREAM_CONNECT_TIMEOUT | always |
 * | UND_ERR_SOCKET / ECONNRESET before the head (reusedSocket logged) | reset | 502 LB_UPSTREAM_RESET | idempotent methods |
 * | HPE_* or a parser assertion (bad status line or head)   | reset        | 502 LB_UPSTREAM_BAD_RESPONSE | idempotent methods |
 * | our silence timer, or UND_ERR_HEADERS_TIMEOUT / UND_ERR_BODY_TIMEOUT | timeout | 504 LB_UPSTREAM_TIMEOUT | never |
 * | aborted because the upstream was declared dead           | dead         | 502 LB_UPSTREAM_DOWN | idempotent methods (always if not yet connected) |
 *
 * "Reused": undici does not say whether a request went on a fresh or a kept-alive connection, so
 * our connector tags every socket it opens with a request counter, and the `undici:client:sendHeaders`
 * diagnostics channel (published synchronously right after the request's onConnect, with the
 * socket) tells which socket a request went on.
 *
 * The response head is passed on as http-proxy's is: status and reason, raw headers (the request
 * path drops hop-by-hop ones and adds x-upstream / x-lb-split). Request framing: the request path
 * decides it (content-length for a known body, chunked for a streamed one of unknown length);
 * undici refuses a transfer-encoding header, so chunked is expressed as "no content-length" and
 * undici chunks, and it refuses a body that does not match the content-length sent.
 */
export class UndiciEngine implements ProxyEngine {
  private readonly pools = new Map<http.Agent, { pool: Pool; evict: () => void }>();
  private readonly connector: buildConnector.connector;
  private closed = false;

  constructor(
    private readonly options: LbConfig['proxy'],
    private readonly log: Logger,
  ) {
    const connect = buildConnector({ timeout: options.connectTimeoutMs });
    this.connector = (opts, callback) =>
      connect(opts, (err, socket) => {
        if (socket) {
          (socket as TaggedSocket)[kRequests] = 0;
          callback(null, socket);
        } else callback(err ?? new Error('connect failed'), null);
      });
    subscribeSendHeaders();
  }

  send(req: http.IncomingMessage, res: http.ServerResponse, attempt: Attempt): void {
    const handler = new UndiciRequest(attempt);
    attempt.onRequest(handler);
    if (handler.aborted) return;
    const source = attempt.body;
    let body: Buffer | Readable | null = null;
    if (source instanceof Readable) body = source;
    else if (source) {
      // A buffered body (see bodySource): pipe() hands it over with one synchronous end(buffer).
      source.pipe({ end: (chunk?: Buffer) => void (body = chunk ?? null) } as unknown as NodeJS.WritableStream);
    }
    const headers: string[] = [];
    for (const name in attempt.headers) {
      const value = attempt.headers[name];
      // The framing header: content-length is passed (undici checks the body against it);
      // chunked is what undici does for a stream without one, and it refuses the header itself.
      if (value === undefined || name === 'transfer-encoding') continue;
      if (Array.isArray(value)) for (const v of value) headers.push(name, v);
      else headers.push(name, String(value));
    }
    this.pool(attempt).dispatch({ method: req.method ?? 'GET', path: attempt.path, headers, body }, handler);
  }

  private pool(attempt: Attempt): Pool {
    const known = this.pools.get(attempt.agent);
    if (known) return known.pool;
    const { host, port } = attempt.target;
    const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    const p = new Pool(origin, {
      connect: this.connector,
      keepAliveTimeout: this.options.idleSocketMs,
      // The upstream's Keep-Alive hint may shorten the idle time, never lengthen it past ours.
      keepAliveMaxTimeout: this.options.idleSocketMs,
      headersTimeout: this.options.upstreamTimeoutMs,
      bodyTimeout: this.options.upstreamTimeoutMs,
      pipelining: 1,
    });
    p.on('connectionError', () => {});
    const agent = attempt.agent;
    const evict = () => {
      if (this.pools.get(agent)?.pool === p) this.pools.delete(agent);
      // close(): idle sockets go now; running requests finish (or are aborted by the request path).
      p.close().catch((err: Error) => this.log.debug('undici pool close failed', { error: err.message }));
    };
    agent.once(EVICT_CONNECTIONS, evict);
    this.pools.set(agent, { pool: p, evict });
    return p;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [agent, { pool, evict }] of this.pools) {
      agent.off(EVICT_CONNECTIONS, evict);
      void pool.destroy().catch(() => {});
    }
    this.pools.clear();
  }
}

const kRequests = Symbol('zdl.requests');
type TaggedSocket = net.Socket & { [kRequests]?: number };

/** The request whose onConnect just ran: its socket is the next sendHeaders' (same synchronous step). */
let connecting: UndiciRequest | undefined;
let subscribed = false;

function subscribeSendHeaders(): void {
  if (subscribed) return;
  subscribed = true;
  diagnostics.subscribe('undici:client:sendHeaders', (message) => {
    const request = connecting;
    connecting = undefined;
    const socket = (message as { socket?: TaggedSocket }).socket;
    // A socket not opened by our connector belongs to another undici user in this process.
    if (!request || !socket || socket[kRequests] === undefined) return;
    request.reusedSocket = socket[kRequests]++ > 0;
  });
}

class AbortedError extends Error {
  readonly code = 'UND_ERR_ABORTED';
}

/**
 * One attempt as undici's dispatch handler, and the request path's handle on it. Errors before
 * the response head go to attempt.onError once; after it, they end the response stream.
 */
class UndiciRequest implements UpstreamRequest, Dispatcher.DispatchHandler {
  /**
   * Stands for the connection until it opens (the request path's connect timer listens to it):
   * the request itself, with one slot per event (the request path registers one listener for each),
   * rather than an EventEmitter per request.
   */
  readonly socket = this;
  connecting = true;
  private onSocketConnect?: () => void;
  private onSocketClose?: () => void;
  reusedSocket = false;
  aborted = false;
  private abortUpstream?: (err?: Error) => void;
  private response?: UndiciResponse;
  private settled = false;
  private silence?: NodeJS.Timeout;

  constructor(private readonly attempt: Attempt) {}

  once(event: 'connect' | 'close', listener: () => void): this {
    if (event === 'connect') this.onSocketConnect = chain(this.onSocketConnect, listener);
    else this.onSocketClose = chain(this.onSocketClose, listener);
    return this;
  }

  /** Like EventEmitter.off for the one listener per event the request path registers. */
  off(event: 'connect' | 'close', listener: () => void): this {
    if (event === 'connect' && this.onSocketConnect === listener) this.onSocketConnect = undefined;
    if (event === 'close' && this.onSocketClose === listener) this.onSocketClose = undefined;
    return this;
  }

  /** Like EventEmitter.once: each listener runs at most once. */
  private emitSocket(event: 'connect' | 'close'): void {
    const listener = event === 'connect' ? this.onSocketConnect : this.onSocketClose;
    if (event === 'connect') this.onSocketConnect = undefined;
    else this.onSocketClose = undefined;
    listener?.();
  }

  /**
   * The request path's silence timer (`upstreamTimeoutMs`), restarted by every byte from the
   * upstream. undici's own headersTimeout/bodyTimeout (same value) stay as a backstop: they run on
   * a coarse timer wheel and fire up to ~1 s late.
   */
  setTimeout(ms: number, onTimeout: () => void): this {
    clearTimeout(this.silence);
    this.silence = setTimeout(onTimeout, ms);
    this.silence.unref();
    return this;
  }

  destroy(): this {
    if (this.aborted) return this;
    this.aborted = true;
    clearTimeout(this.silence);
    const err = new AbortedError('request aborted by the balancer');
    this.abortUpstream?.(err);
    // Not yet connected: undici can only abort it once a connection is there (onConnect), so the
    // request path is told now and undici's later callbacks are ignored.
    // Told on the next tick, as http-proxy reports a destroyed request: never from inside the caller.
    if (this.response) this.response.destroy(err);
    else process.nextTick(() => this.fail(err));
    return this;
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortUpstream = abort;
    if (this.aborted) return abort(new AbortedError('request aborted by the balancer'));
    connecting = this;
    this.connecting = false;
    this.emitSocket('connect');
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (this.aborted || this.settled) return true;
    this.silence?.refresh();
    // Interim responses (1xx other than 101) are not passed on; the final one follows.
    if (statusCode < 200) return true;
    const response = new UndiciResponse(statusCode, statusText, rawHeaders, resume, () => this.abortUpstream?.());
    this.response = response;
    this.attempt.onResponse(response as unknown as http.IncomingMessage);
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.silence?.refresh();
    return this.response ? this.response.deliver(chunk) : true;
  }

  onComplete(): void {
    clearTimeout(this.silence);
    this.emitSocket('close');
    this.response?.finish();
  }

  onError(err: Error): void {
    clearTimeout(this.silence);
    this.emitSocket('close');
    if (this.response) this.response.destroy(err);
    else if (!this.aborted) this.fail(err);
  }

  private fail(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.emitSocket('close');
    this.attempt.onError(asParseError(err));
  }
}

/** Two listeners in one slot (rare: the request path registers one per event). */
function chain(first: (() => void) | undefined, second: () => void): () => void {
  return first
    ? () => {
        first();
        second();
      }
    : second;
}

/**
 * undici's parser meets some invalid heads (a status below 100) with an assertion, not an HTTP
 * parser error: from the upstream's bytes all the same, so reported as one (a bad response).
 */
function asParseError(err: Error): NodeJS.ErrnoException {
  const e = err as NodeJS.ErrnoException;
  if (e.code !== 'ERR_ASSERTION') return e;
  return Object.assign(new Error(`invalid response head: ${e.message.split('\n').join(' ')}`), { code: 'HPE_INVALID_RESPONSE' });
}

/**
 * The fields of http.IncomingMessage the request path reads, over an undici response. A Readable
 * (the event-stream relay reads it as one); when the request path pipes it to the client and
 * nothing else reads it (every plain response), the body goes straight from undici to the client
 * instead, with the same backpressure (undici pauses until the client's socket drains) and the same
 * end: 'close', with `complete` telling a whole body from a cut one.
 */
class UndiciResponse extends Readable {
  readonly rawHeaders: string[] = [];
  private parsedHeaders?: http.IncomingHttpHeaders;
  complete = false;
  private direct?: http.ServerResponse;
  private waitingDrain = false;

  constructor(
    readonly statusCode: number,
    readonly statusMessage: string,
    raw: Buffer[],
    private readonly resumeUpstream: () => void,
    private readonly abortUpstream: () => void,
  ) {
    super();
    for (let i = 0; i < raw.length; i++) this.rawHeaders.push(raw[i].toString('latin1'));
  }

  /** Built on first read, as Node's IncomingMessage does (the request path reads rawHeaders). */
  get headers(): http.IncomingHttpHeaders {
    if (this.parsedHeaders) return this.parsedHeaders;
    const headers: http.IncomingHttpHeaders = {};
    const raw = this.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const lower = raw[i].toLowerCase();
      const value = raw[i + 1];
      const prev = headers[lower];
      if (prev === undefined) headers[lower] = lower === 'set-cookie' ? [value] : value;
      else if (Array.isArray(prev)) prev.push(value);
      else headers[lower] = `${prev}, ${value}`;
    }
    return (this.parsedHeaders = headers);
  }

  override pipe<T extends NodeJS.WritableStream>(dest: T, options?: { end?: boolean }): T {
    const plain = !this.direct && options?.end !== false && this.readableFlowing === null && this.readableLength === 0 && this.listenerCount('data') === 0 && !this.destroyed;
    if (!plain) return super.pipe(dest, options);
    this.direct = dest as unknown as http.ServerResponse;
    return dest;
  }

  /** A body chunk from the upstream; false asks undici to pause until resumeUpstream(). */
  deliver(chunk: Buffer): boolean {
    const dest = this.direct;
    if (!dest) return this.push(chunk);
    // The client left: the request path aborts the upstream request (on the response's 'close').
    if (dest.destroyed) return true;
    if (dest.write(chunk) || this.waitingDrain) return true;
    this.waitingDrain = true;
    dest.once('drain', () => {
      this.waitingDrain = false;
      this.resumeUpstream();
    });
    return false;
  }

  /** The upstream's body is complete. */
  finish(): void {
    this.complete = true;
    if (!this.direct) {
      this.push(null);
      return;
    }
    this.direct.end();
    // 'close', as a Readable read to its end emits it (complete, so nothing is aborted).
    this.destroy();
  }

  override _read(): void {
    this.resumeUpstream();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    if (!this.complete) this.abortUpstream();
    callback(err);
  }
}
