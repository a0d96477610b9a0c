import path from 'node:path';
import { BenchArgsError } from './bench-args';
import { REPO } from './targets';

/** The arguments of npm run bench:deploy-rate (documented in compose-deploy-rate.ts). */
export interface DeployRateArgs {
  settings: { engine: string; workers: number }[];
  rates: number[];
  loadS: number;
  p99Ms: number;
  all: boolean;
  baseline: boolean;
  via: 'container' | 'published';
  dockerCpuShares?: number;
  /** cpu_shares of the balancer's container (LB_CPU_SHARES in the compose file). */
  lbCpuShares?: number;
  /** The load generator's nice (below 0 needs root). */
  generatorNice?: number;
  out: string;
}

export function parseDeployRateArgs(argv: string[]): DeployRateArgs {
  const ts = new Date().toISOString().replace(/[:.]/g, '-');
  const a: DeployRateArgs = {
    settings: ['http-proxy:1', 'http-proxy:2', 'undici:1', 'undici:2'].map(setting),
    rates: [500, 1000, 1500, 2000, 2500, 3000],
    loadS: 16,
    p99Ms: 100,
    all: false,
    baseline: true,
    via: 'container',
    out: path.join(REPO, 'bench-results', `deploy-rate-${ts}.json`),
  };
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--all' || k === '--no-baseline') {
      if (k === '--all') a.all = true;
      else a.baseline = false;
      continue;
    }
    const v = argv[++i];
    if (v === undefined) problems.push(`${k}: needs a value`);
    else if (k === '--settings') a.settings = v.split(',').map(setting);
    else if (k === '--rates') a.rates = v.split(',').map(Number);
    else if (k === '--load-s') a.loadS = Number(v);
    else if (k === '--p99-ms') a.p99Ms = Number(v);
    else if (k === '--out') a.out = path.resolve(v);
    else if (k === '--via') {
      if (v === 'container' || v === 'published') a.via = v;
      else problems.push(`--via: expected container or published, got "${v}"`);
    } else if (k === '--docker-cpu-shares' || k === '--lb-cpu-shares') {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 2 || n > 262144) problems.push(`${k}: expected an integer from 2 to 262144, got "${v}"`);
      else if (k === '--docker-cpu-shares') a.dockerCpuShares = n;
      else a.lbCpuShares = n;
    } else if (k === '--generator-nice') {
      const n = Number(v);
      if (!Number.isInteger(n) || n < -20 || n > 19) problems.push(`--generator-nice: expected an integer from -20 to 19, got "${v}"`);
      else a.generatorNice = n;
    }
    else problems.push(`unknown argument ${k}`);
  }
  if (a.settings.some((s) => !['http-proxy', 'undici'].includes(s.engine) || !(s.workers >= 1))) problems.push('--settings: expected engine:workers pairs, e.g. undici:2 (engine http-proxy or undici)');
  if (a.rates.some((r) => !(r > 0))) problems.push('--rates: expected positive numbers');
  if (!(a.loadS >= 12)) problems.push('--load-s: expected a number ≥ 12 (the load must cover the deploy)');
  if (!(a.p99Ms > 0)) problems.push('--p99-ms: expected a positive number');
  if (problems.length) throw new BenchArgsError(problems.join('\n'));
  a.rates.sort((x, y) => x - y);
  return a;
}

function setting(s: string): { engine: string; workers: number } {
  const [engine, workers] = s.split(':');
  return { engine, workers: Number(workers ?? 1) };
}

