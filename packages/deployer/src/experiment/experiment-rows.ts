import { MECHANISMS, type Mechanism } from './mechanisms';

/** One configuration of the experiment: which mechanisms are on, or the naive compose recreate. */
export interface ExperimentRow {
  id: string;
  label: string;
  on: ReadonlySet<Mechanism>;
  /** `docker compose up -d --force-recreate` of the service, no deployer (compose only). */
  naive?: boolean;
}

const all = new Set<Mechanism>(MECHANISMS);

/** all on, all off, each off alone (the rest on), each on alone (the rest off); naive for compose. */
export function experimentRows(runtime: 'local' | 'compose'): ExperimentRow[] {
  const rows: ExperimentRow[] = [
    { id: 'all-on', label: 'everything on', on: all },
    { id: 'all-off', label: 'everything off', on: new Set() },
    ...MECHANISMS.map((m) => ({ id: `without-${m}`, label: `without ${m}`, on: new Set(MECHANISMS.filter((x) => x !== m)) })),
    ...MECHANISMS.map((m) => ({ id: `only-${m}`, label: `only ${m}`, on: new Set([m]) })),
  ];
  if (runtime === 'compose') rows.push({ id: 'naive', label: 'naive: compose up --force-recreate', on: all, naive: true });
  return rows;
}

/** The rows named in `ids` (comma-separated), in that order; an unknown id is an error naming the known ones. */
export function selectRows(runtime: 'local' | 'compose', ids: string | undefined): ExperimentRow[] {
  const rows = experimentRows(runtime);
  if (!ids) return rows;
  return ids.split(',').map((id) => {
    const row = rows.find((r) => r.id === id.trim());
    if (!row) throw new Error(`--rows: unknown row "${id}" for the ${runtime} runtime (known: ${rows.map((r) => r.id).join(', ')})`);
    return row;
  });
}
