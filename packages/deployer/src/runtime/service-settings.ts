import { DeployError } from '../lb-client/deploy-error';
import type { CommandRunner } from './command-runner';

/**
 * Labels a compose service may carry so the deployer needs no flags for it (flags win):
 *   zdl.port         the port the service listens on (the balancer's `{dns, port}` entry)
 *   zdl.health-path  its health path (the balancer's healthCheck.path must be it)
 *   zdl.dns          the name the balancer resolves, if not the service name
 */
export const SERVICE_LABELS = { port: 'zdl.port', healthPath: 'zdl.health-path', dns: 'zdl.dns' } as const;

export interface ServiceSettings {
  port: number;
  healthPath: string;
  dnsName: string;
  /** The image the compose file names for the service (what runs before any deploy). */
  image?: string;
  /** The compose project, as compose resolves it. */
  project: string;
}

/**
 * Reads one service's settings from the compose file as compose itself resolves it (`docker compose
 * config --format json`: variables substituted, labels as a map), flags first.
 */
export async function readServiceSettings(
  run: CommandRunner,
  composeArgs: string[],
  cwd: string,
  service: string,
  flags: { port?: number; healthPath?: string },
): Promise<ServiceSettings> {
  let config: { name?: string; services?: Record<string, { image?: string; labels?: Record<string, string> | string[] }> };
  try {
    config = JSON.parse(await run('docker', ['compose', ...composeArgs, 'config', '--format', 'json'], { cwd }));
  } catch (err) {
    throw new DeployError('DEPLOY_ERR_ARGS', `--compose-file: docker compose cannot read it: ${(err as Error).message}`);
  }
  const svc = config.services?.[service];
  if (!svc) throw new DeployError('DEPLOY_ERR_ARGS', `--service: no service "${service}" in the compose file (it has: ${Object.keys(config.services ?? {}).join(', ') || 'none'})`);
  const labels: Record<string, string> = Array.isArray(svc.labels)
    ? Object.fromEntries(svc.labels.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
    : (svc.labels ?? {});
  let port = flags.port;
  if (port === undefined) {
    const raw = labels[SERVICE_LABELS.port];
    if (raw === undefined) throw new DeployError('DEPLOY_ERR_ARGS', `--port: required (or the label ${SERVICE_LABELS.port} on service "${service}")`);
    port = Number(raw);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new DeployError('DEPLOY_ERR_ARGS', `label ${SERVICE_LABELS.port} of service "${service}": expected a port from 1 to 65535, got "${raw}"`);
  }
  const healthPath = flags.healthPath ?? labels[SERVICE_LABELS.healthPath] ?? '/ping';
  if (!healthPath.startsWith('/')) throw new DeployError('DEPLOY_ERR_ARGS', `label ${SERVICE_LABELS.healthPath} of service "${service}": expected a path starting with /, got "${healthPath}"`);
  return { project: config.name ?? '', port, healthPath, dnsName: labels[SERVICE_LABELS.dns] ?? service, ...(svc.image ? { image: svc.image } : {}) };
}
