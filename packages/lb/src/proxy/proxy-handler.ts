import type http from 'node:http';
import type { LbConfig } from '../config/lb-config';
import type { Logger } from '../logger';
import type { LbMetrics } from '../metrics/lb-metrics';
import { DOWN_CODES, type PendingRequest, type Upstream } from '../pool/upstream';
import type { RouteHints, UpstreamPool } from '../pool/upstream-pool';
import { BufferBudget } from './buffer-budget';
import { classifyProxyError, isIdempotent, type ProxyFailure } from './classify-proxy-error';
import { createProxyEngine } from './create-proxy-engine';
import type { Attempt, ProxyEngine, UpstreamRequest } from './http-proxy-engine';
import { outgoingHeaders } from './outgoing-headers';
import { readCookie } from './read-cookie';
import { BodyTimeoutError, hasBody, NO_BODY_REQUEST, readRequestBody, type RequestBody, watchBodyIdle } from './request-body';
import { upstreamPath } from './request-target';
import { responseHead } from './response-head';
import { labDisabled } from '../lab-switches';

/** One client request across its attempts (at most one per upstream). */
class ProxyRequest implements PendingRequest {
  // Declared up front so every request object has the same shape (the pending list links).
  pendingOwner?: PendingRequest['pendingOwner'] = undefined;
  pendingPrev?: PendingRequest = undefined;
  pendingNext?: PendingRequest = undefined;
  /** The upstream of the attempt in progress (counted in flight there). */
  upstream?: Upstream = undefined;
  /** The upstream whose response is being (or was) written. */
  answeredBy?: Upstream = undefined;
  /** The last upstream tried, for attributing a failure once every attempt is released. */
  lastTried?: Upstream = undefined;
  hints?: RouteHints = undefined;
  path = '/';
  headers?: http.OutgoingHttpHeaders = undefined;
  body?: RequestBody = undefined;
  /** The traffic split's generation when the upstream was picked (sent back in x-lb-split). */
  splitGeneration = 0;
  readonly startedAt = performance.now();
  /** Upstreams already tried, created on the first retry (most requests have one attempt: no Set for them). */
  tried?: Set<Upstream> = undefined;
  proxyReq?: UpstreamRequest = undefined;
  timedOut = false;
  connectTimedOut = false;
  abortedAsDead = false;
  /** True when the request never left this machine: safe to send elsewhere whatever its method. */
  abortedBeforeConnect = false;
  lastFailure?: ProxyFailure = undefined;
  /** Our own answer's code (400, 408, 501, 503 without upstream...), for the metrics. */
  ownCode?: string = undefined;
  /** The client's connection closed before the response was complete. */
  clientGone = false;
  stopIdleWatch?: () => void = undefined;

  constructor(
    readonly req: http.IncomingMessage,
    readonly res: http.ServerResponse,
    private readonly pool: UpstreamPool,
  ) {}

