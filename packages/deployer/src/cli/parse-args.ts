import { parseArgs as parseTokens } from 'node:util';
import { DEPLOY_DEFAULTS as D } from '../deploy-defaults';
import { DeployError } from '../lb-client/deploy-error';
import { EXIT_CODES_HELP } from './exit-codes';

export type Strategy = 'rolling' | 'blue-green' | 'canary';
/** deploy (the default), status, recover (--recover: repair only), rollback (blue/green --rollback). */
export type Command = 'deploy' | 'status' | 'recover' | 'rollback';

export interface CliArgs {
  command: Command;
  strategy: Strategy;
  version: string;
  runtime: 'compose' | 'local' | 'swarm';
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
  force: boolean;
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
  /** swarm: the stack (its service is --service, without the stack prefix). */
  stack?: string;
  /** The service to deploy: a compose service with N replicas (compose-replicas-runtime.ts), or a service of the swarm stack. */
  service?: string;
  /** The image to deploy (compose replicas: image:tag; swarm: a repository, tagged with the version). */
  image?: string;
  /** Any compose service: its port and health path (else its labels). */
  port?: number;
  healthPath?: string;
}

type Section = 'deploy' | 'blue-green' | 'canary' | 'crash safety' | 'connection' | 'compose' | 'any compose service' | 'local' | 'swarm';

/** One option: how it is read, where it applies, and its line in --help. */
interface OptionDef {
  key: keyof CliArgs;
  boolean?: boolean;
  /** The value's placeholder in --help. */
  arg?: string;
  help: string;
  /** Shown in --help as "(default: ...)". */
  shown?: string;
  section: Section;
  /** Options of one strategy are refused with another. */
  only?: Strategy;
  /** Turns the raw text into the value, or returns a problem (without the flag's name). */
  read?: (raw: string, out: CliArgs) => unknown | { problem: string };
  /** Also valid with `status`. */
  forStatus?: boolean;
}

const problem = (p: string) => ({ problem: p });
const DURATION = /^(\d+)(ms|s|m)?$/;

export function parseDuration(flag: string, raw: string): number {
  const m = DURATION.exec(raw.trim());
  if (!m) throw new DeployError('DEPLOY_ERR_ARGS', `${flag}: expected a duration like 500ms, 30s or 2m, got "${raw}"`);
  const n = Number(m[1]);
  return m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n;
}

const duration = (min = 0) => (raw: string) => {
  const m = DURATION.exec(raw.trim());
  if (!m) return problem(`expected a duration like 500ms, 30s or 2m, got "${raw}"`);
  const ms = Number(m[1]) * (m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 1);
  return ms < min ? problem(`must be at least ${min}ms`) : ms;
};
const number = (min: number, max: number, integer: boolean) => (raw: string) => {
  const n = Number(raw);
  return raw.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))
    ? problem(`expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got "${raw}"`)
    : n;
};
const oneOf = (...allowed: string[]) => (raw: string) => (allowed.includes(raw) ? raw : problem(`expected ${allowed.join(', ').replace(/, ([^,]*)$/, ' or $1')}, got "${raw}"`));
const ms = (n: number) => (n === 0 ? '0' : n % 60_000 === 0 ? `${n / 60_000}m` : n % 1000 === 0 ? `${n / 1000}s` : `${n}ms`);

