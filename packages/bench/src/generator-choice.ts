import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { BenchArgs } from './bench-args';
import { BenchArgsError } from './bench-args';
import { say } from './bench-log';
import type { ClosedGenerator } from './load-worker';
import { which } from './procs';
import { REPO } from './targets';
import { wrkVersion } from './wrk';

export interface GeneratorInfo {
  /** The closed-loop phase's load generator. */
  closed: ClosedGenerator;
  version?: string;
  /** How it is run. */
  command: string;
  /** Why autocannon when wrk was not asked for explicitly. */
  note?: string;
}

/** wrk when installed (or asked for), else autocannon with a note: on 2 cores autocannon takes a core. */
export function pickGenerator(args: BenchArgs): GeneratorInfo {
  const wrk = which('wrk') ? wrkVersion() : undefined;
  const wrkInfo = (): GeneratorInfo => ({ closed: 'wrk', version: wrk, command: `wrk -t1 -c${args.connections} -d<s>s --latency --timeout 10s -s <json report script>` });
  const acInfo = (note?: string): GeneratorInfo => {
    let version: string | undefined;
    try {
      version = (JSON.parse(fs.readFileSync(require.resolve('autocannon/package.json'), 'utf8')) as { version: string }).version;
    } catch {
      /* not found: leave it out */
    }
    return { closed: 'autocannon', version: version && `autocannon ${version}`, command: `autocannon in one Node process, ${args.connections} connections, pipelining 1, timeout 10 s`, note };
  };
  if (args.generator === 'wrk') {
    if (!wrk) throw new BenchArgsError('--generator wrk: wrk is not installed (npm run bench:deps installs it, as root, from Debian)');
    return wrkInfo();
  }
  if (args.generator === 'autocannon') return acInfo();
  if (wrk) return wrkInfo();
  const note =
    'wrk is not installed: the closed loop uses autocannon, a Node process that takes about a core of its own, so nginx/HAProxy are held back by the generator ' +
    'and the ratios against them are distorted. Install wrk with: npm run bench:deps (as root)';
  say(`NOTE: ${note}`);
  return acInfo(note);
}

export function ensureProxies(): string[] {
  const notes: string[] = [];
  const missing = ['nginx', 'haproxy', 'caddy'].filter((b) => !which(b));
  if (missing.length === 0) return notes;
  const script = path.join(REPO, 'scripts/bench-deps.sh');
  if (process.getuid?.() === 0 && fs.existsSync(script)) {
    say(`installing ${missing.join(', ')} from Debian's packages (scripts/bench-deps.sh)...`);
    const r = spawnSync('bash', [script], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) notes.push(`scripts/bench-deps.sh failed (exit ${r.status})`);
  }
  for (const b of ['nginx', 'haproxy', 'caddy']) if (!which(b)) notes.push(`${b} is not installed (apt-get install ${b === 'nginx' ? 'nginx-light' : b}): its rows are skipped`);
  return notes;
}
