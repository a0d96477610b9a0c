import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BenchArgsError } from './bench-args';
import { say } from './bench-log';
import { benchMembership } from './membership-bench';
import { MEMBERSHIP_USAGE, parseMembershipArgs } from './membership-args';
import { formatMembership, rssPerUpstreamKiB, summarizeMembership } from './membership-report';
import { cleanupAll } from './procs';
import { round } from './stats';
import { DIST } from './targets';
import { wrkVersion } from './wrk';

/**
 * npm run bench:membership: the `membership` section on its own (it needs no other proxy and no
 * other part of npm run bench). Prints the table with ratios and writes <out>/membership.json.
 */
function fail(msg: string): never {
  process.stderr.write(`bench:membership: ${msg}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseMembershipArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof BenchArgsError) fail(`${err.message}\n${MEMBERSHIP_USAGE}`);
    throw err;
  }
  if (args === 'help') {
    process.stdout.write(MEMBERSHIP_USAGE + '\n');
    return;
  }
  if (!fs.existsSync(path.join(DIST, 'many-upstreams.js'))) fail('packages/bench is not built: run npm run build');
  if (!fs.existsSync(args.lbMain)) fail(`${args.lbMain} is missing: run npm run build`);
  const generator = args.generator ?? (wrkVersion() ? 'wrk' : 'autocannon');
  if (generator === 'wrk' && !wrkVersion()) fail('wrk is not installed (npm run bench:deps), or use --generator autocannon');
  const loadavg = os.loadavg().map((x) => round(x, 2));
  say(`membership bench: 2 vs ${args.upstreams} upstreams, ${args.rounds} round(s) × ${args.durationS} s, ${args.connections} connections (${generator}); node ${process.version}, ${os.cpus().length} cores, load average ${loadavg.join(' ')}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zdl-bench-membership-'));
  say(`configs and logs in ${dir}`);
  const runs = await benchMembership({
    dir,
    lbMain: args.lbMain,
    counts: [2, args.upstreams],
    rounds: args.rounds,
    durationMs: args.durationS * 1000,
    warmupMs: 1500,
    connections: args.connections,
    generator,
    idleMs: 3000,
    registrations: args.registrations,
    probes: args.probes,
    probeRate: args.probeRate,
    say,
  });
  const figs = summarizeMembership(runs);
  const table = formatMembership(figs);
  process.stdout.write(`\n${table}\n`);
  fs.mkdirSync(args.out, { recursive: true });
  const file = path.join(args.out, 'membership.json');
  fs.writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), command: `npm run bench:membership -- ${process.argv.slice(2).join(' ')}`.trim(), node: process.version, cpus: os.cpus().length, loadavgAtStart: loadavg, generator, figures: figs, rssPerUpstreamKiB: rssPerUpstreamKiB(figs), runs }, null, 2));
  say(`wrote ${file}`);
}

const interrupted = (sig: NodeJS.Signals) => {
  say(`${sig}: stopping what the bench started`);
  void cleanupAll().finally(() => process.exit(130));
};
process.once('SIGINT', interrupted);
process.once('SIGTERM', interrupted);

main()
  .then(() => cleanupAll())
  .catch(async (err: Error) => {
    process.stderr.write(`bench:membership: ${err.message}\n`);
    await cleanupAll();
    process.exit(1);
  });
