import { DeployError } from '../lb-client/deploy-error';

export interface CliArgs {
  strategy: 'rolling';
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
}

export const USAGE = `usage: npm run rolling-deploy -- --version <v> [options]
       npm run deploy -- --strategy rolling --version <v> [options]

  --version <v>            version to deploy (required; letters, digits, . _ -)
  --runtime compose|local  where the instances run (default: compose)
  --batch-size <n>         instances replaced at once (default: 1)
  --drain-timeout <t>      wait for in-flight requests before stopping (default: 30s)
  --health-timeout <t>     time for a new instance to become healthy (default: 30s)
  --pause <t>              pause between batches (default: 0)
  --surge                  start each new instance beside the old one first
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
    switch (flag) {
      case '--strategy': {
        const v = value();
        if (v && v !== 'rolling') problems.push(`--strategy: expected rolling, got "${v}"`);
        break;
      }
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
  if (!out.version && !problems.some((p) => p.startsWith('--version'))) problems.push('--version: required (the version to deploy, e.g. --version v2)');
  if (problems.length > 0) throw new DeployError('DEPLOY_ERR_ARGS', problems.join('\n'));
  return out;
}
