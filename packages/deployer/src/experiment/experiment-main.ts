import fs from 'node:fs';
import path from 'node:path';
import { execRunner } from '../runtime/command-runner';
import type { ComposeExperimentLab } from './compose-experiment-lab';
import { experimentChart } from './experiment-chart';
import { ExperimentLoad } from './experiment-load';
import { selectRows, type ExperimentRow } from './experiment-rows';
import { markdownTable, rowResult, textTable, type RowResult } from './experiment-table';
import { mainCause } from './failure-causes';
import { MECHANISM_INFO, MECHANISMS } from './mechanisms';
import { DEFAULT_MEASURE, type MeasureOptions, type RunResult } from './measure-deploy';
import type { LocalLab } from '../local-lab';
import { REPO_COMPOSE_FILE, runComposeRow } from './run-compose-row';
import { runLocalRow } from './run-local-row';

const REPO = path.resolve(__dirname, '../../../..');

const USAGE = `usage: npm run experiment [-- options]

Runs the same rolling deploy (v1 → v2, two instances) under the same load with every zero-downtime
mechanism on, all off, each off alone and each on alone, and shows the failed requests by cause.

  --runtime local|compose   local processes (default, no Docker) or the compose lab
  --rows <id,id,...>        only these rows (default: all; see the list below)
  --repeat <n>              runs of each row (default 1)
  --rate <n>                GET/s (default ${DEFAULT_MEASURE.rate}; POST/s is a tenth; 5 slow GET/s and 5 slow POST/s always)
  --out <dir>               results directory (default experiment-results)
  --json <file>             also write the results as JSON there
                            (the balancer's log of every run goes to <out>/logs/)
  --no-docs                 don't write docs/experiment-<runtime>.{svg,md} (a full run writes them)
  --render <results.json>   only re-render the table and chart of a saved run (its JSON)

Mechanisms (each switched off by a lab-only knob, never a default):
${MECHANISMS.map((m) => `  ${m.padEnd(12)} ${MECHANISM_INFO[m].title}; off: ${MECHANISM_INFO[m].off}`).join('\n')}`;

interface Args {
  runtime: 'local' | 'compose';
  rows?: string;
  repeat: number;
  rate: number;
  out: string;
  json?: string;
  docs: boolean;
  /** Re-render the table and chart of a saved results JSON, without running anything. */
  render?: string;
}

class ArgsError extends Error {}

function parseArgs(argv: string[]): Args {
  const a: Args = { runtime: 'local', repeat: 1, rate: DEFAULT_MEASURE.rate, out: path.join(REPO, 'experiment-results'), docs: true };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new ArgsError(`${flag}: needs a value`);
      return v;
    };
    const int = (min: number, max: number) => {
      const raw = value();
      const n = Number(raw);
      if (!Number.isInteger(n) || n < min || n > max) throw new ArgsError(`${flag}: expected an integer from ${min} to ${max}, got "${raw}"`);
      return n;
    };
    switch (flag) {
      case '--runtime': {
        const v = value();
        if (v !== 'local' && v !== 'compose') throw new ArgsError(`--runtime: expected local or compose, got "${v}"`);
        a.runtime = v;
        break;
      }
      case '--rows':
        a.rows = value();
        break;
      case '--repeat':
        a.repeat = int(1, 20);
        break;
      case '--rate':
        a.rate = int(10, 2000);
        break;
      case '--out':
        a.out = path.resolve(value());
        break;
      case '--json':
        a.json = path.resolve(value());
        break;
      case '--no-docs':
        a.docs = false;
        break;
      case '--render':
        a.render = path.resolve(value());
        break;
      case '--help':
      case '-h':
        process.stdout.write(USAGE + '\n');
        process.exit(0);
      // eslint-disable-next-line no-fallthrough
      default:
        throw new ArgsError(`unknown argument "${argv[i]}"`);
    }
  }
  return a;
}

