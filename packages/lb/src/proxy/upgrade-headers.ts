import type http from 'node:http';

/** Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection and are never forwarded as such. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'trailer', 'upgrade', 'proxy-authorization']);
/** The WebSocket handshake's own headers: each side's handshake generates its own (RFC 6455 §4). */
const WEBSOCKET_HANDSHAKE = new Set(['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'sec-websocket-accept', 'sec-websocket-protocol']);

/** Header names the `Connection` header lists: hop-by-hop too (RFC 9110 §7.6.1). */
function namedInConnection(value: string | string[] | undefined): Set<string> {
  const names = new Set<string>();
  for (const v of Array.isArray(value) ? value : value ? [value] : []) for (const n of v.split(',')) if (n.trim()) names.add(n.trim().toLowerCase());
  return names;
}

/**
 * The end-to-end headers of a client's upgrade request, as sent to the upstream: hop-by-hop headers
 * (and those named in `Connection`) stay behind, `websocket: true` also drops the handshake's own
 * headers; X-Forwarded-For/-Proto/-Host are added. The caller adds `Connection: upgrade` and
 * `Upgrade` again for the hop it opens (an upgrade is the one hop-by-hop request a proxy re-creates).
 */
export function upstreamUpgradeHeaders(req: http.IncomingMessage, websocket: boolean): Record<string, string | string[]> {
  const drop = namedInConnection(req.headers.connection);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || drop.has(name)) continue;
    if (websocket && WEBSOCKET_HANDSHAKE.has(name)) continue;
    out[name] = value;
  }
  const addr = req.socket.remoteAddress ?? '';
  const xff = req.headers['x-forwarded-for'];
  out['x-forwarded-for'] = xff ? `${Array.isArray(xff) ? xff.join(', ') : xff}, ${addr}` : addr;
  out['x-forwarded-proto'] ??= 'http';
  out['x-forwarded-host'] ??= req.headers.host ?? '';
  return out;
}

/**
 * An upstream's raw response header list for the client: hop-by-hop headers dropped except, with
 * `keepUpgrade`, `Connection`/`Upgrade` of a 101 (the client's hop switches protocols too).
 */
export function clientResponseHeaders(raw: readonly string[], upstream: string, keepUpgrade: boolean): string {
  const drop = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) if (raw[i].toLowerCase() === 'connection') for (const n of namedInConnection(raw[i + 1])) drop.add(n);
  let out = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    const keep = keepUpgrade && (name === 'connection' || name === 'upgrade');
    if (!keep && (HOP_BY_HOP.has(name) || drop.has(name) || name === 'x-upstream')) continue;
    out += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  return out + `x-upstream: ${upstream}\r\n`;
}
