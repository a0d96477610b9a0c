import type http from 'node:http';
import { connectionTokens } from './outgoing-headers';

/**
 * Hop-by-hop headers of the upstream's response stay behind (the client's connection is ours, so
 * Node writes its own Connection/Keep-Alive and chooses the framing), and so do the headers the
 * upstream named in its own Connection header.
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);
const OURS = new Set(['x-upstream', 'x-lb-split']);
/** MAYBE_DROPPED[n] is 1 when some header above is n characters long. */
const MAYBE_DROPPED = new Uint8Array(32);
for (const name of [...HOP_BY_HOP, ...OURS]) MAYBE_DROPPED[name.length] = 1;

/** Every value of header `name` (lowercase) in a raw [name, value, ...] list, or undefined when absent. */
export function rawHeaderValues(raw: string[], name: string): string[] | undefined {
  let out: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length === name.length && raw[i].toLowerCase() === name) (out ??= []).push(raw[i + 1]);
  }
  return out;
}

/** What we may write for an upstream's response, or why it cannot be passed on. */
export type ResponseHead = { ok: true; status: number; message: string; headers: string[] } | { ok: false; problem: string };

// A reason phrase is text on the status line: no control characters (Node would throw on them).
const REASON = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Checks an upstream's status line (the upstream is not trusted: a status below 200 as a final
 * response, above 599, or a control character in the reason would make Node throw when writing
 * it) and builds the header list: repeated headers (Set-Cookie) stay separate; `x-upstream` and
 * `x-lb-split` are ours.
 */
export function responseHead(proxyRes: http.IncomingMessage, upstream: string, splitGeneration: number): ResponseHead {
  const status = proxyRes.statusCode ?? 0;
  if (!Number.isInteger(status) || status < 200 || status > 599) return { ok: false, problem: `invalid status ${status}` };
  const message = proxyRes.statusMessage ?? '';
  if (!REASON.test(message)) return { ok: false, problem: 'control character in the status message' };
  // Read from the raw list (not proxyRes.headers, which Node and the undici engine build lazily:
  // a whole object per response for one header).
  const raw = proxyRes.rawHeaders;
  const connection = rawHeaderValues(raw, 'connection');
  // "Connection: keep-alive" (most upstreams) names nothing beyond the hop-by-hop set: no Set for it.
  const plain = connection?.length === 1 && /^\s*(keep-alive|close)\s*$/i.test(connection[0]);
  let named = plain ? undefined : connectionTokens(connection);
  if (named !== undefined && [...named].every((t) => HOP_BY_HOP.has(t) || t === 'close')) named = undefined;
  const headers: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    // Only names of a hop-by-hop length need lowercasing (most headers are none of these).
    if (named !== undefined || MAYBE_DROPPED[name.length] === 1) {
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower) || OURS.has(lower) || named?.has(lower)) continue;
    }
    headers.push(name, raw[i + 1]);
  }
  headers.push('x-upstream', upstream, 'x-lb-split', String(splitGeneration));
  return { ok: true, status, message, headers };
}
