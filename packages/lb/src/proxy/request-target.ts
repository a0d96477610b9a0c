import type http from 'node:http';
import { parse as legacyParse } from 'node:url';

/**
 * The path to send upstream for a request target, or undefined when it cannot be proxied (→ 400).
 * Origin-form ("/path?q") passes as is; absolute-form ("http://host/path") becomes its origin form;
 * anything else ("*", authority-form, a URL Node's parser accepts but a URL parser rejects, such
 * as "http://[::1/x") is refused. The proxy engine parses the target again with the legacy
 * url.parse, so the result is checked with it too: no target can make the engine throw.
 */
export function upstreamPath(req: http.IncomingMessage): string | undefined {
  const raw = req.url ?? '';
  let path: string;
  // The common case: an origin-form path not starting with "//" has no authority for url.parse to
  // reject, so it needs no second parse.
  if (raw.charCodeAt(0) === 47 /* / */ && raw.charCodeAt(1) !== 47) return raw;
  if (raw.startsWith('/')) path = raw;
  else {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      return undefined;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
    path = u.pathname + u.search;
  }
  try {
    legacyParse(path);
  } catch {
    return undefined;
  }
  return path;
}
