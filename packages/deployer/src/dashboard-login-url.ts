/**
 * The URL that logs a browser into the balancer's dashboard: it sets an HttpOnly cookie and
 * redirects to /dashboard without the token. It carries the admin token: print it for the person
 * at the terminal, never into a log.
 */
export function dashboardLoginUrl(adminUrl: string, token: string | undefined): string {
  const base = adminUrl.replace(/\/+$/, '');
  return token ? `${base}/dashboard?token=${encodeURIComponent(token)}` : `${base}/dashboard (no admin token configured: the dashboard refuses everyone)`;
}
