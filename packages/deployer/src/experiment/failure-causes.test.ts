import type { Outcome } from '@zdl/loadcheck';
import { explain, mainCause, tally } from './failure-causes';
import { markdownTable, rowResult } from './experiment-table';
import { experimentRows } from './experiment-rows';
import { parseDocumentedRows } from './readme-table';

const ok = (n: number): Outcome[] => Array.from({ length: n }, (_, i) => ({ sentAt: i, latencyMs: 1, status: 200, method: 'GET', version: 'v1' }));
const failed = (n: number, o: Partial<Outcome>): Outcome[] => Array.from({ length: n }, (_, i) => ({ sentAt: i, latencyMs: 1, status: 502, method: 'GET', ...o }));

describe('failure causes as the load checker saw them', () => {
  const t = tally({
    GET: [...ok(100), ...failed(3, { code: 'LB_UPSTREAM_RESET' })],
    POST: [...ok(10), ...failed(1, { status: 502, code: 'LB_UPSTREAM_UNREACHABLE', method: 'POST' })],
    'slow GET': [...ok(5), ...failed(8, { code: 'LB_UPSTREAM_RESET', latencyMs: 1200 }), ...failed(1, { status: 0, error: 'ECONNRESET' })],
    'slow POST': [],
  });

  it('counts failures by cause, the most frequent first, and by kind of request', () => {
    expect(t.sent).toBe(128);
    expect(t.failed).toBe(13);
    expect(Object.entries(t.byCause)).toEqual([
      ['502 LB_UPSTREAM_RESET', 11],
      ['502 LB_UPSTREAM_UNREACHABLE', 1],
      ['no answer: ECONNRESET', 1],
    ]);
    expect(t.byCauseKind['502 LB_UPSTREAM_RESET']).toEqual({ GET: 3, 'slow GET': 8 });
    expect(mainCause(t)).toBe('502 LB_UPSTREAM_RESET');
  });

  it('says in one sentence what went wrong, from those causes', () => {
    const s = explain(t);
    expect(s).toMatch(/^The instance reset the connection under requests already sent to it .*: 11 × 502 LB_UPSTREAM_RESET \(3 GETs, 8 slow GETs\); also 1 × 502 LB_UPSTREAM_UNREACHABLE \(the balancer sent requests to an instance that was not listening/);
    expect(explain(tally({ GET: ok(3), POST: [], 'slow GET': [], 'slow POST': [] }), 3)).toBe('No request failed in 3 runs.');
  });

  it('writes a table the README can carry and the test can read back', () => {
    const rows = experimentRows('local');
    const run = (tt: typeof t) => ({ tally: tt, deploy: { ok: true, durationMs: 1 }, retries: 0 });
    const clean = tally({ GET: ok(10), POST: [], 'slow GET': [], 'slow POST': [] });
    const md = markdownTable([rowResult(rows[0], [run(clean)]), rowResult(rows[1], [run(t), run(t)])]);
    const parsed = parseDocumentedRows(`<!-- a -->\n${md}\n<!-- b -->`, ['<!-- a -->', '<!-- b -->']);
    expect(parsed).toEqual([
      { id: 'all-on', failed: [0], mainCause: undefined },
      { id: 'all-off', failed: [13, 13], mainCause: '502 LB_UPSTREAM_RESET' },
    ]);
  });
});
