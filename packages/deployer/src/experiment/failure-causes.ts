import { isFailure, type Outcome } from '@zdl/loadcheck';
import { LOAD_KINDS, type LoadKind } from './experiment-load';

/** A failed request's cause as the load checker saw it: the balancer's error code, or the client-side error. */
export function causeOf(o: Outcome): string {
  if (o.status === 0) return `no answer: ${o.error ?? 'error'}`;
  return o.code ? `${o.status} ${o.code}` : `HTTP ${o.status}`;
}

const PHRASES: Array<[RegExp, string]> = [
  [/LB_UPSTREAM_RESET/, 'the instance reset the connection under requests already sent to it (it exited with them in flight, or closed a keep-alive socket the balancer reused)'],
  [/LB_UPSTREAM_UNREACHABLE/, 'the balancer sent requests to an instance that was not listening (connection refused)'],
  [/LB_UPSTREAM_CONNECT_TIMEOUT/, 'connections to the instance did not open within the connect timeout'],
  [/LB_UPSTREAM_DOWN/, 'the balancer declared the instance gone (a connection to it was refused) and cut the requests still waiting on it'],
  [/LB_NO_UPSTREAM/, 'the balancer had no instance in rotation'],
  [/LB_UPSTREAM_TIMEOUT/, 'the instance did not answer within the upstream timeout'],
  [/^no answer: TIMEOUT/, 'no answer reached the load checker within its timeout'],
  [/^no answer:/, 'the load checker\'s own connection to the balancer failed'],
  [/^HTTP 5|^5\d\d/, 'the service itself answered with a server error'],
];

export function phraseFor(cause: string): string {
  return PHRASES.find(([re]) => re.test(cause))?.[1] ?? cause;
}

export interface FailureTally {
  sent: number;
  failed: number;
  /** cause → count, most frequent first. */
  byCause: Record<string, number>;
  /** cause → load kind → count. */
  byCauseKind: Record<string, Partial<Record<LoadKind, number>>>;
  sentByKind: Record<LoadKind, number>;
}

export function tally(outcomes: Record<LoadKind, Outcome[]>): FailureTally {
  const byCause: Record<string, number> = {};
  const byCauseKind: FailureTally['byCauseKind'] = {};
  const sentByKind = {} as Record<LoadKind, number>;
  let sent = 0;
  let failed = 0;
  for (const kind of LOAD_KINDS) {
    sentByKind[kind] = outcomes[kind].length;
    sent += outcomes[kind].length;
    for (const o of outcomes[kind]) {
      if (!isFailure(o)) continue;
      failed++;
      const c = causeOf(o);
      byCause[c] = (byCause[c] ?? 0) + 1;
      const k = (byCauseKind[c] ??= {});
      k[kind] = (k[kind] ?? 0) + 1;
    }
  }
  return { sent, failed, byCause: sortDesc(byCause), byCauseKind, sentByKind };
}

/** Adds tallies (the runs of one row). */
export function addTallies(ts: FailureTally[]): FailureTally {
  const out: FailureTally = { sent: 0, failed: 0, byCause: {}, byCauseKind: {}, sentByKind: { GET: 0, POST: 0, 'slow GET': 0, 'slow POST': 0 } };
  for (const t of ts) {
    out.sent += t.sent;
    out.failed += t.failed;
    for (const [c, n] of Object.entries(t.byCause)) out.byCause[c] = (out.byCause[c] ?? 0) + n;
    for (const [c, kinds] of Object.entries(t.byCauseKind)) {
      const k = (out.byCauseKind[c] ??= {});
      for (const [kind, n] of Object.entries(kinds) as [LoadKind, number][]) k[kind] = (k[kind] ?? 0) + n;
    }
    for (const kind of LOAD_KINDS) out.sentByKind[kind] += t.sentByKind[kind];
  }
  out.byCause = sortDesc(out.byCause);
  return out;
}

/** The most frequent cause, or undefined when nothing failed. */
export const mainCause = (t: FailureTally): string | undefined => Object.keys(t.byCause)[0];

const plural = (n: number, kind: LoadKind) => `${n} ${n === 1 ? kind : `${kind}s`}`;

/**
 * One sentence saying what went wrong, built only from what the load checker saw: the main cause
 * in words, which requests it hit, and the other causes.
 */
export function explain(t: FailureTally, runs = 1): string {
  if (t.failed === 0) return runs > 1 ? `No request failed in ${runs} runs.` : 'No request failed.';
  const [main, ...rest] = Object.keys(t.byCause);
  const kinds = (c: string) =>
    LOAD_KINDS.filter((k) => t.byCauseKind[c]?.[k])
      .map((k) => plural(t.byCauseKind[c][k]!, k))
      .join(', ');
  const others = rest.length ? `; also ${rest.map((c) => `${t.byCause[c]} × ${c} (${phraseFor(c)})`).join('; ')}` : '';
  const s = phraseFor(main);
  return `${s[0].toUpperCase()}${s.slice(1)}: ${t.byCause[main]} × ${main} (${kinds(main)})${others}.`;
}

function sortDesc(r: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(r).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}
