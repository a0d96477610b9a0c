import type { ExperimentRow } from './experiment-rows';
import { addTallies, explain, type FailureTally } from './failure-causes';
import { MECHANISMS, type Mechanism } from './mechanisms';
import type { RunResult } from './measure-deploy';

export interface RowResult {
  id: string;
  label: string;
  on: Mechanism[];
  naive: boolean;
  runs: RunResult[];
  /** Every run of the row added up. */
  total: FailureTally;
  /** One sentence from the causes the load checker saw. */
  explanation: string;
}

export function rowResult(row: ExperimentRow, runs: RunResult[]): RowResult {
  const total = addTallies(runs.map((r) => r.tally));
  let explanation = explain(total, runs.length);
  const failedDeploys = runs.filter((r) => !r.deploy.ok);
  if (failedDeploys.length) explanation += ` The deploy itself failed: ${failedDeploys[0].deploy.error ?? 'unknown error'}.`;
  return { id: row.id, label: row.label, on: MECHANISMS.filter((m) => row.on.has(m)), naive: row.naive === true, runs, total, explanation };
}

const HEAD: Record<Mechanism, string> = { drain: 'drain', retry: 'retry', keepalive: 'keep-alive order', 'health-gate': 'health gate', graceful: 'graceful stop' };

/** The markdown table the README carries: one line per row. */
export function markdownTable(rows: RowResult[]): string {
  const lines = [
    `| row | ${MECHANISMS.map((m) => HEAD[m]).join(' | ')} | failed / sent | failed by cause | retried | ping timeouts | what went wrong |`,
    `|---|${MECHANISMS.map(() => ':-:').join('|')}|--:|---|--:|--:|---|`,
  ];
  for (const r of rows) {
    const marks = MECHANISMS.map((m) => (r.naive ? (m === 'drain' || m === 'health-gate' ? '–' : 'on') : r.on.includes(m) ? 'on' : '**off**'));
    lines.push(
      `| \`${r.id}\` | ${marks.join(' | ')} | ${failedCell(r)} | ${causeCell(r.total)} | ${logCell(r, 'retries')} | ${logCell(r, 'pingTimeouts')} | ${r.explanation} |`,
    );
  }
  return lines.join('\n');
}

/** "12 / 3,011", or per run "12, 10, 11 / 9,030" when the row ran more than once. */
export function failedCell(r: RowResult): string {
  const per = r.runs.map((x) => x.tally.failed).join(', ');
  return `${per} / ${r.total.sent.toLocaleString('en-US')}`;
}

export function causeCell(t: FailureTally): string {
  const e = Object.entries(t.byCause);
  return e.length ? e.map(([c, n]) => `${n} × ${c}`).join('<br>') : '–';
}

function logCell(r: RowResult, key: 'retries' | 'pingTimeouts'): string {
  const xs = r.runs.map((x) => x[key]);
  return xs.every((x) => x === undefined) ? '?' : xs.map((x) => x ?? '?').join(', ');
}

/** The same for a terminal. */
export function textTable(rows: RowResult[]): string {
  const w = Math.max(...rows.map((r) => r.id.length));
  const out: string[] = [];
  for (const r of rows) {
    const marks = r.naive ? 'compose up --force-recreate, no deployer' : MECHANISMS.map((m) => (r.on.includes(m) ? m : `-${m}`)).join(' ');
    out.push(`${r.id.padEnd(w)}  failed ${failedCell(r).padEnd(14)} ${marks}`);
    const timeouts = r.runs.reduce((a, x) => a + (x.pingTimeouts ?? 0), 0);
    if (timeouts) out.push(`${''.padEnd(w)}    (the balancer took an instance out ${timeouts} time(s) for health-check timeouts: machine overloaded?)`);
    for (const [c, n] of Object.entries(r.total.byCause)) out.push(`${''.padEnd(w)}    ${String(n).padStart(4)} × ${c}`);
    out.push(`${''.padEnd(w)}    ${r.explanation}`);
  }
  return out.join('\n');
}
