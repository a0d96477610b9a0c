/** How a proxied request failed, and what the client is told. */
export interface ProxyFailure {
  /** unreachable: the connection never opened, so the request never reached the application. */
  kind: 'unreachable' | 'reset' | 'timeout' | 'dead';
  status: 502 | 504;
  code: string;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);
/** The undici engine's own timers (http-proxy's are ours, and set the flags instead). */
const UNDICI_CONNECT_TIMEOUT = 'UND_ERR_CONNECT_TIMEOUT';
const UNDICI_TIMEOUT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** The one place that maps proxy failures to statuses and stable codes. */
export function classifyProxyError(
  err: NodeJS.ErrnoException,
  flags: { connectTimedOut: boolean; timedOut: boolean; abortedAsDead: boolean; abortedBeforeConnect: boolean },
): ProxyFailure {
  if (flags.connectTimedOut) return { kind: 'unreachable', status: 502, code: 'LB_UPSTREAM_CONNECT_TIMEOUT' };
  if (flags.abortedBeforeConnect) return { kind: 'unreachable', status: 502, code: 'LB_UPSTREAM_DOWN' };
  if (flags.abortedAsDead) return { kind: 'dead', status: 502, code: 'LB_UPSTREAM_DOWN' };
  if (err.code === UNDICI_CONNECT_TIMEOUT) return { kind: 'unreachable', status: 502, code: 'LB_UPSTREAM_CONNECT_TIMEOUT' };
  if (flags.timedOut || (err.code !== undefined && UNDICI_TIMEOUT.has(err.code))) return { kind: 'timeout', status: 504, code: 'LB_UPSTREAM_TIMEOUT' };
  if (err.code && UNREACHABLE.has(err.code)) return { kind: 'unreachable', status: 502, code: 'LB_UPSTREAM_UNREACHABLE' };
  // The upstream's bytes are not HTTP (a parser refused its status line or head; undici's parser
  // is stricter than Node's, e.g. on a status below 100): like a reset, but said as what it is.
  if (err.code?.startsWith('HPE_')) return { kind: 'reset', status: 502, code: 'LB_UPSTREAM_BAD_RESPONSE' };
  return { kind: 'reset', status: 502, code: 'LB_UPSTREAM_RESET' };
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

export const isIdempotent = (method: string | undefined): boolean => IDEMPOTENT.has(method ?? 'GET');