async function main(): Promise<void> {
  let args: Args;
  let rows: ExperimentRow[];
  try {
    args = parseArgs(process.argv.slice(2));
    rows = selectRows(args.runtime, args.rows);
  } catch (err) {
    process.stderr.write(`experiment: ${(err as Error).message}\n${err instanceof ArgsError ? 'see npm run experiment -- --help\n' : ''}`);
    process.exit(2);
  }
  const say = (s: string) => process.stdout.write(s + '\n');
  process.stdout.on('error', () => {});
  if (args.render) {
    let saved: SavedRun;
    try {
      saved = JSON.parse(fs.readFileSync(args.render, 'utf8')) as SavedRun;
      if (!Array.isArray(saved.rows)) throw new Error('no "rows" array');
    } catch (err) {
      process.stderr.write(`experiment: --render: ${args.render}: ${(err as Error).message}\n`);
      process.exit(2);
    }
    writeResults({ ...saved, repeat: saved.repeat ?? saved.rows[0]?.runs.length ?? 1 }, args, saved.rows.length === selectRows(saved.runtime, undefined).length, say);
    return;
  }

  // Whatever runs now is stopped on any exit: an interrupted experiment leaves nothing behind.
  let localLab: LocalLab | undefined;
  let composeLab: ComposeExperimentLab | undefined;
  process.once('exit', () => localLab?.killAllSync());
  const onSignal = () => {
    say('\ninterrupted: stopping the lab...');
    void Promise.all([localLab?.stop(), composeLab?.down()]).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const measure: MeasureOptions = { ...DEFAULT_MEASURE, rate: args.rate };
  const command = `npm run experiment -- ${process.argv.slice(2).join(' ')}`.trim().replace(/ --$/, '');
  say(`experiment on the ${args.runtime} runtime: ${rows.length} rows × ${args.repeat} run(s); load: ${ExperimentLoad.describe(args.rate)}`);
  const results: RowResult[] = [];
  for (const row of rows) {
    const runs: RunResult[] = [];
    for (let i = 0; i < args.repeat; i++) {
      const run =
        args.runtime === 'local'
          ? await runLocalRow(row, { ...measure, logDir: path.join(args.out, 'logs'), onLab: (l) => (localLab = l) })
          : await runComposeRow(row, { ...measure, logDir: path.join(args.out, 'logs'), run: execRunner, composeFile: REPO_COMPOSE_FILE, projectPrefix: 'zdl-exp', onLab: (l) => (composeLab = l) });
      runs.push(run);
      say(`  ${row.id.padEnd(20)} run ${i + 1}: failed ${run.tally.failed} of ${run.tally.sent}, retried ${run.retries ?? '?'}, ping timeouts ${run.pingTimeouts ?? '?'}, deploy ${run.deploy.ok ? 'ok' : 'FAILED'} in ${(run.deploy.durationMs / 1000).toFixed(1)} s${run.tally.failed ? ` (${Object.entries(run.tally.byCause).map(([c, n]) => `${n} × ${c}`).join(', ')})` : ''}`);
    }
    results.push(rowResult(row, runs));
  }

  const when = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  writeResults({ command, when, runtime: args.runtime, repeat: args.repeat, load: ExperimentLoad.describe(args.rate), rows: results }, args, !args.rows, say);
}

interface SavedRun {
  command: string;
  when: string;
  runtime: 'local' | 'compose';
  repeat: number;
  load: string;
  rows: RowResult[];
}

/** The table (markdown and text), the chart and the JSON of a run; docs/ too for a run of every row. */
function writeResults(run: SavedRun, args: Args, allRows: boolean, say: (s: string) => void): void {
  const { command, when, runtime, repeat } = run;
  const subtitle = [`${command} (${runtime} runtime, ${when}, ${repeat} run(s) per row)`, `load: ${run.load}`];
  const md = [`Command: \`${command}\` (${when}, ${runtime} runtime, ${repeat} run(s) per row)`, '', markdownTable(run.rows), ''].join('\n');
  const svg = experimentChart(run.rows, subtitle);
  const json = JSON.stringify({ ...run, rows: run.rows.map((r) => ({ ...r, mainCause: mainCause(r.total) })) }, null, 2);
  fs.mkdirSync(args.out, { recursive: true });
  const written = [path.join(args.out, `${runtime}.md`), path.join(args.out, `${runtime}.svg`), path.join(args.out, `${runtime}.json`)];
  fs.writeFileSync(written[0], md);
  fs.writeFileSync(written[1], svg);
  fs.writeFileSync(written[2], json);
  if (args.json) fs.writeFileSync(args.json, json);
  if (args.docs && allRows) {
    fs.writeFileSync(path.join(REPO, 'docs', `experiment-${runtime}.svg`), svg);
    fs.writeFileSync(path.join(REPO, 'docs', `experiment-${runtime}.md`), md);
    written.push(`docs/experiment-${runtime}.{svg,md}`);
  }
  say(`\n${textTable(run.rows)}\n\nwritten: ${written.map((w) => path.relative(REPO, w) || w).join(', ')}`);
}

main().catch((err) => {
  process.stderr.write(`experiment: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