/** The options, in --help order; the help text is generated from these. */
export const OPTIONS: Record<string, OptionDef> = {
  strategy: { key: 'strategy', arg: '<s>', help: 'rolling, blue-green or canary', shown: D.strategy, section: 'deploy', read: oneOf('rolling', 'blue-green', 'canary') },
  version: {
    key: 'version',
    arg: '<v>',
    help: 'version to deploy (required; letters, digits, . _ -)',
    section: 'deploy',
    read: (v) => (/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(v) ? v : problem(`"${v}" is not a valid version (letters, digits, ".", "_", "-"; it becomes an image tag)`)),
  },
  runtime: { key: 'runtime', arg: 'compose|local|swarm', help: 'where the instances run', shown: D.runtime, section: 'deploy', read: oneOf('compose', 'local', 'swarm'), forStatus: true },
  'batch-size': { key: 'batchSize', arg: '<n>', help: 'instances replaced at once', shown: String(D.batchSize), section: 'deploy', only: 'rolling', read: number(1, 1000, true) },
  'drain-timeout': { key: 'drainTimeoutMs', arg: '<t>', help: 'wait for in-flight requests before stopping', shown: ms(D.drainTimeoutMs), section: 'deploy', read: duration() },
  'health-timeout': { key: 'healthTimeoutMs', arg: '<t>', help: 'time for a new instance to become healthy', shown: ms(D.healthTimeoutMs), section: 'deploy', read: duration(1) },
  pause: { key: 'pauseMs', arg: '<t>', help: 'pause between batches', shown: ms(D.pauseMs), section: 'deploy', only: 'rolling', read: duration() },
  surge: { key: 'surge', boolean: true, help: 'start each new instance beside the old one first', section: 'deploy', only: 'rolling' },
  env: {
    key: 'env',
    arg: 'KEY=VALUE',
    help: 'extra environment for the new version (repeatable)',
    section: 'deploy',
    read: (v, out) => {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(v);
      return m ? { ...out.env, [m[1]]: m[2] } : problem(`expected KEY=VALUE, got "${v}"`);
    },
  },
  json: { key: 'json', arg: '<file|->', help: 'write a machine-readable report (-: stdout carries only JSON, progress goes to stderr)', section: 'deploy', forStatus: true },
  'keep-blue': { key: 'keepBlueMs', arg: '<t>', help: 'keep blue running (drained) this long after the switch', shown: ms(D.keepBlueMs), section: 'blue-green', only: 'blue-green', read: duration() },
  rollback: { key: 'rollback', boolean: true, help: 'during that window: swap all traffic back to blue (no --version)', section: 'blue-green', only: 'blue-green' },
  'canary-steps': {
    key: 'canarySteps',
    arg: '<list>',
    help: 'traffic shares in percent',
    shown: D.canarySteps.join(','),
    section: 'canary',
    only: 'canary',
    read: (v) => {
      const steps = v.split(',').map((x) => Number(x.trim()));
      return steps.some((n) => !Number.isInteger(n) || n < 1 || n > 100) || steps.some((n, i) => i > 0 && n <= steps[i - 1])
        ? problem(`expected rising percentages from 1 to 100 like 10,50,100, got "${v}"`)
        : steps;
    },
  },
  'step-duration': { key: 'stepDurationMs', arg: '<t>', help: 'minimum time per step', shown: ms(D.stepDurationMs), section: 'canary', only: 'canary', read: duration() },
  'step-requests': { key: 'stepRequests', arg: '<n>', help: 'minimum canary requests per step', shown: String(D.stepRequests), section: 'canary', only: 'canary', read: number(0, 10_000_000, true) },
  'analysis-interval': { key: 'analysisIntervalMs', arg: '<t>', help: "how often the balancer's metrics are judged", shown: ms(D.analysisIntervalMs), section: 'canary', only: 'canary', read: duration(100) },
  'max-error-rate': { key: 'maxErrorRate', arg: '<x>', help: "canary error rate may exceed baseline's by this", shown: String(D.maxErrorRate), section: 'canary', only: 'canary', read: number(0, 1, false) },
  'max-p99-ratio': { key: 'maxP99Ratio', arg: '<x>', help: "canary p99 may be this times baseline's...", shown: String(D.maxP99Ratio), section: 'canary', only: 'canary', read: number(1, 1000, false) },
  'p99-slack': { key: 'p99SlackMs', arg: '<t>', help: "...or baseline's plus this, whichever is larger", shown: ms(D.p99SlackMs), section: 'canary', only: 'canary', read: duration() },
  'min-requests': { key: 'minRequests', arg: '<n>', help: 'fewer canary requests than this cannot be judged', shown: String(D.minRequests), section: 'canary', only: 'canary', read: number(1, 10_000_000, true) },
  'canary-instances': { key: 'canaryInstances', arg: '<n>', help: 'canary instances beside the baseline', shown: String(D.canaryInstances), section: 'canary', only: 'canary', read: number(1, 100, true) },
  recover: { key: 'command', boolean: true, help: 'only repair what an interrupted deploy left (no --version)', section: 'crash safety' },
  force: { key: 'force', boolean: true, help: "take over the deploy lock even though its holder's lease runs (with a warning)", section: 'crash safety' },
  'admin-url': {
    key: 'adminUrl',
    arg: '<url>',
    help: 'balancer admin API',
    shown: D.adminUrl,
    section: 'connection',
    forStatus: true,
    read: (v) => {
      try {
        return new URL(v).toString().replace(/\/$/, '');
      } catch {
        return problem(`"${v}" is not a URL`);
      }
    },
  },
  token: { key: 'token', arg: '<t>', help: "admin token (default: env LB_ADMIN_TOKEN, else the lab's)", section: 'connection', forStatus: true },
  project: { key: 'project', arg: '<name>', help: 'compose project', shown: `$COMPOSE_PROJECT_NAME or ${D.project}`, section: 'compose', forStatus: true },
  'compose-file': { key: 'composeFile', arg: '<file>', help: 'compose file', shown: D.composeFile, section: 'compose', forStatus: true },
  'env-file': { key: 'envFile', arg: '<file>', help: "where versions are kept (default: .env beside the compose file)", section: 'compose', forStatus: true },
  services: {
    key: 'services',
    arg: 'a,b',
    help: "the service's compose services, one slot each",
    shown: D.services.join(','),
    section: 'compose',
    forStatus: true,
    read: (v) => {
      const list = v.split(',').map((s) => s.trim()).filter(Boolean);
      return list.length > 0 ? list : problem('expected a comma-separated list of compose services');
    },
  },
  service: {
    key: 'service',
    arg: '<name>',
    help: 'deploy the replicas of this compose service (any image; the balancer discovers them by DNS); with --runtime swarm, the stack\'s service (default client)',
    section: 'any compose service',
    forStatus: true,
    read: (v) => (/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/.test(v) ? v : problem(`"${v}" is not a service name`)),
  },
  image: {
    key: 'image',
    arg: '<image:tag>',
    help: 'the image to deploy (--version defaults to its tag); with --runtime swarm the tag may be left out (then it is --version; default repository zdl/swarm-client)',
    section: 'any compose service',
    forStatus: true,
    read: (v) => (/^[a-z0-9][a-z0-9._\/:@-]*$/.test(v) && !/\s/.test(v) ? v : problem(`"${v}" is not an image reference like myorg/web:2.1`)),
  },
  port: { key: 'port', arg: '<n>', help: 'the port it listens on', shown: 'its label zdl.port', section: 'any compose service', forStatus: true, read: number(1, 65535, true) },
  'health-path': {
    key: 'healthPath',
    arg: '</path>',
    help: "its health path (the balancer's healthCheck.path must be it)",
    shown: 'its label zdl.health-path, else /ping',
    section: 'any compose service',
    forStatus: true,
    read: (v) => (/^\/[\x21-\x7e]*$/.test(v) ? v : problem(`expected a path starting with /, got "${v}"`)),
  },
  state: { key: 'state', arg: '<file>', help: "the local lab's state file", shown: D.state, section: 'local', forStatus: true },
  stack: { key: 'stack', arg: '<name>', help: 'swarm stack', shown: `$ZDL_STACK or ${D.project}`, section: 'swarm', forStatus: true, read: (v) => (/^[a-z0-9][a-z0-9_-]{0,39}$/.test(v) ? v : problem(`"${v}" is not a stack name (lower-case letters, digits, - and _)`)) },
};

