import type { DeployLabSwitches } from '../strategies/deploy-context';

/** The zero-downtime mechanisms the experiment switches off, one lab switch each (never a default). */
export const MECHANISMS = ['drain', 'retry', 'keepalive', 'health-gate', 'graceful'] as const;
export type Mechanism = (typeof MECHANISMS)[number];

export const MECHANISM_INFO: Record<Mechanism, { title: string; off: string }> = {
  drain: { title: 'deployer drains before stop', off: 'the deployer stops the instance while it is still in rotation, then deregisters it' },
  retry: { title: 'balancer retries never-reached requests', off: 'LB_LAB_DISABLE=retry: no retry on another upstream, even after a refused connection or a reset on a reused socket' },
  keepalive: { title: 'balancer closes idle sockets first', off: 'KEEP_ALIVE_TIMEOUT_MS=2000 in the service, below the balancer\'s 4 s idle socket time' },
  'health-gate': { title: 'health gate', off: 'LB_LAB_DISABLE=health-gate: a new instance is in rotation as soon as it is registered, before any health check passed' },
  graceful: { title: 'graceful shutdown of the service', off: 'LAB_EXIT_ON_SIGTERM=1: the service exits at once on SIGTERM' },
};

/** Every place a switch lands: the balancer's and the service's environment, the deployer's context. */
export interface LabKnobs {
  lbEnv: Record<string, string>;
  clientEnv: Record<string, string>;
  deploy: DeployLabSwitches;
}

/** The lab knobs that switch off every mechanism not in `on`. */
export function knobsFor(on: ReadonlySet<Mechanism>): LabKnobs {
  const lbOff: string[] = [];
  const knobs: LabKnobs = { lbEnv: {}, clientEnv: {}, deploy: {} };
  if (!on.has('drain')) knobs.deploy.noDrain = true;
  if (!on.has('retry')) lbOff.push('retry');
  if (!on.has('health-gate')) lbOff.push('health-gate');
  if (!on.has('keepalive')) knobs.clientEnv.KEEP_ALIVE_TIMEOUT_MS = '2000';
  if (!on.has('graceful')) knobs.clientEnv.LAB_EXIT_ON_SIGTERM = '1';
  if (lbOff.length > 0) knobs.lbEnv.LB_LAB_DISABLE = lbOff.join(',');
  return knobs;
}
