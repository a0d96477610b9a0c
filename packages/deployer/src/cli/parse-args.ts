import { DeployError } from '../lb-client/deploy-error';

export type Strategy = 'rolling' | 'blue-green' | 'canary';

export interface CliArgs {
  strategy: Strategy;
  version: string;
  runtime: 'compose' | 'local';
  batchSize: number;
  drainTimeoutMs: number;
  healthTimeoutMs: number;
  pauseMs: number;
  surge: boolean;
  env: Record<string, string>;
  json?: string;
  adminUrl?: string;
  token?: string;
  project?: string;
  composeFile: string;
  envFile?: string;
  services: string[];
  state: string;
  /** blue-green */
  keepBlueMs: number;
  rollback: boolean;
  /** canary */
  canarySteps: number[];
  stepDurationMs: number;
  stepRequests: number;
  analysisIntervalMs: number;
  maxErrorRate: number;
  maxP99Ratio: number;
  p99SlackMs: number;
  minRequests: number;
  canaryInstances: number;
}

/** Options that only make sense with one strategy. */
const ONLY_FOR: Record<string, Strategy> = {
  '--batch-size': 'rolling',
  '--pause': 'rolling',
  '--surge': 'rolling',
  '--keep-blue': 'blue-green',
  '--rollback': 'blue-green',
  '--canary-steps': 'canary',
  '--step-duration': 'canary',
  '--step-requests': 'canary',
  '--analysis-interval': 'canary',
  '--max-error-rate': 'canary',
  '--max-p99-ratio': 'canary',
  '--p99-slack': 'canary',
  '--min-requests': 'canary',
  '--canary-instances': 'canary',
};

export const USAGE = `usage: npm run deploy -- --strategy rolling|blue-green|canary --version <v> [options]
       npm run rolling-deploy -- --version <v> [options]

  --strategy <s>           rolling (default), blue-green or canary
  --version <v>            version to deploy (required; letters, digits, . _ -)
  --runtime compose|local  where the instances run (default: compose)
  --batch-size <n>         instances replaced at once (default: 1)
  --drain-timeout <t>      wait for in-flight requests before stopping (default: 30s)
  --health-timeout <t>     time for a new instance to become healthy (default: 30s)
  --pause <t>              pause between batches (default: 0)
  --surge                  start each new instance beside the old one first
  blue-green:
  --keep-blue <t>          keep blue running (drained) this long after the switch (default: 0)
  --rollback               during that window: swap all traffic back to blue (no --version)
  canary:
  --canary-steps <list>    traffic shares in percent (default: 10,50,100)
  --step-duration <t>      minimum time per step (default: 30s)
  --step-requests <n>      minimum canary requests per step (default: 0)
  --analysis-interval <t>  how often the balancer's metrics are judged (default: 1s)
  --max-error-rate <x>     canary error rate may exceed baseline's by this (default: 0.01)
  --max-p99-ratio <x>      canary p99 may be this times baseline's (default: 2)...
  --p99-slack <t>          ...or baseline's plus this, whichever is larger (default: 50ms)
  --min-requests <n>       fewer canary requests than this cannot be judged (default: 20)
  --canary-instances <n>   canary instances beside the baseline (default: 1)
  --env KEY=VALUE          extra environment for the new version (repeatable)
  --json <file|->          write a machine-readable report
  --admin-url <url>        balancer admin API (default: http://127.0.0.1:8090)
  --token <t>              admin token (default: env LB_ADMIN_TOKEN, else the lab's)
  compose:  --project <name>  --compose-file <file>  --env-file <file>  --services a,b
  local:    --state <file>  (default: .lab/local/state.json)
Durations: 500ms, 30s, 2m or a number of milliseconds.`;

const DURATION = /^(\d+)(ms|s|m)?$/;

export function parseDuration(flag: string, raw: string): number {
  const m = DURATION.exec(raw.trim());
  if (!m) throw new DeployError('DEPLOY_ERR_ARGS', `${flag}: expected a duration like 500ms, 30s or 2m, got "${raw}"`);
  const n = Number(m[1]);
  return m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n;
}

