import path from 'node:path';
import { parseArgs } from 'node:util';
import type { ClosedGenerator } from './load-worker';
import { DEFAULT_LB_MAIN, REPO } from './targets';

export interface BenchArgs {
  quick: boolean;
  rounds: number;
  durationS: number;
  warmupS: number;
  connections: number;
  /** undefined: wrk if installed, else autocannon */
  generator?: ClosedGenerator;
  rate: number;
  soakS: number;
  soakRate: number;
  targets?: string[];
  extras: boolean;
  floors: boolean;
  lbMain: string;
  variants: { name: string; main: string }[];
  deploy: boolean;
  deploySizes: number[];
  detect: boolean;
  detectSignals: ('SIGKILL' | 'SIGSTOP')[];
  compose: boolean;
  /** req/s with the dashboard's event stream open vs closed. */
  dashboard: boolean;
  out: string;
}

export class BenchArgsError extends Error {
  readonly code = 'BENCH_ERR_ARGS';
}

/** Every option with its help text: the usage below is generated from this, so the two cannot drift. */
const OPTIONS = {
  quick: { type: 'boolean', help: '1 round of 2 s per figure, no soak, 2-instance deploy only, no extra rows (< 1 min)' },
  rounds: { type: 'string', value: '<n>', help: 'rounds over all targets (full: 5)' },
  duration: { type: 'string', value: '<s>', help: 'seconds per measurement (full: 7; warm-up before each closed loop in round 1: 2 s (quick 1.5 s), 0.3 s after)' },
  connections: { type: 'string', value: '<n>', help: 'fixed concurrency (default 50)' },
  generator: { type: 'string', value: '<g>', help: 'closed-loop load generator: wrk (default when installed: C, 1 thread) or autocannon (Node)' },
  rate: { type: 'string', value: '<n>', help: 'fixed request rate for the latency figures (default 2000)' },
  soak: { type: 'string', value: '<s>', help: 'balancer memory soak length, 0 for none (full: 300)' },
  'soak-rate': { type: 'string', value: '<n>', help: 'request rate of the soak (default 1000)' },
  targets: { type: 'string', value: '<a,b,...>', help: 'only these: direct,lb,http-proxy,nginx,haproxy,caddy,nginx-auto,lb-cluster2,lb-undici,lb-undici-cluster2,node-http,undici' },
  extras: { type: 'boolean', help: 'extra rows (full: on): nginx with worker_processes auto, the balancer with LB_WORKERS=2' },
  'no-extras': { type: 'boolean', help: 'no extra rows' },
  floors: { type: 'boolean', help: 'two more extra rows: prototype floors without http-proxy (node:http.request, undici)' },
  'lb-main': { type: 'string', value: '<file>', help: 'the balancer to measure (default packages/lb/dist/main.js)' },
  lb: { type: 'string', value: '<name=main.js>', multiple: true, help: 'an extra balancer build as its own row, e.g. a patched copy (repeatable)' },
  'no-deploy': { type: 'boolean', help: 'skip the deploy timing part' },
  'no-detect': { type: 'boolean', help: 'skip the failure detection part' },
  'no-dashboard': { type: 'boolean', help: "skip req/s with the dashboard's event stream open vs closed" },
  compose: { type: 'boolean', help: 'also time npm run rolling-deploy on a running compose lab (skipped if none)' },
  out: { type: 'string', value: '<dir>', help: 'results directory (default bench-results)' },
  help: { type: 'boolean', short: 'h', help: 'this help' },
} as const satisfies Record<string, { type: 'boolean' | 'string'; help: string; value?: string; multiple?: boolean; short?: string }>;

export const USAGE = [
  'usage: npm run bench -- [options]',
  ...Object.entries(OPTIONS).map(([k, o]) => `  ${`--${k}${'value' in o ? ` ${o.value}` : ''}`.padEnd(24)}${o.help}`),
].join('\n');

/** Parses the bench's arguments; throws one BenchArgsError listing every problem. `help` means print USAGE. */
export function parseBenchArgs(argv: string[]): BenchArgs | 'help' {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    const config = Object.fromEntries(Object.entries(OPTIONS).map(([k, o]) => [k, { type: o.type, ...('multiple' in o ? { multiple: true } : {}), ...('short' in o ? { short: o.short } : {}) }]));
    values = parseArgs({ args: argv, options: config, strict: true, allowPositionals: false }).values as typeof values;
  } catch (err) {
    throw new BenchArgsError((err as Error).message);
  }
  if (values.help) return 'help';
  const quick = values.quick === true;
  const problems: string[] = [];
  const num = (key: string, min: number): number | undefined => {
    const raw = values[key];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) {
      problems.push(`--${key}: expected a number ≥ ${min}, got "${String(raw)}"`);
      return undefined;
    }
    return n;
  };
  const a: BenchArgs = {
    quick,
    // Five rounds: with three, one disturbed round (a noisy neighbour on this VM) could move a median by 10-20%.
    rounds: Math.round(num('rounds', 1) ?? (quick ? 1 : 5)),
    durationS: num('duration', 0.5) ?? (quick ? 2 : 7),
    // Node's JIT needs more than a second of load before its figures settle (a 0.5 s warm-up
    // left the Node proxies' quick-mode figures 20-30% low and noisy).
    warmupS: quick ? 1.5 : 2,
    connections: Math.round(num('connections', 1) ?? 50),
    rate: num('rate', 1) ?? 2000,
    soakS: num('soak', 0) ?? (quick ? 0 : 300),
    soakRate: num('soak-rate', 1) ?? 1000,
    extras: values['no-extras'] ? false : values.extras ? true : !quick,
    floors: values.floors === true,
    lbMain: values['lb-main'] ? path.resolve(values['lb-main'] as string) : DEFAULT_LB_MAIN,
    variants: [],
    deploy: values['no-deploy'] !== true,
    deploySizes: quick ? [2] : [2, 10],
    detect: values['no-detect'] !== true,
    detectSignals: quick ? ['SIGKILL'] : ['SIGKILL', 'SIGSTOP'],
    compose: values.compose === true,
    dashboard: values['no-dashboard'] !== true,
    out: values.out ? path.resolve(values.out as string) : path.join(REPO, 'bench-results'),
  };
  if (values.generator !== undefined) {
    if (values.generator !== 'wrk' && values.generator !== 'autocannon') problems.push(`--generator: expected wrk or autocannon, got "${String(values.generator)}"`);
    else a.generator = values.generator;
  }
  if (values.targets !== undefined) a.targets = String(values.targets).split(',').map((s) => s.trim()).filter(Boolean);
  for (const v of (values.lb as string[] | undefined) ?? []) {
    const [name, main] = v.split('=');
    if (!name || !main) problems.push(`--lb: expected name=path/to/main.js, got "${v}"`);
    else a.variants.push({ name, main: path.resolve(main) });
  }
  if (problems.length > 0) throw new BenchArgsError(problems.join('\n'));
  return a;
}
