/**
 * Checks an upstream URL; returns its normalized form (`http://host:port`, IPv6 hosts in brackets)
 * or a problem description.
 */
export function parseUpstreamUrl(raw: unknown): { url: string; name: string } | { problem: string } {
  if (typeof raw !== 'string' || raw.trim() === '') return { problem: 'expected a URL string like http://host:8081' };
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    return { problem: `"${raw}" is not a valid URL (expected http://host:port)` };
  }
  if (u.protocol !== 'http:') return { problem: `"${raw}": only http:// upstreams are supported` };
  if (u.username || u.password) return { problem: `"${raw}": credentials in upstream URLs are not supported` };
  if ((u.pathname && u.pathname !== '/') || u.search || u.hash) {
    return { problem: `"${raw}": must be scheme, host and port only (no path, query or fragment)` };
  }
  const port = u.port || '80';
  return { url: `http://${u.hostname}:${port}`, name: `${u.hostname}:${port}` };
}

/** The host to connect to: WHATWG URLs keep IPv6 literals in brackets, which a DNS lookup would not find. */
export function connectHost(target: URL): string {
  const h = target.hostname;
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

/**
 * The same backend spelled differently (`localhost:8081` and `127.0.0.1:8081`) must not be
 * registered twice (it would get double weight): loopback spellings share one key.
 */
export function backendKey(url: string): string {
  const u = new URL(url);
  const host = connectHost(u);
  const loopback = host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
  return `${loopback ? 'loopback' : host.toLowerCase()}:${u.port || '80'}`;
}
