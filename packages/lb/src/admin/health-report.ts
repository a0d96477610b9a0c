import type { AdminOperations } from './admin-operations';

/** The admin API's `GET /health`: is the balancer able to route, and what is wrong if not. */
export interface HealthReport {
  /** `ok`; `degraded` when something below is wrong (the balancer itself runs either way: 200). */
  readonly status: 'ok' | 'degraded';
  readonly inRotation: number;
  readonly upstreams: number;
  /** Each `{dns, port}` entry: its addresses (empty while the name does not resolve) and the resolver's last error. */
  readonly discovery: ReturnType<AdminOperations['list']>['discovery'];
  /** One sentence per problem, for a person or a monitor's alert text. */
  readonly problems: readonly string[];
}

/**
 * Builds the report from what the admin API lists anyway. The public `/__lb/health` on the traffic
 * port stays a bare status (DNS names and errors are the operator's business, like upstream URLs).
 */
export function healthReport(list: ReturnType<AdminOperations['list']>): HealthReport {
  const problems: string[] = [];
  if (list.inRotation.length === 0) problems.push('no upstream in rotation: requests get 503 (or panic routing)');
  for (const d of list.discovery) {
    if (d.error === undefined) continue;
    problems.push(
      d.addresses.length === 0
        ? `dns ${d.dns}:${d.port}: no address (${d.error}); still looking it up`
        : `dns ${d.dns}:${d.port}: last lookup failed (${d.error}); keeping its ${d.addresses.length} known address(es)`,
    );
  }
  return {
    status: problems.length === 0 ? 'ok' : 'degraded',
    inRotation: list.inRotation.length,
    upstreams: list.upstreams.length,
    discovery: list.discovery,
    problems,
  };
}
