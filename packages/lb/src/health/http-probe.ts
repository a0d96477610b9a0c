import http from 'node:http';
import { connectHost } from '../config/parse-upstream-url';
import { type CheckResult, DOWN_CODES } from '../pool/upstream';

/** One health check: GET `path` on a fresh connection (a pooled one could hide a dead host). */
export type Probe = (target: URL, path: string, timeoutMs: number) => Promise<CheckResult>;

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);
/** A health answer is small; a larger body is not read to the end (the check is decided by then). */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * A check is over when its whole response has been read or its timeout fires, and its socket is
 * closed either way: an upstream that sends headers and never ends the body neither passes nor
 * leaks a socket per check.
 */
export const httpProbe: Probe = (target, path, timeoutMs) =>
  new Promise((resolve) => {
    let settled = false;
    const done = (r: CheckResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    let req: http.ClientRequest;
    try {
      req = http.request(
        { host: connectHost(target), port: target.port || 80, path, method: 'GET', agent: false, headers: { 'user-agent': 'zdl-lb-health' } },
        (res) => {
          let bytes = 0;
          const verdict = (): CheckResult => ({ ok: res.statusCode === 200, reason: `GET ${path} → ${res.statusCode}` });
          res.on('data', (c: Buffer) => {
            bytes += c.length;
            if (bytes > MAX_BODY_BYTES) done(verdict());
          });
          res.on('end', () => done(verdict()));
          res.on('error', () => done({ ok: false, reason: `GET ${path}: response cut (${res.statusCode})` }));
          res.on('close', () => {
            if (!res.complete) done({ ok: false, reason: `GET ${path}: response cut (${res.statusCode})` });
          });
        },
      );
    } catch (err) {
      // A path Node refuses (validated at load, so only a bug gets here): a failed check, not a crash.
      resolve({ ok: false, reason: `GET ${path} cannot be sent: ${(err as Error).message}` });
      return;
    }
    // The timer runs before pending I/O in the event loop's turn: on a busy machine the answer may be
    // waiting in the socket already when the timer fires late. setImmediate lets that I/O be read
    // first, so a starved balancer does not fail a check its upstream answered in time.
    const timer = setTimeout(
      () => setImmediate(() => done({ ok: false, reason: `GET ${path} timed out after ${timeoutMs} ms`, unreachable: true })),
      timeoutMs,
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? 'ERROR';
      done({ ok: false, reason: `GET ${path} failed: ${code}`, unreachable: UNREACHABLE.has(code), down: DOWN_CODES.has(code) });
    });
    req.end();
  });
