import path from 'node:path';
import { parseArgs } from 'node:util';
import { BenchArgsError } from './bench-args';
import type { ClosedGenerator } from './load-worker';
import { DEFAULT_LB_MAIN, REPO } from './targets';

export interface MembershipArgs {
  upstreams: number;
  rounds: number;
  durationS: number;
  connections: number;
  registrations: number;
  probes: number;
  probeRate: number;
  /** undefined: wrk if installed, else autocannon */
  generator?: ClosedGenerator;
  lbMain: string;
  out: string;
}

/** Every option with its help text; the usage is generated from this. */
const OPTIONS = {
  quick: { type: 'boolean', help: '1 round of 2 s, 5 probes (about 40 s)' },
  upstreams: { type: 'string', value: '<n>', help: 'upstreams of the large balancer, compared with 2 (default 500)' },
  rounds: { type: 'string', value: '<n>', help: 'rounds, each measuring both balancers in alternating order (default 3)' },
  duration: { type: 'string', value: '<s>', help: 'seconds of closed-loop load per measurement (default 5; warm-up 1.5 s before)' },
  connections: { type: 'string', value: '<n>', help: 'closed-loop concurrency (default 50)' },
  registrations: { type: 'string', value: '<n>', help: 'instances registered through POST /registrations, timed (default 100)' },
  probes: { type: 'string', value: '<n>', help: 'new upstreams timed from first passing check to first request (default 10)' },
  'probe-rate': { type: 'string', value: '<n>', help: 'requests/s while the probes join (default 500)' },
  generator: { type: 'string', value: '<g>', help: 'closed-loop load generator: wrk (default when installed) or autocannon' },
  'lb-main': { type: 'string', value: '<file>', help: 'the balancer to measure (default packages/lb/dist/main.js)' },
  out: { type: 'string', value: '<dir>', help: 'results directory (default bench-results): writes membership.json' },
  help: { type: 'boolean', short: 'h', help: 'this help' },
} as const satisfies Record<string, { type: 'boolean' | 'string'; help: string; value?: string; short?: string }>;

export const MEMBERSHIP_USAGE = [
  'usage: npm run bench:membership -- [options]',
  'The balancer with many upstreams (one process listening on that many loopback ports) against 2, health checks every second.',
  ...Object.entries(OPTIONS).map(([k, o]) => `  ${`--${k}${'value' in o ? ` ${o.value}` : ''}`.padEnd(24)}${o.help}`),
].join('\n');

/** Parses the arguments; throws one BenchArgsError listing every problem. `help` means print the usage. */
export function parseMembershipArgs(argv: string[]): MembershipArgs | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    const config = Object.fromEntries(Object.entries(OPTIONS).map(([k, o]) => [k, { type: o.type, ...('short' in o ? { short: o.short } : {}) }]));
    values = parseArgs({ args: argv, options: config, strict: true, allowPositionals: false }).values as typeof values;
  } catch (err) {
    throw new BenchArgsError((err as Error).message);
  }
  if (values.help) return 'help';
  const quick = values.quick === true;
  const problems: string[] = [];
  const int = (key: string, min: number, max: number, fallback: number): number => {
    const raw = values[key];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`--${key}: expected an integer ${min}..${max}, got "${String(raw)}"`);
      return fallback;
    }
    return n;
  };
  const a: MembershipArgs = {
    upstreams: int('upstreams', 3, 4000, 500),
    rounds: int('rounds', 1, 20, quick ? 1 : 3),
    durationS: int('duration', 1, 120, quick ? 2 : 5),
    connections: int('connections', 1, 1000, 50),
    registrations: int('registrations', 1, 1000, 100),
    probes: int('probes', 1, 100, quick ? 5 : 10),
    probeRate: int('probe-rate', 10, 20_000, 500),
    lbMain: values['lb-main'] ? path.resolve(String(values['lb-main'])) : DEFAULT_LB_MAIN,
    out: values.out ? path.resolve(String(values.out)) : path.join(REPO, 'bench-results'),
  };
  if (values.generator !== undefined) {
    if (values.generator !== 'wrk' && values.generator !== 'autocannon') problems.push(`--generator: expected wrk or autocannon, got "${String(values.generator)}"`);
    else a.generator = values.generator;
  }
  if (problems.length > 0) throw new BenchArgsError(problems.join('\n'));
  return a;
}
