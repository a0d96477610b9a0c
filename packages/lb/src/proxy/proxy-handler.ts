import type http from 'node:http';
import type { Stream } from 'node:stream';
import httpProxy from 'http-proxy';
import type { LbConfig } from '../config/lb-config';
import type { Logger } from '../logger';
import type { LbMetrics } from '../metrics/lb-metrics';
import type { PendingRequest, Upstream } from '../pool/upstream';
import type { RouteHints, UpstreamPool } from '../pool/upstream-pool';
import { readCookie } from './read-cookie';
import { classifyProxyError, isIdempotent, type ProxyFailure } from './classify-proxy-error';
import { hasBody, NO_BODY, readRequestBody, type RequestBody } from './request-body';
import { labDisabled } from '../lab-switches';

/** A request without a body: replayable on any upstream, sent with one end(). */
const NO_BODY_REQUEST: RequestBody = { replayable: true, stream: () => NO_BODY };

const kCtx = Symbol('zdl.ctx');
type Req = http.IncomingMessage & { [kCtx]?: ProxyRequest };

/** One client request across its attempts (at most one per upstream). */
class ProxyRequest implements PendingRequest {
  // Declared up front so every request object has the same shape (the pending list links).
  pendingOwner?: PendingRequest['pendingOwner'] = undefined;
  pendingPrev?: PendingRequest = undefined;
  pendingNext?: PendingRequest = undefined;
  upstream?: Upstream;
  /** The last upstream tried, for attributing a failure once every attempt is released. */
  lastTried?: Upstream;
  hints?: RouteHints;
  readonly startedAt = performance.now();
  readonly tried = new Set<Upstream>();
  proxyReq?: http.ClientRequest;
  body?: RequestBody;
  gotResponse = false;
  timedOut = false;
  connectTimedOut = false;
  abortedAsDead = false;
  lastFailure?: ProxyFailure;
  /** Numbers attempts, so a late error from an earlier attempt's listeners is ignored. */
  attempt = 0;

  constructor(
    readonly req: Req,
    readonly res: http.ServerResponse,
  ) {}

  /** True when the request never left this machine: safe to send elsewhere whatever its method. */
  abortedBeforeConnect = false;

  /**
   * The upstream was declared unreachable while we waited for it. A request that never connected,
   * or an idempotent one, is aborted (and retried elsewhere); a POST already sent is left to finish
   * or time out, since the host may only be slow and the request may have had effects.
   */
  abortAsDead(): void {
    const neverConnected = !this.proxyReq || this.proxyReq.socket?.connecting === true;
    if (!neverConnected && !isIdempotent(this.req.method)) return;
    this.abortedAsDead = true;
    this.abortedBeforeConnect = neverConnected;
    this.proxyReq?.destroy();
  }

  resetAttempt(): void {
    this.proxyReq = undefined;
    this.timedOut = this.connectTimedOut = this.abortedAsDead = this.abortedBeforeConnect = false;
  }
}

/**
 * The request path: choose an upstream, proxy with http-proxy over its keep-alive agent, and when the
 * connection fails before any response byte, try the next upstream (each at most once) if that is
 * safe: always when the connection never opened, for idempotent methods when it was reset or the
 * upstream was declared dead. Every error is answered; none can crash the process.
 */
export class ProxyHandler {
  private readonly proxy: httpProxy;

  constructor(
    private readonly pool: UpstreamPool,
    private readonly options: LbConfig['proxy'],
    private readonly routing: LbConfig['routing'],
    private readonly log: Logger,
    private readonly metrics?: LbMetrics,
  ) {
    // selfHandleResponse: http-proxy sends the request; the response is written here in one
    // writeHead with a raw header list (http-proxy's outgoing passes call setHeader once per header,
    // which measured as a visible share of the per-request CPU).
    this.proxy = httpProxy.createProxyServer({ ws: false, xfwd: false, changeOrigin: false, selfHandleResponse: true });
    this.proxy.on('proxyReq', (proxyReq, req) => this.onProxyReq(proxyReq, req as Req));
    this.proxy.on('proxyRes', (proxyRes, req, res) => this.onProxyRes(proxyRes, req as Req, res));
    // The client went away while we waited for the upstream: nobody to answer (nginx calls it 499).
    this.proxy.on('econnreset', (_err, req) => this.log.debug('client closed the request', { status: 499, url: req.url }));
    // With a callback on every web() call this should never fire, but an unhandled 'error' would kill the process.
    this.proxy.on('error', (err) => this.log.error('proxy error without handler', { error: err.message }));
  }

