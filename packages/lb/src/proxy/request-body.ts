import type http from 'node:http';
import { PassThrough, Readable } from 'node:stream';

/**
 * A request body that can be sent more than once: bodies up to `limit` bytes are buffered so a
 * request whose connection failed can be retried on another upstream; larger ones stream once.
 */
export interface RequestBody {
  /** A fresh source of the body, or undefined when it can no longer be replayed. */
  stream(): BodySource | undefined;
  readonly replayable: boolean;
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

export const hasBody = (req: http.IncomingMessage): boolean =>
  req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');

/** Resolves once the body is buffered (or found too large); rejects if the client goes away meanwhile. */
export function readRequestBody(req: http.IncomingMessage, limit: number): Promise<RequestBody | undefined> {
  if (!hasBody(req)) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      chunks.push(chunk);
      if (size > limit) {
        cleanup();
        // Too large to keep: replay what was read, then the rest of the live stream, once.
        const pass = new PassThrough();
        for (const c of chunks) pass.write(c);
        req.pipe(pass);
        let used = false;
        resolve({
          replayable: false,
          stream: () => (used ? undefined : ((used = true), pass)),
        });
      }
    };
    const onEnd = () => {
      cleanup();
      const body = Buffer.concat(chunks);
      const source = bodySource(body);
      resolve({ replayable: true, stream: () => source });
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onAborted = () => onError(new Error('client aborted the request'));
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('aborted', onAborted);
  });
}
