/** What the README says about one row of the experiment (parsed back from the table it carries). */
export interface DocumentedRow {
  id: string;
  /** Failed requests of each run. */
  failed: number[];
  /** The most frequent cause, or undefined when nothing failed. */
  mainCause?: string;
}

export const README_MARKERS = { local: ['<!-- experiment:local:start -->', '<!-- experiment:local:end -->'] } as const;

/**
 * Reads the experiment table between the markers of a markdown document (the table markdownTable()
 * wrote), so the test can check that every row documented as failing still fails, for the same cause.
 */
export function parseDocumentedRows(markdown: string, markers: readonly [string, string]): DocumentedRow[] {
  const start = markdown.indexOf(markers[0]);
  const end = markdown.indexOf(markers[1]);
  if (start < 0 || end < start) throw new Error(`no experiment table between ${markers[0]} and ${markers[1]}`);
  const rows: DocumentedRow[] = [];
  for (const line of markdown.slice(start, end).split('\n')) {
    const m = /^\| `([a-z-]+)` \|/.exec(line);
    if (!m) continue;
    const cells = line.split('|').map((c) => c.trim());
    // | id | 5 mechanisms | failed / sent | by cause | retried | explanation |
    const failedCell = cells.find((c) => / \/ [\d,]+$/.test(c));
    if (!failedCell) throw new Error(`row ${m[1]}: no "failed / sent" cell`);
    const failed = failedCell.split(' / ')[0].split(',').map((s) => Number(s.trim()));
    const causeCell = cells[cells.indexOf(failedCell) + 1];
    const first = /^(\d+) × (.+?)(?:<br>|$)/.exec(causeCell);
    rows.push({ id: m[1], failed, mainCause: first?.[2] });
  }
  return rows;
}