  readonly handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const ctx = new ProxyRequest(req as Req, res);
    (req as Req)[kCtx] = ctx;
    res.once('close', () => this.finish(ctx));
    addForwardedHeaders(req);
    if (this.pool.wantsHints) ctx.hints = this.hints(req);
    // Most requests have no body: dispatch them now, without a promise round-trip.
    const withBody = hasBody(req);
    if (!withBody) ctx.body = NO_BODY_REQUEST;
    if (this.options.retryBodyLimitBytes === 0 || !withBody) {
      this.dispatch(ctx);
      return;
    }
    readRequestBody(req, this.options.retryBodyLimitBytes).then(
      (body) => {
        ctx.body = body;
        this.dispatch(ctx);
      },
      () => res.destroy(),
    );
  };

  private dispatch(ctx: ProxyRequest): void {
    const upstream = this.pool.acquire(ctx.tried, ctx.hints);
    if (!upstream) {
      if (ctx.lastFailure) return this.fail(ctx, ctx.lastFailure.status, ctx.lastFailure.code, 'every upstream tried failed');
      return this.fail(ctx, 503, 'LB_NO_UPSTREAM', 'no healthy upstream in rotation');
    }
    ctx.upstream = ctx.lastTried = upstream;
    ctx.tried.add(upstream);
    upstream.pending.add(ctx);
    const buffer = ctx.body?.stream();
    if (ctx.body && !buffer) return this.fail(ctx, 502, 'LB_UPSTREAM_RESET', 'request body could not be replayed');
    const attempt = ++ctx.attempt;
    this.proxy.web(ctx.req, ctx.res, { target: upstream.target, agent: upstream.agent, buffer: buffer as unknown as Stream | undefined }, (err) => {
      if (attempt === ctx.attempt) this.onError(ctx, err as NodeJS.ErrnoException);
    });
  }

  private onProxyReq(proxyReq: http.ClientRequest, req: Req): void {
    const ctx = req[kCtx];
    if (!ctx) return;
    ctx.proxyReq = proxyReq;
    if (ctx.abortedAsDead) {
      proxyReq.destroy();
      return;
    }
    proxyReq.setTimeout(this.options.upstreamTimeoutMs, () => {
      ctx.timedOut = true;
      proxyReq.destroy();
    });
    const socket = proxyReq.socket;
    // Only new connections can hang in connect (a host gone without RST); pooled ones are open.
    if (socket?.connecting) {
      const timer = setTimeout(() => {
        ctx.connectTimedOut = true;
        proxyReq.destroy();
      }, this.options.connectTimeoutMs);
      socket.once('connect', () => clearTimeout(timer));
      socket.once('close', () => clearTimeout(timer));
    }
  }

  private onProxyRes(proxyRes: http.IncomingMessage, req: Req, res: http.ServerResponse): void {
    const ctx = req[kCtx];
    if (!ctx?.upstream) {
      proxyRes.resume();
      return;
    }
    ctx.gotResponse = true;
    ctx.upstream.pending.delete(ctx);
    if (res.headersSent || res.destroyed) {
      proxyRes.resume();
      return;
    }
    // An upstream that dies mid-body must not leave the client waiting forever.
    proxyRes.once('aborted', () => res.destroy());
    res.writeHead(proxyRes.statusCode ?? 502, proxyRes.statusMessage, responseHeaders(proxyRes.rawHeaders, ctx.upstream.name));
    proxyRes.pipe(res);
  }

  private onError(ctx: ProxyRequest, err: NodeJS.ErrnoException): void {
    const upstream = ctx.upstream!;
    upstream.pending.delete(ctx);
    const failure = classifyProxyError(err, ctx);
    ctx.lastFailure = failure;
    const reused = ctx.proxyReq?.reusedSocket === true;
    if (failure.kind !== 'dead' && failure.kind !== 'timeout') {
      this.pool.reportPassiveFailure(upstream, { ok: false, reason: `request failed: ${err.code ?? err.message}`, unreachable: failure.kind === 'unreachable' });
    }
    if (ctx.res.headersSent || ctx.gotResponse) {
      this.log.warn('upstream failed mid-response', { upstream: upstream.name, code: failure.code, error: err.code ?? err.message });
      ctx.res.destroy();
      return;
    }
    const idempotent = isIdempotent(ctx.req.method);
    const safe = failure.kind === 'unreachable' || ((failure.kind === 'reset' || failure.kind === 'dead') && idempotent);
    // labDisabled('retry'): lab only (npm run experiment), to show what the retry prevents.
    if (safe && !labDisabled('retry') && (ctx.body === undefined || ctx.body.replayable)) {
      this.log.info('retrying on next upstream', { upstream: upstream.name, code: failure.code, error: err.code ?? err.message, reusedSocket: reused, method: ctx.req.method });
      upstream.retries++;
      this.metrics?.retry(upstream);
      this.release(ctx);
      ctx.resetAttempt();
      this.dispatch(ctx);
      return;
    }
    this.log.warn('proxy error', { upstream: upstream.name, status: failure.status, code: failure.code, error: err.code ?? err.message, reusedSocket: reused, method: ctx.req.method });
    this.fail(ctx, failure.status, failure.code, `upstream ${upstream.name} failed: ${err.code ?? err.message}`);
  }

  /** The response is done (or the client left): record it and free the upstream. */
  private finish(ctx: ProxyRequest): void {
    const { res } = ctx;
    this.metrics?.record(ctx.upstream ?? (ctx.lastFailure ? ctx.lastTried : undefined), res.statusCode, res.writableFinished, (performance.now() - ctx.startedAt) / 1000);
    this.release(ctx);
  }

  private hints(req: http.IncomingMessage): RouteHints {
    const r = this.routing;
    const h = req.headers;
    const header = (name: string) => {
      const v = h[name];
      return typeof v === 'string' && v !== '' ? v : undefined;
    };
    return {
      forceGroup: header(r.forceGroupHeader) ?? readCookie(h.cookie, r.forceGroupCookie),
      userKey: header(r.userKeyHeader) ?? readCookie(h.cookie, r.userKeyCookie),
    };
  }

  private release(ctx: ProxyRequest): void {
    const u = ctx.upstream;
    if (!u) return;
    ctx.upstream = undefined;
    u.pending.delete(ctx);
    this.pool.release(u);
  }

  private fail(ctx: ProxyRequest, status: number, code: string, message: string): void {
    const { res } = ctx;
    if (res.headersSent || res.destroyed) return;
    const body = JSON.stringify({ error: message, code });
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...(status === 503 ? { 'retry-after': '1' } : {}) });
    res.end(body);
  }

  close(): void {
    this.proxy.close();
  }
}

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, not the response: the client's
 * connection is ours, so Node writes its own Connection/Keep-Alive and chooses the framing
 * (Content-Length is kept; chunked is redone when the upstream used it).
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

/** The upstream's raw header list minus hop-by-hop headers, plus `x-upstream`; repeated headers (Set-Cookie) stay separate. */
function responseHeaders(raw: string[], upstream: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name.length <= 17 && HOP_BY_HOP.has(name.toLowerCase())) continue;
    if (name.length === 10 && name.toLowerCase() === 'x-upstream') continue;
    out.push(name, raw[i + 1]);
  }
  out.push('x-upstream', upstream);
  return out;
}

/** X-Forwarded-For/-Proto/-Host, added once (http-proxy's xfwd would append again on every retry). */
function addForwardedHeaders(req: http.IncomingMessage): void {
  const h = req.headers;
  const addr = req.socket.remoteAddress ?? '';
  h['x-forwarded-for'] = h['x-forwarded-for'] ? `${h['x-forwarded-for']}, ${addr}` : addr;
  h['x-forwarded-proto'] ??= 'http';
  h['x-forwarded-host'] ??= h.host ?? '';
}