/** Parses and validates every argument up front; one error lists every problem. */
export function parseArgs(argv: readonly string[], env: Record<string, string | undefined> = process.env): CliArgs {
  const problems: string[] = [];
  const out: CliArgs = {
    strategy: 'rolling',
    version: '',
    runtime: 'compose',
    batchSize: 1,
    drainTimeoutMs: 30_000,
    healthTimeoutMs: 30_000,
    pauseMs: 0,
    surge: false,
    env: {},
    composeFile: 'docker-compose.yml',
    services: ['client-1', 'client-2'],
    state: '.lab/local/state.json',
    token: env.LB_ADMIN_TOKEN || undefined,
    keepBlueMs: 0,
    rollback: false,
    canarySteps: [10, 50, 100],
    stepDurationMs: 30_000,
    stepRequests: 0,
    analysisIntervalMs: 1000,
    maxErrorRate: 0.01,
    maxP99Ratio: 2,
    p99SlackMs: 50,
    minRequests: 20,
    canaryInstances: 1,
  };
  const used = new Set<string>();
  const num = (flag: string, v: string, min: number, max: number, integer: boolean): number | undefined => {
    const n = Number(v);
    if (!v || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      problems.push(`${flag}: expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got "${v}"`);
      return undefined;
    }
    return n;
  };
  const args = [...argv];
  while (args.length > 0) {
    const raw = args.shift()!;
    const [flag, inline] = raw.startsWith('--') && raw.includes('=') ? [raw.slice(0, raw.indexOf('=')), raw.slice(raw.indexOf('=') + 1)] : [raw, undefined];
    const value = (): string => {
      const v = inline ?? args.shift();
      if (v === undefined || (inline === undefined && v.startsWith('--'))) {
        problems.push(`${flag}: needs a value`);
        if (v !== undefined) args.unshift(v);
        return '';
      }
      return v;
    };
    const duration = (): number => {
      const v = value();
      if (!v) return 0;
      try {
        return parseDuration(flag, v);
      } catch (err) {
        problems.push((err as Error).message);
        return 0;
      }
    };
    used.add(flag);
    switch (flag) {
      case '--strategy': {
        const v = value();
        if (v === 'rolling' || v === 'blue-green' || v === 'canary') out.strategy = v;
        else if (v) problems.push(`--strategy: expected rolling, blue-green or canary, got "${v}"`);
        break;
      }
      case '--keep-blue':
        out.keepBlueMs = duration();
        break;
      case '--rollback':
        out.rollback = true;
        break;
      case '--canary-steps': {
        const v = value();
        const steps = v.split(',').map((x) => Number(x.trim()));
        if (!v || steps.some((n) => !Number.isInteger(n) || n < 1 || n > 100) || steps.some((n, i) => i > 0 && n <= steps[i - 1])) {
          problems.push(`--canary-steps: expected rising percentages from 1 to 100 like 10,50,100, got "${v}"`);
        } else out.canarySteps = steps;
        break;
      }
      case '--step-duration':
        out.stepDurationMs = duration();
        break;
      case '--step-requests':
        out.stepRequests = num(flag, value(), 0, 10_000_000, true) ?? out.stepRequests;
        break;
      case '--analysis-interval':
        out.analysisIntervalMs = duration();
        if (out.analysisIntervalMs < 100) problems.push('--analysis-interval: must be at least 100ms');
        break;
      case '--max-error-rate':
        out.maxErrorRate = num(flag, value(), 0, 1, false) ?? out.maxErrorRate;
        break;
      case '--max-p99-ratio':
        out.maxP99Ratio = num(flag, value(), 1, 1000, false) ?? out.maxP99Ratio;
        break;
      case '--p99-slack':
        out.p99SlackMs = duration();
        break;
      case '--min-requests':
        out.minRequests = num(flag, value(), 1, 10_000_000, true) ?? out.minRequests;
        break;
      case '--canary-instances':
        out.canaryInstances = num(flag, value(), 1, 100, true) ?? out.canaryInstances;
        break;
      case '--version':
        out.version = value();
        if (out.version && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(out.version)) {
          problems.push(`--version: "${out.version}" is not a valid version (letters, digits, ".", "_", "-"; it becomes an image tag)`);
        }
        break;
      case '--runtime': {
        const v = value();
        if (v === 'compose' || v === 'local') out.runtime = v;
        else if (v) problems.push(`--runtime: expected compose or local, got "${v}"`);
        break;
      }
      case '--batch-size': {
        const v = value();
        const n = Number(v);
        if (v && (!Number.isInteger(n) || n < 1)) problems.push(`--batch-size: expected a positive integer, got "${v}"`);
        else if (v) out.batchSize = n;
        break;
      }
      case '--drain-timeout':
        out.drainTimeoutMs = duration();
        break;
      case '--health-timeout':
        out.healthTimeoutMs = duration();
        if (out.healthTimeoutMs === 0) problems.push('--health-timeout: must be more than 0');
        break;
      case '--pause':
        out.pauseMs = duration();
        break;
      case '--surge':
        out.surge = true;
        break;
      case '--env': {
        const v = value();
        const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(v);
        if (m) out.env[m[1]] = m[2];
        else if (v) problems.push(`--env: expected KEY=VALUE, got "${v}"`);
        break;
      }
      case '--json':
        out.json = value();
        break;
      case '--admin-url': {
        const v = value();
        try {
          if (v) out.adminUrl = new URL(v).toString().replace(/\/$/, '');
        } catch {
          problems.push(`--admin-url: "${v}" is not a URL`);
        }
        break;
      }
      case '--token':
        out.token = value();
        break;
      case '--project':
        out.project = value();
        break;
      case '--compose-file':
        out.composeFile = value();
        break;
      case '--env-file':
        out.envFile = value();
        break;
      case '--services':
        out.services = value().split(',').map((s) => s.trim()).filter(Boolean);
        if (out.services.length === 0) problems.push('--services: expected a comma-separated list of compose services');
        break;
      case '--state':
        out.state = value();
        break;
      default:
        problems.push(`unknown argument "${raw}"`);
    }
  }
  for (const flag of used) {
    const only = ONLY_FOR[flag];
    if (only && only !== out.strategy) problems.push(`${flag}: only applies to --strategy ${only} (this is ${out.strategy})`);
  }
  if (out.rollback && out.version) problems.push('--rollback: takes no --version (it swaps traffic back to the running blue set)');
  if (!out.rollback && !out.version && !problems.some((p) => p.startsWith('--version'))) problems.push('--version: required (the version to deploy, e.g. --version v2)');
  if (problems.length > 0) throw new DeployError('DEPLOY_ERR_ARGS', problems.join('\n'));
  return out;
}
