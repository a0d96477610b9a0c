/** Checks an upstream URL; returns its normalized form (`http://host:port`) or a problem description. */
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
