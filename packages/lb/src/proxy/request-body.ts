import type http from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import type { BufferBudget } from './buffer-budget';
import type { Framing } from './outgoing-headers';

/**
 * A request body as the proxy sends it: buffered (up to a per-request limit, within a budget
 * shared by all requests) so a request whose connection failed can go to another upstream, or
 * streamed once when it is too large or the budget is spent.
 */
export interface RequestBody {
  /** A fresh source of the body, or undefined when it can no longer be replayed. */
  stream(): BodySource | undefined;
  readonly replayable: boolean;
  /** How it is framed upstream (the client's own framing is never copied). */
  readonly framing: Framing;
  /** Gives the buffered bytes back to the budget; idempotent. */
  release(): void;
}

/**
 * What http-proxy's `buffer` option needs of a body source: it only ever calls `pipe(proxyReq)`.
 * Sending a known body (or none) with one `end()` skips a Readable and the pipe machinery per request.
 */
export type BodySource = Pick<Readable, 'pipe'>;

export function bodySource(body?: Buffer): BodySource {
  return {
    pipe<T extends NodeJS.WritableStream>(dest: T): T {
      if (body) dest.end(body);
      else dest.end();
      return dest;
    },
  };
}

/** The source for requests without a body (GET, HEAD...): ends the upstream request at once. */
export const NO_BODY = bodySource();

/** A request without a body: replayable on any upstream, sent with one end(). */
export const NO_BODY_REQUEST: RequestBody = { replayable: true, framing: { kind: 'none' }, stream: () => NO_BODY, release: () => {} };

export const hasBody = (req: http.IncomingMessage): boolean =>
  req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');

/** A request body stopped arriving for longer than the body idle timeout. */
export class BodyTimeoutError extends Error {
  readonly code = 'LB_BODY_TIMEOUT';
}

/**
 * Resolves once the body is buffered, or as soon as it is found too large for the limit or the
 * budget (then it streams: what was read, then the rest, once). Rejects if the client goes away,
 * or sends nothing for `idleMs` while we wait for the body.
 */
export function readRequestBody(req: http.IncomingMessage, limit: number, budget: BufferBudget, idleMs: number): Promise<RequestBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => onError(new BodyTimeoutError(`no request body byte for ${idleMs} ms`)), idleMs);
    const onData = (chunk: Buffer) => {
      if (size + chunk.length > limit || !budget.reserve(chunk.length)) {
        cleanup();
        budget.release(size);
        // Too large to keep: the bytes read so far, then the rest of the live stream, once.
        const pass = new PassThrough();
        for (const c of chunks) pass.write(c);
        pass.write(chunk);
        req.pipe(pass);
        let used = false;
        const length = req.headers['transfer-encoding'] === undefined ? Number(req.headers['content-length']) : NaN;
        resolve({
          replayable: false,
          framing: Number.isSafeInteger(length) ? { kind: 'length', bytes: length } : { kind: 'chunked' },
          stream: () => (used ? undefined : ((used = true), pass)),
          release: () => {},
        });
        return;
      }
      size += chunk.length;
      chunks.push(chunk);
      timer.refresh();
    };
    const onEnd = () => {
      cleanup();
      const source = bodySource(Buffer.concat(chunks));
      let held = size;
      resolve({
        replayable: true,
        framing: { kind: 'length', bytes: size },
        stream: () => source,
        release: () => {
          budget.release(held);
          held = 0;
        },
      });
    };
    const onError = (err: Error) => {
      cleanup();
      budget.release(size);
      reject(err);
    };
    const onAborted = () => onError(new Error('client aborted the request'));
    const cleanup = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      req.off('close', onClose);
    };
    const onClose = () => {
      if (!req.complete) onAborted();
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('aborted', onAborted);
    req.once('close', onClose);
  });
}

/**
 * Cuts a body that stalls while it streams to the upstream (nginx's client_body_timeout: the time
 * between two reads). Returns a function that stops watching.
 */
export function watchBodyIdle(req: http.IncomingMessage, idleMs: number, onIdle: () => void): () => void {
  if (req.complete) return () => {};
  const timer = setTimeout(() => {
    // Paused by backpressure (the upstream reads slowly): we are not waiting on the client.
    if (req.readableFlowing === false) timer.refresh();
    else onIdle();
  }, idleMs);
  const onData = () => timer.refresh();
  const stop = () => {
    clearTimeout(timer);
    req.off('data', onData);
    req.off('end', stop);
    req.off('close', stop);
  };
  req.on('data', onData);
  req.once('end', stop);
  req.once('close', stop);
  return stop;
}
