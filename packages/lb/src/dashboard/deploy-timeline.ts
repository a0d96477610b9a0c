/** One event a deployer posts to `POST /dashboard/timeline` as a deploy goes. */
export interface TimelineEvent {
  /** Identifies the deploy (the deployer picks it; one per run). */
  deploy: string;
  type: 'start' | 'step-started' | 'step-done' | 'message' | 'heartbeat' | 'end';
  strategy?: string;
  from?: string;
  to?: string;
  slot?: string;
  step?: string;
  ok?: boolean;
  ms?: number;
  detail?: string;
  text?: string;
}

export interface TimelineEntry {
  at: number;
  slot?: string;
  step?: string;
  ok?: boolean;
  ms?: number;
  detail?: string;
  text?: string;
}

export type DeployStatus = 'running' | 'done' | 'failed' | 'interrupted';

export interface DeployTimeline {
  id: string;
  strategy: string;
  from?: string;
  to?: string;
  status: DeployStatus;
  startedAt: number;
  endedAt?: number;
  lastHeardAt: number;
  /** The step in progress (posted as started, not done yet). */
  current?: { slot: string; step: string; since: number };
  entries: TimelineEntry[];
  /** Entries dropped at the front because the deploy posted more than the limit. */
  dropped: number;
  /** Why the status is "interrupted". */
  reason?: string;
}

const TYPES: ReadonlySet<string> = new Set(['start', 'step-started', 'step-done', 'message', 'heartbeat', 'end']);
const TEXT_FIELDS = ['strategy', 'from', 'to', 'slot', 'step', 'detail', 'text'] as const;
const MAX_TEXT = 500;

/** Validates a posted event completely; returns the problems (empty when it is fine). */
export function timelineEventProblems(body: unknown): string[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return ['body: expected a JSON object like {"deploy":"id","type":"start"}'];
  const b = body as Record<string, unknown>;
  const problems: string[] = [];
  const known = new Set<string>(['deploy', 'type', 'ok', 'ms', ...TEXT_FIELDS]);
  for (const k of Object.keys(b)) if (!known.has(k)) problems.push(`${k}: unknown field`);
  if (typeof b.deploy !== 'string' || !/^[A-Za-z0-9._:-]{1,64}$/.test(b.deploy)) problems.push('deploy: expected 1 to 64 letters, digits, ".", "_", ":" or "-"');
  if (typeof b.type !== 'string' || !TYPES.has(b.type)) problems.push(`type: expected one of ${[...TYPES].join(', ')}`);
  for (const f of TEXT_FIELDS) {
    const v = b[f];
    if (v !== undefined && (typeof v !== 'string' || v.length > MAX_TEXT)) problems.push(`${f}: expected a string of at most ${MAX_TEXT} characters`);
  }
  if (b.ok !== undefined && typeof b.ok !== 'boolean') problems.push('ok: expected true or false');
  if (b.ms !== undefined && (typeof b.ms !== 'number' || !Number.isFinite(b.ms) || b.ms < 0)) problems.push('ms: expected a number ≥ 0');
  return problems;
}

export interface TimelineLimits {
  /** Deploys kept (the newest). */
  maxDeploys: number;
  /** Entries kept per deploy (the newest). */
  maxEntries: number;
  /** A running deploy not heard from for this long is shown as interrupted. */
  staleMs: number;
}

export const DEFAULT_TIMELINE_LIMITS: TimelineLimits = { maxDeploys: 5, maxEntries: 400, staleMs: 15_000 };

/**
 * The deploys posted by deployers, bounded in count and size (a client cannot grow it without
 * limit). `rev` changes on every change, so the event stream sends the timeline only when it moved.
 */
export class DeployTimelines {
  private readonly deploys = new Map<string, DeployTimeline>();
  rev = 0;

  constructor(private readonly limits: TimelineLimits = DEFAULT_TIMELINE_LIMITS) {}

  /** Applies a validated event at time `now` (ms since the epoch). */
  apply(e: TimelineEvent, now: number): void {
    let d = this.deploys.get(e.deploy);
    if (e.type === 'start' || !d) {
      // A new deploy while another still "runs": the other one's deployer went away.
      for (const other of this.deploys.values()) if (other.status === 'running' && other.id !== e.deploy) this.interrupt(other, now, `superseded by deploy ${e.deploy}`);
      if (!d) {
        d = { id: e.deploy, strategy: e.strategy ?? '?', status: 'running', startedAt: now, lastHeardAt: now, entries: [], dropped: 0 };
        this.deploys.set(e.deploy, d);
        while (this.deploys.size > this.limits.maxDeploys) this.deploys.delete(this.deploys.keys().next().value as string);
      }
      if (e.strategy) d.strategy = e.strategy;
      if (e.from) d.from = e.from;
      if (e.to) d.to = e.to;
    }
    d.lastHeardAt = now;
    if (d.status === 'interrupted' && e.type !== 'end') {
      d.status = 'running';
      d.reason = undefined;
    }
    switch (e.type) {
      case 'step-started':
        d.current = { slot: e.slot ?? '*', step: e.step ?? '?', since: now };
        break;
      case 'step-done':
        d.current = undefined;
        this.push(d, { at: now, slot: e.slot, step: e.step, ok: e.ok, ms: e.ms, detail: e.detail });
        break;
      case 'message':
        this.push(d, { at: now, text: e.text });
        break;
      case 'end':
        d.current = undefined;
        d.status = e.ok === false ? 'failed' : 'done';
        d.endedAt = now;
        if (e.text) this.push(d, { at: now, text: e.text, ok: e.ok });
        break;
      default:
        break;
    }
    this.rev++;
  }

  /** Marks running deploys not heard from within `staleMs` as interrupted. */
  expire(now: number): void {
    for (const d of this.deploys.values()) {
      if (d.status === 'running' && now - d.lastHeardAt > this.limits.staleMs) this.interrupt(d, now, `no word from the deployer for ${Math.round((now - d.lastHeardAt) / 1000)} s`);
    }
  }

  get anyRunning(): boolean {
    for (const d of this.deploys.values()) if (d.status === 'running') return true;
    return false;
  }

  /** Newest first. */
  list(): DeployTimeline[] {
    return [...this.deploys.values()].reverse();
  }

  private interrupt(d: DeployTimeline, now: number, reason: string): void {
    d.status = 'interrupted';
    d.reason = reason;
    d.endedAt = now;
    d.current = undefined;
    this.rev++;
  }

  private push(d: DeployTimeline, entry: TimelineEntry): void {
    d.entries.push(entry);
    if (d.entries.length > this.limits.maxEntries) {
      d.entries.shift();
      d.dropped++;
    }
  }
}