  /**
   * The upstream was declared unreachable while we waited for it. A request that never connected,
   * or an idempotent one, is aborted (and retried elsewhere); a POST already sent is left to finish
   * or time out, since the host may only be slow and the request may have had effects. With
   * nowhere else to go (the last upstream in rotation, mid-deploy, whose checks timed out on a
   * starved machine), nothing is aborted: that would turn a late answer into a certain 502; the
   * request's own timers (connect, upstream silence) still bound it.
   */
  abortAsDead(): void {
    if (this.upstream && !this.pool.hasAlternative(this.upstream, this.tried)) return;
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

/** For errors that need a listener but no action (the response's failure is handled on 'close'). */
function ignore(): void {}

/** Timeouts the traffic server applies to clients (see createTrafficServer). */
export interface ClientTimeouts {
  headerTimeoutMs: number;
  requestTimeoutMs: number;
}

/**
 * The request path, top to bottom: check the request → read (or start streaming) its body → pick
 * an upstream and count it in flight in one step → send through the engine → on a response,
 * check and write it → on a failure before any response byte, classify it and retry on the next
 * upstream when that is safe (always when the connection never opened; for idempotent methods
 * when it was reset or the upstream was declared dead) or answer 502/504. Every error is answered;
 * no client or upstream input can throw out of here.
 */
export class ProxyHandler {
  private readonly engine: ProxyEngine;
  readonly budget: BufferBudget;
  /** Takes over a response that is a long-lived stream (Server-Sent Events); true when it did. */
  onEventStream?: (upstream: Upstream, proxyRes: http.IncomingMessage, res: http.ServerResponse) => boolean;

  constructor(
    private readonly pool: UpstreamPool,
    private readonly options: LbConfig['proxy'],
    private readonly routing: LbConfig['routing'],
    private readonly log: Logger,
    private readonly metrics?: LbMetrics,
    engine?: ProxyEngine,
  ) {
    this.engine = engine ?? createProxyEngine(options, log);
    this.budget = new BufferBudget(options.retryBufferBudgetBytes);
  }

  get clientTimeouts(): ClientTimeouts {
    return { headerTimeoutMs: this.options.headerTimeoutMs, requestTimeoutMs: this.options.requestTimeoutMs };
  }

  readonly handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const ctx = new ProxyRequest(req, res, this.pool);
    res.once('close', () => this.guard(ctx, () => this.finish(ctx)));
    this.guard(ctx, () => this.begin(ctx));
  };

  private begin(ctx: ProxyRequest): void {
    const { req } = ctx;
    // WebSocket/SSE upgrades are proxied elsewhere (the server's 'upgrade' event); one that reaches
    // the normal path gets a clear answer instead of hanging in flight.
    if (req.headers.upgrade !== undefined) return this.fail(ctx, 501, 'LB_UPGRADE_NOT_SUPPORTED', 'protocol upgrades are not proxied on this path', true);
    const path = upstreamPath(req);
    if (path === undefined) return this.fail(ctx, 400, 'LB_BAD_REQUEST_TARGET', 'the request target is not a valid path or http URL', true);
    ctx.path = path;
    if (this.pool.wantsHints) ctx.hints = this.hints(req);
    // Most requests have no body: dispatch them now, without a promise round-trip.
    if (!hasBody(req)) {
      ctx.body = NO_BODY_REQUEST;
      return this.attempt(ctx);
    }
    readRequestBody(req, this.options.retryBodyLimitBytes, this.budget, this.options.bodyIdleTimeoutMs).then(
      (body) =>
        this.guard(ctx, () => {
          ctx.body = body;
          if (ctx.clientGone) return body.release();
          // A streamed body may still stall: cut it like a buffered one.
          if (!body.replayable) ctx.stopIdleWatch = watchBodyIdle(req, this.options.bodyIdleTimeoutMs, () => this.bodyTimedOut(ctx));
          this.attempt(ctx);
        }),
      (err: Error) => (err instanceof BodyTimeoutError ? this.bodyTimedOut(ctx) : ctx.res.destroy()),
    );
  }

  /** One attempt on the next upstream. */
  private attempt(ctx: ProxyRequest): void {
    const upstream = this.pool.acquire(ctx.tried, ctx.hints);
    if (!upstream) {
      if (ctx.lastFailure) return this.fail(ctx, ctx.lastFailure.status, ctx.lastFailure.code, 'every upstream tried failed');
      return this.fail(ctx, 503, 'LB_NO_UPSTREAM', 'no healthy upstream in rotation');
    }
    ctx.splitGeneration = this.pool.splitGeneration;
    ctx.upstream = ctx.lastTried = upstream;
    ctx.tried?.add(upstream);
    upstream.pending.add(ctx);
    const body = ctx.body!;
    const source = body.stream();
    if (!source) return this.fail(ctx, 502, 'LB_UPSTREAM_RESET', 'request body could not be replayed');
    ctx.headers ??= outgoingHeaders(ctx.req, body.framing, this.options.trustForwardedHeaders);
    const attempt: Attempt = {
      target: upstream.connectTarget,
      agent: upstream.agent,
      path: ctx.path,
      headers: ctx.headers,
      body: source,
      onRequest: (proxyReq) => this.guard(ctx, () => this.onRequest(ctx, proxyReq)),
      onResponse: (proxyRes) => this.guard(ctx, () => this.onResponse(ctx, upstream, proxyRes)),
      onError: (err) => this.guard(ctx, () => this.onError(ctx, upstream, err)),
    };
    this.engine.send(ctx.req, ctx.res, attempt);
  }

  /** The upstream request exists: bound its connect and its silences. */
  private onRequest(ctx: ProxyRequest, proxyReq: UpstreamRequest): void {
    ctx.proxyReq = proxyReq;
    if (ctx.abortedAsDead || ctx.clientGone) {
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
        // After a stall of this process (a starved machine), a due timer runs before the I/O that
        // completed meanwhile (timers come first in Node's event loop): look again once that I/O
        // has been handled, so a connection that did open is not taken for one that hangs.
        setImmediate(() => {
          if (!socket.connecting || ctx.proxyReq !== proxyReq) return;
          ctx.connectTimedOut = true;
          proxyReq.destroy();
        });
      }, this.options.connectTimeoutMs);
      // Both listeners go once either fires: left on a keep-alive socket, they would hold this
      // first request (and its response) for the socket's whole life.
      const settled = () => {
        clearTimeout(timer);
        socket.off('connect', settled);
        socket.off('close', settled);
      };
      socket.once('connect', settled);
      socket.once('close', settled);
    }
  }

  private onResponse(ctx: ProxyRequest, upstream: Upstream, proxyRes: http.IncomingMessage): void {
    const { res } = ctx;
    upstream.pending.delete(ctx);
    if (ctx.upstream !== upstream || res.headersSent || res.destroyed) {
      proxyRes.resume();
      return;
    }
    ctx.answeredBy = upstream;
    const head = responseHead(proxyRes, upstream.name, ctx.splitGeneration);
    if (!head.ok) return this.badResponse(ctx, upstream, proxyRes, head.problem);
    try {
      res.writeHead(head.status, head.message, head.headers);
    } catch (err) {
      // A header Node refuses to write (the upstream is not trusted): nothing was sent yet.
      return this.badResponse(ctx, upstream, proxyRes, (err as NodeJS.ErrnoException).code ?? (err as Error).message);
    }
    // A response cut mid-body (reset, timeout) is the upstream's failure, as much as one that never came.
    proxyRes.once('close', () =>
      this.guard(ctx, () => {
        if (proxyRes.complete) {
          if (upstream.passiveStreak > 0) this.pool.reportPassiveSuccess(upstream);
          return;
        }
        if (ctx.clientGone) return;
        const reason = ctx.timedOut ? 'timed out mid-response' : 'closed mid-response';
        this.log.warn('upstream failed mid-response', { upstream: upstream.name, reason });
        this.pool.reportPassiveFailure(upstream, { ok: false, reason: `request failed: ${reason}` });
        res.destroy();
      }),
    );
    proxyRes.on('error', ignore);
    if (!this.onEventStream?.(upstream, proxyRes, res)) proxyRes.pipe(res);
  }

  /** The upstream answered something we cannot pass on: 502 to the client, a failure against the upstream. */
  private badResponse(ctx: ProxyRequest, upstream: Upstream, proxyRes: http.IncomingMessage, problem: string): void {
    proxyRes.resume();
    proxyRes.on('error', ignore);
    ctx.proxyReq?.destroy();
    this.log.warn('invalid upstream response', { upstream: upstream.name, problem });
    this.pool.reportPassiveFailure(upstream, { ok: false, reason: `invalid response: ${problem}` });
    ctx.lastFailure = { kind: 'reset', status: 502, code: 'LB_UPSTREAM_BAD_RESPONSE' };
    this.fail(ctx, 502, 'LB_UPSTREAM_BAD_RESPONSE', `upstream ${upstream.name} sent an invalid response`);
  }

  private onError(ctx: ProxyRequest, upstream: Upstream, err: NodeJS.ErrnoException): void {
    upstream.pending.delete(ctx);
    // The client left (its connection closed): not the upstream's failure, and nobody to answer.
    if (ctx.clientGone || ctx.req.socket.destroyed) {
      ctx.clientGone = true;
      ctx.proxyReq?.destroy();
      return;
    }
    const failure = classifyProxyError(err, ctx);
    ctx.lastFailure = failure;
    const reused = ctx.proxyReq?.reusedSocket === true;
    // An upstream already declared dead has been counted (and so have the requests it took with it,
    // connected or not: counting them again would declare it dead again as soon as it recovers);
    // every other failure counts against it.
    if (failure.kind !== 'dead' && !ctx.abortedAsDead) {
      this.pool.reportPassiveFailure(upstream, {
        ok: false,
        reason: `request failed: ${failure.code} ${err.code ?? err.message}`,
        unreachable: failure.kind === 'unreachable',
        down: err.code !== undefined && DOWN_CODES.has(err.code),
      });
    }
    if (ctx.res.headersSent || ctx.answeredBy) {
      this.log.warn('upstream failed mid-response', { upstream: upstream.name, code: failure.code, error: err.code ?? err.message });
      ctx.res.destroy();
      return;
    }
    const idempotent = isIdempotent(ctx.req.method);
    const safe = failure.kind === 'unreachable' || ((failure.kind === 'reset' || failure.kind === 'dead') && idempotent);
    // labDisabled('retry'): lab only (npm run experiment), to show what the retry prevents.
    if (safe && !labDisabled('retry') && ctx.body?.replayable) {
      this.log.info('retrying on next upstream', { upstream: upstream.name, code: failure.code, error: err.code ?? err.message, reusedSocket: reused, method: ctx.req.method });
      upstream.retries++;
      this.metrics?.retry(upstream);
      (ctx.tried ??= new Set()).add(upstream);
      this.release(ctx);
      ctx.resetAttempt();
      this.attempt(ctx);
      return;
    }
    this.log.warn('proxy error', { upstream: upstream.name, status: failure.status, code: failure.code, error: err.code ?? err.message, reusedSocket: reused, method: ctx.req.method });
    this.fail(ctx, failure.status, failure.code, `upstream ${upstream.name} failed: ${err.code ?? err.message}`);
  }

  private bodyTimedOut(ctx: ProxyRequest): void {
    ctx.proxyReq?.destroy();
    this.fail(ctx, 408, 'LB_BODY_TIMEOUT', `the request body stalled for ${this.options.bodyIdleTimeoutMs} ms`, true);
    // Whatever we could answer, the connection carries a half-read body: close it.
    setImmediate(() => ctx.req.socket.destroy());
  }

  /** The response is done (or the client left): record it and free the upstream and the buffer. */
  private finish(ctx: ProxyRequest): void {
    const { res } = ctx;
    if (!res.writableFinished) {
      ctx.clientGone = true;
      ctx.proxyReq?.destroy();
    }
    ctx.stopIdleWatch?.();
    const seconds = (performance.now() - ctx.startedAt) / 1000;
    const upstream = ctx.answeredBy ?? (ctx.lastFailure ? ctx.lastTried : undefined);
    if (upstream) this.metrics?.record(upstream, res.statusCode, res.writableFinished, seconds);
    else if (ctx.ownCode === 'LB_NO_UPSTREAM') this.metrics?.record(undefined, 503, true, seconds);
    // Our own refusals (400, 408, 501) and clients that left before any upstream answered.
    else this.metrics?.own(res.statusCode, res.writableFinished && ctx.ownCode !== undefined);
    this.release(ctx);
    ctx.body?.release();
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

  private fail(ctx: ProxyRequest, status: number, code: string, message: string, close = false): void {
    const { res } = ctx;
    ctx.ownCode ??= code;
    if (res.headersSent || res.destroyed) return;
    const body = JSON.stringify({ error: message, code });
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      ...(status === 503 ? { 'retry-after': '1' } : {}),
      ...(close ? { connection: 'close' } : {}),
    });
    res.end(body);
  }

  /**
   * Runs one step of a request; an exception (a bug, or an input nothing above foresaw) ends that
   * request with a 502 (or a closed connection) and is logged, never the process.
   */
  private guard(ctx: ProxyRequest, step: () => void): void {
    try {
      step();
    } catch (err) {
      this.log.error('exception in request handling', { error: (err as Error).message, stack: (err as Error).stack, url: ctx.path });
      try {
        ctx.proxyReq?.destroy();
        if (!ctx.res.headersSent && !ctx.res.destroyed) this.fail(ctx, 502, 'LB_INTERNAL', 'internal error in the balancer', true);
        else ctx.res.destroy();
      } catch {
        ctx.res.destroy();
      }
    }
  }

  close(): void {
    this.engine.close();
  }
}
