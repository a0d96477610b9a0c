import type http from 'node:http';
import type { Stream } from 'node:stream';
import httpProxy from 'http-proxy';
import type { Logger } from '../logger';
import type { BodySource } from './request-body';

/**
 * The engine's handle on one upstream request: what the request path reads and does with it.
 * http.ClientRequest is one; the undici engine provides its own (see undici-engine.ts).
 */
export interface UpstreamRequest {
  /** Until the connection opens, `connecting` is true; 'connect' / 'close' say when that ends. */
  readonly socket?: { readonly connecting: boolean; once(event: 'connect' | 'close', listener: () => void): unknown; off(event: 'connect' | 'close', listener: () => void): unknown } | null;
  /** The request went out on a kept-alive connection that had already served a request. */
  readonly reusedSocket: boolean;
  /** Calls `onTimeout` after `ms` without a byte from the upstream (engines with their own timers may ignore it). */
  setTimeout(ms: number, onTimeout: () => void): unknown;
  /** Abandons the request (before or after its response head). */
  destroy(): unknown;
}

/** One attempt to send a request to one upstream, as the request path hands it to an engine. */
export interface Attempt {
  /** Where to connect (host without IPv6 brackets) and with which keep-alive pool (the undici engine keys its pool on it). */
  readonly target: { host: string; port: number };
  readonly agent: http.Agent;
  readonly path: string;
  readonly headers: http.OutgoingHttpHeaders;
  /** The body to send, or undefined to pipe the client's request stream (sent once). */
  readonly body: BodySource | undefined;
  /** The upstream request exists (and its socket is being assigned): set timeouts on it. */
  onRequest(proxyReq: UpstreamRequest): void;
  /**
   * The upstream's response head arrived. The request path reads statusCode, statusMessage,
   * rawHeaders, headers, complete and the body stream (the undici engine gives an object with those).
   */
  onResponse(proxyRes: http.IncomingMessage): void;
  /** The attempt failed before a response head (refused, reset, timed out, aborted). */
  onError(err: NodeJS.ErrnoException): void;
}

/** What the request path needs of a proxy engine: send one attempt, report its response or failure. */
export interface ProxyEngine {
  send(req: http.IncomingMessage, res: http.ServerResponse, attempt: Attempt): void;
  close(): void;
}

const kAttempt = Symbol('zdl.attempt');
type Req = http.IncomingMessage & { [kAttempt]?: Attempt };

/**
 * The http-proxy engine. http-proxy builds the upstream request from the client's `req`, so the
 * adapter sets on it what the request path decided (path, headers); http-proxy's own framing
 * rewrite for DELETE/OPTIONS (its deleteLength pass) is removed, since the framing we decide must
 * match the body we send. Everything else (retries, timeouts, response writing) is the caller's.
 */
export class HttpProxyEngine implements ProxyEngine {
  private readonly proxy: httpProxy;

  constructor(log: Logger) {
    // selfHandleResponse: the response is written by the request path in one writeHead.
    this.proxy = httpProxy.createProxyServer({ ws: false, xfwd: false, changeOrigin: false, selfHandleResponse: true });
    const passes = (this.proxy as unknown as { webPasses: Array<{ name: string }> }).webPasses;
    const i = passes.findIndex((p) => p.name === 'deleteLength');
    if (i >= 0) passes.splice(i, 1);
    this.proxy.on('proxyReq', (proxyReq, req) => (req as Req)[kAttempt]?.onRequest(proxyReq));
    this.proxy.on('proxyRes', (proxyRes, req) => {
      const attempt = (req as Req)[kAttempt];
      if (attempt) attempt.onResponse(proxyRes);
      else proxyRes.resume();
    });
    // The client went away while we waited for the upstream: nobody to answer (nginx calls it 499).
    this.proxy.on('econnreset', (_err, req) => log.debug('client closed the request', { status: 499, url: req.url }));
    // Every web() call has a callback, so this should never fire; an unhandled 'error' would kill the process.
    this.proxy.on('error', (err) => log.error('proxy error without handler', { error: err.message }));
  }

  send(req: http.IncomingMessage, res: http.ServerResponse, attempt: Attempt): void {
    const r = req as Req;
    r[kAttempt] = attempt;
    r.url = attempt.path;
    r.headers = attempt.headers as http.IncomingHttpHeaders;
    const target = { protocol: 'http:', host: attempt.target.host, hostname: attempt.target.host, port: attempt.target.port };
    this.proxy.web(req, res, { target: target as never, agent: attempt.agent, buffer: attempt.body as unknown as Stream | undefined }, (err) => {
      // A late error of an earlier attempt (already retried elsewhere) is ignored.
      if (r[kAttempt] === attempt) attempt.onError(err as NodeJS.ErrnoException);
    });
  }

  close(): void {
    this.proxy.close();
  }
}