export function usage(): string {
  const lines = [
    'usage: npm run deploy -- --strategy rolling|blue-green|canary --version <v> [options]',
    '       npm run rolling-deploy -- --version <v> [options]',
    '       npm run deploy -- status [--json -]        the lab now: upstreams, split, lock, last deploy',
    '       npm run deploy -- --recover                only repair what an interrupted deploy left',
    '       npm run deploy -- --compose-file <file> --service <name> --image <image:tag> [--strategy s] [options]',
  ];
  let section: Section | undefined;
  for (const [name, o] of Object.entries(OPTIONS)) {
    if (o.section !== section) {
      section = o.section;
      lines.push('', `${section}:`);
    }
    const flag = `  --${name}${o.arg ? ` ${o.arg}` : ''}`;
    lines.push(`${flag.padEnd(28)} ${o.help}${o.shown !== undefined ? ` (default: ${o.shown})` : ''}`);
  }
  lines.push('', 'Durations: 500ms, 30s, 2m or a number of milliseconds.', '', EXIT_CODES_HELP);
  return lines.join('\n');
}

/** `--help`/`-h` anywhere. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

/** Parses and validates every argument up front; one error lists every problem, nothing is done. */
export function parseArgs(argv: readonly string[], env: Record<string, string | undefined> = process.env): CliArgs {
  const out: CliArgs = {
    command: 'deploy',
    strategy: D.strategy,
    version: '',
    runtime: D.runtime,
    batchSize: D.batchSize,
    drainTimeoutMs: D.drainTimeoutMs,
    healthTimeoutMs: D.healthTimeoutMs,
    pauseMs: D.pauseMs,
    surge: D.surge,
    env: {},
    composeFile: D.composeFile,
    services: [...D.services],
    state: D.state,
    token: env.LB_ADMIN_TOKEN || undefined,
    force: false,
    keepBlueMs: D.keepBlueMs,
    rollback: false,
    canarySteps: [...D.canarySteps],
    stepDurationMs: D.stepDurationMs,
    stepRequests: D.stepRequests,
    analysisIntervalMs: D.analysisIntervalMs,
    maxErrorRate: D.maxErrorRate,
    maxP99Ratio: D.maxP99Ratio,
    p99SlackMs: D.p99SlackMs,
    minRequests: D.minRequests,
    canaryInstances: D.canaryInstances,
  };
  const problems: string[] = [];
  const options = Object.fromEntries(Object.entries(OPTIONS).map(([n, o]) => [n, { type: o.boolean ? ('boolean' as const) : ('string' as const) }]));
  // strict: false so that every problem is collected here, with our wording, instead of the first thrown.
  const { tokens } = parseTokens({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const used: string[] = [];
  let recover = false;
  for (const t of tokens ?? []) {
    if (t.kind === 'positional') {
      if (t.value === 'status' && t.index === 0) out.command = 'status';
      else if (t.value === 'status') problems.push('status: the command comes first (npm run deploy -- status ...)');
      else problems.push(`unexpected argument "${t.value}"${t.index === 0 ? ' (the only command is "status"; a deploy takes options only)' : ''}`);
      continue;
    }
    if (t.kind !== 'option') continue;
    const def = OPTIONS[t.name];
    if (!def) {
      problems.push(`unknown argument "${t.rawName}"`);
      continue;
    }
    const flag = `--${t.name}`;
    used.push(t.name);
    if (def.boolean) {
      if (t.value !== undefined) problems.push(`${flag}: takes no value`);
      else if (t.name === 'recover') recover = true;
      else (out as unknown as Record<string, unknown>)[def.key] = true;
      continue;
    }
    if (t.value === undefined || (!t.inlineValue && t.value.startsWith('--'))) {
      problems.push(`${flag}: needs a value${t.value ? ` (got "${t.value}")` : ''}`);
      continue;
    }
    const v = def.read ? def.read(t.value, out) : t.value;
    if (typeof v === 'object' && v !== null && 'problem' in v) problems.push(`${flag}: ${(v as { problem: string }).problem}`);
    else (out as unknown as Record<string, unknown>)[def.key] = v;
  }
  if (out.command === 'status') {
    for (const n of used) if (!OPTIONS[n].forStatus) problems.push(`--${n}: does not apply to "status"`);
  } else {
    for (const n of new Set(used)) {
      const only = OPTIONS[n].only;
      if (only && only !== out.strategy) problems.push(`--${n}: only applies to --strategy ${only} (this is ${out.strategy})`);
    }
    if (recover) out.command = 'recover';
    else if (out.rollback) out.command = 'rollback';
    if (out.command === 'recover' && out.rollback) problems.push('--recover: cannot be combined with --rollback');
    if ((out.command === 'recover' || out.command === 'rollback') && out.version) {
      problems.push(`--${out.command === 'recover' ? 'recover' : 'rollback'}: takes no --version (${out.command === 'recover' ? 'it only repairs' : 'it swaps traffic back to the running blue set'})`);
    }
    // Any compose service: the version shown is the image's tag unless --version says otherwise.
    if (out.image && !used.includes('version')) {
      const tag = /:([^:/@]+)$/.exec(out.image)?.[1];
      if (tag && /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(tag)) out.version = tag;
      // Swarm tags a repository with --version, so a repository alone is fine there (--version is then required below).
      else if (out.runtime !== 'swarm') problems.push(`--image: "${out.image}" has no usable tag; give --version`);
    }
    if (out.runtime === 'swarm' && out.image && used.includes('version')) {
      const tag = /:([^:/@]+)$/.exec(out.image)?.[1];
      if (tag && tag !== out.version) problems.push(`--image: its tag "${tag}" and --version ${out.version} disagree (swarm tags the image with the version)`);
    }
    if (out.runtime !== 'swarm') {
      if (out.command === 'deploy' && out.service && !out.image) problems.push('--image: required with --service (the image to deploy, e.g. --image myorg/web:2.1)');
      if (out.image && !out.service) problems.push('--image: only applies with --service <compose service>');
    }
    if (out.stack && out.runtime !== 'swarm') problems.push('--stack: only applies with --runtime swarm');
    if (out.command === 'deploy' && !out.version && !used.includes('version')) problems.push('--version: required (the version to deploy, e.g. --version v2)');
  }
  if (problems.length > 0) throw new DeployError('DEPLOY_ERR_ARGS', problems.join('\n'));
  return out;
}
