import type http from 'node:http';

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, not the request, and are never
 * forwarded; nor is Expect (we answer 100-continue ourselves and send the body we already hold),
 * nor the client's framing (the framing upstream always describes the body we actually send).
 */
const NOT_FORWARDED = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect', 'content-length']);

/** How the body we send upstream is framed; chosen by the proxy, never copied from the client. */
export type Framing = { kind: 'none' } | { kind: 'length'; bytes: number } | { kind: 'chunked' };

/** The names a Connection header lists (its tokens are hop-by-hop too). */
export function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const tokens = new Set<string>();
  for (const v of Array.isArray(value) ? value : [value]) for (const t of v.split(',')) tokens.add(t.trim().toLowerCase());
  return tokens;
}

/**
 * The headers sent to the upstream: the client's end-to-end headers, X-Forwarded-* set here (or,
 * behind a trusted proxy, extended), and exactly one framing header matching the body sent.
 */
export function outgoingHeaders(req: http.IncomingMessage, framing: Framing, trustForwarded: boolean): http.OutgoingHttpHeaders {
  const src = req.headers;
  const named = connectionTokens(src.connection);
  const out: http.OutgoingHttpHeaders = {};
  for (const name in src) {
    if (NOT_FORWARDED.has(name) || named?.has(name)) continue;
    out[name] = src[name];
  }
  if (framing.kind === 'length') out['content-length'] = framing.bytes;
  else if (framing.kind === 'chunked') out['transfer-encoding'] = 'chunked';
  const addr = req.socket.remoteAddress ?? '';
  if (trustForwarded) {
    out['x-forwarded-for'] = src['x-forwarded-for'] ? `${src['x-forwarded-for']}, ${addr}` : addr;
    out['x-forwarded-proto'] = src['x-forwarded-proto'] ?? 'http';
    out['x-forwarded-host'] = src['x-forwarded-host'] ?? src.host ?? '';
  } else {
    out['x-forwarded-for'] = addr;
    out['x-forwarded-proto'] = 'http';
    out['x-forwarded-host'] = src.host ?? '';
  }
  return out;
}
