/**
 * Every default of the deployer, in one place: the CLI, its help text, the strategies' options,
 * the canary analysis and the demo all read them from here.
 */
export const DEPLOY_DEFAULTS = Object.freeze({
  strategy: 'rolling' as 'rolling' | 'blue-green' | 'canary',
  runtime: 'compose' as 'compose' | 'local',
  batchSize: 1,
  drainTimeoutMs: 30_000,
  healthTimeoutMs: 30_000,
  pauseMs: 0,
  surge: false,
  keepBlueMs: 0,
  canarySteps: Object.freeze([10, 50, 100]) as readonly number[],
  stepDurationMs: 30_000,
  stepRequests: 0,
  analysisIntervalMs: 1000,
  maxErrorRate: 0.01,
  maxP99Ratio: 2,
  p99SlackMs: 50,
  minRequests: 20,
  canaryInstances: 1,
  adminUrl: 'http://127.0.0.1:8090',
  composeFile: 'docker-compose.yml',
  project: 'zdl',
  services: Object.freeze(['client-1', 'client-2']) as readonly string[],
  state: '.lab/local/state.json',
  /**
   * The deploy lock's lease in the balancer: renewed every `lockRenewMs` while the deploy runs, so
   * a deployer that dies holds the lab for at most `lockLeaseMs` (and not at all when the next
   * deployer runs on the same host and sees that its process is gone).
   */
  lockLeaseMs: 10_000,
  lockRenewMs: 1_000,
});
