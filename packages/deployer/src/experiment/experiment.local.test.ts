import fs from 'node:fs';
import path from 'node:path';
import { experimentRows } from './experiment-rows';
import type { MeasureOptions, RunResult } from './measure-deploy';
import { parseDocumentedRows, README_MARKERS } from './readme-table';
import { runLocalRow } from './run-local-row';

// The experiment on real local processes under real load: the proof that our zero-failure tests
// can fail. Each row is a fresh lab (~5-15 s); the rows run one after the other.
jest.setTimeout(120_000);

const README = path.resolve(__dirname, '../../../../README.md');
const documented = parseDocumentedRows(fs.readFileSync(README, 'utf8'), README_MARKERS.local);
/** Rows the README shows failing in every run: they must fail again, for the same main cause. */
const failing = documented.filter((r) => r.failed.length > 0 && r.failed.every((n) => n > 0));
// A shorter warm-up and tail than the CLI's: the failures happen at the stops, in the deploy itself.
const MEASURE: MeasureOptions = { rate: 200, warmupMs: 1500, tailMs: 500 };

const rows = new Map(experimentRows('local').map((r) => [r.id, r]));
const runs = new Map<string, Promise<RunResult>>();
const run = (id: string) => {
  const row = rows.get(id);
  if (!row) throw new Error(`the README documents an unknown row ${id}`);
  if (!runs.has(id)) runs.set(id, runLocalRow(row, MEASURE));
  return runs.get(id)!;
};

describe('npm run experiment on the local runtime (what each mechanism prevents)', () => {
  it('the README documents every row, and some of them failing', () => {
    expect(documented.map((r) => r.id).sort()).toEqual([...rows.keys()].sort());
    expect(failing.map((r) => r.id)).toContain('all-off');
  });

  it('everything on: a rolling deploy under load with 0 failed requests', async () => {
    const r = await run('all-on');
    expect(r.deploy).toMatchObject({ ok: true });
    expect(r.tally.sent).toBeGreaterThan(1000);
    expect(r.tally.byCause).toEqual({});
    expect(r.tally.failed).toBe(0);
  });

  it('everything off: the same deploy fails requests', async () => {
    const r = await run('all-off');
    expect(r.deploy).toMatchObject({ ok: true });
    expect(r.tally.failed).toBeGreaterThan(0);
  });

  // A row cutting the 2 s requests in flight fails on its first run. Some rows fail through a timing
  // window (only-graceful: whether a health check is refused while requests still wait), so a row
  // gets up to 3 runs to fail again: passing needs a failure the load checker really saw.
  it.each(failing.map((r) => [r.id, r.mainCause] as const))('%s fails again, mainly with %s, as the README shows', async (id, cause) => {
    let r = await run(id);
    for (let attempt = 2; attempt <= 3 && r.tally.failed === 0; attempt++) r = await runLocalRow(rows.get(id)!, MEASURE);
    expect(r.tally.failed).toBeGreaterThan(0);
    // The README's main cause is (one of) the most frequent causes again.
    const top = Math.max(...Object.values(r.tally.byCause));
    expect({ cause, count: r.tally.byCause[cause!] ?? 0 }).toEqual({ cause, count: top });
  });
});
