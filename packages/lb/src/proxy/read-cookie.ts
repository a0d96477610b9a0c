/** The value of one cookie in a Cookie header, without parsing the others. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      const v = part.slice(eq + 1).trim();
      try {
        return v ? decodeURIComponent(v) : undefined;
      } catch {
        return v;
      }
    }
  }
  return undefined;
}
