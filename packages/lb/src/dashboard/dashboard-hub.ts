import type { SplitEntry } from '../balancing/traffic-split';
import type { Timers } from '../health/health-checker';
import type { DashboardSource, DashboardUpstream } from './dashboard-source';
import { DeployTimelines, type DeployTimeline, type TimelineEvent } from './deploy-timeline';

/** Where the hub writes one client's event stream (an HTTP response in production, a fake in tests). */
export interface EventSink {
  /** Like `res.write`: false when the chunk had to be buffered (the client reads slower than we write). */
  write(chunk: string): boolean;
  /** Called when a buffered write has been flushed. */
  onDrain(cb: () => void): void;
  close(): void;
}

export interface HubOptions {
  /** Event-stream clients served at once; one more is refused (503). */
  maxClients: number;
  /** Time between updates (one snapshot per interval, to every client). */
  intervalMs: number;
  /** Samples kept for the chart: intervalMs × historySamples is the chart's width in time. */
  historySamples: number;
  /** A client whose last update is still unsent this long is disconnected (until then it is skipped). */
  maxBlockedMs: number;
}

export const DEFAULT_HUB_OPTIONS: HubOptions = { maxClients: 16, intervalMs: 1000, historySamples: 300, maxBlockedMs: 10_000 };

/** One point of the chart: requests per second by version, and failed requests per second. */
export interface Sample {
  seq: number;
  t: number;
  byVersion: Record<string, number>;
  failed: number;
}

export interface UpstreamCard {
  name: string;
  url: string;
  version: string | null;
  group: string;
  weight: number;
  state: string;
  inFlight: number;
  /** Requests per second over the last interval. */
  rps: number;
  requests: number;
  /** Answered 5xx (the upstream's own, or the balancer's 502/504 after its connection failed). */
  errors: number;
  /** Connections refused, reset or timed out (retried elsewhere or not). */
  connectionFailures: number;
  retries: number;
  lastCheck: { ok: boolean; reason: string; at: number | null };
}

export interface DashboardState {
  now: number;
  upstreams: UpstreamCard[];
  split: readonly SplitEntry[] | null;
  /** Since the hub first looked (the balancer's start, except upstreams removed while nobody watched). */
  totals: { requests: number; failed: number; clientAborts: number };
  deploys: (DeployTimeline & { failedDuring: number; requestsDuring: number })[];
}

const CLASS_5XX = 4;
const CLASS_ABORTED = 5;
const answered = (c: ArrayLike<number>) => c[0] + c[1] + c[2] + c[3] + c[4];

interface Client {
  sink: EventSink;
  blockedSince?: number;
  lastSeq: number;
  timelineRev: number;
}

/**
 * The dashboard's state and its event stream. It reads the counters the request path already
 * keeps, once per interval and only while someone watches or a deploy runs (nothing is added per
 * request), turns their deltas into rates by version, and writes one snapshot per interval to each
 * client. Memory is bounded: at most `maxClients`, a fixed-size history, a bounded timeline, and a
 * slow client never has more than one update queued: further updates skip it (each one is complete,
 * so skipping loses nothing but frames) and after `maxBlockedMs` it is disconnected.
 */
export class DashboardHub {
  readonly timelines = new DeployTimelines();
  private readonly clients = new Set<Client>();
  private readonly history: Sample[] = [];
  private readonly prev = new Map<string, { answered: number; failed: number; aborted: number }>();
  private readonly checks = new Map<string, { ref: object; at: number | null }>();
  private readonly rps = new Map<string, number>();
  private prevNoUpstream = 0;
  private lastTickAt?: number;
  private seq = 0;
  private totals = { requests: 0, failed: 0, clientAborts: 0 };
  /** Totals when each deploy started, for "failed during this deploy". */
  private readonly atDeployStart = new Map<string, { requests: number; failed: number }>();
  private timer?: unknown;
  private ticking = false;
  private stopped = false;

  constructor(
    private readonly source: DashboardSource,
    private readonly timers: Timers,
    private readonly options: HubOptions = DEFAULT_HUB_OPTIONS,
  ) {}

  get clientCount(): number {
    return this.clients.size;
  }

  /** Adds an event-stream client; undefined when `maxClients` are connected already. */
  addClient(sink: EventSink): { remove(): void } | undefined {
    if (this.stopped || this.clients.size >= this.options.maxClients) return undefined;
    const client: Client = { sink, lastSeq: 0, timelineRev: -1 };
    sink.onDrain(() => (client.blockedSince = undefined));
    this.clients.add(client);
    // The first update right away: the page has something to show before the next tick.
    this.send(client, this.state(), this.timers.now());
    this.wake();
    return { remove: () => this.clients.delete(client) };
  }

  /** A deploy's progress, posted by the deployer (validated by the caller). */
  post(event: TimelineEvent): void {
    if (this.stopped) return;
    const isNew = !this.timelines.list().some((d) => d.id === event.deploy);
    this.timelines.apply(event, this.timers.now());
    if (isNew) this.atDeployStart.set(event.deploy, { requests: this.totals.requests, failed: this.totals.failed });
    this.wake();
  }

  /** The current state and the chart's history (GET /dashboard/state). */
  snapshot(): DashboardState & { history: Sample[] } {
    return { ...this.state(), history: [...this.history] };
  }

  /** Runs one update now (also what the timer calls). */
  async tick(): Promise<void> {
    try {
      await this.source.refresh();
    } catch {
      // Cluster mode while a worker is being replaced: show the counters we have.
    }
    const now = this.timers.now();
    this.sample(now);
    this.timelines.expire(now);
    const state = this.state();
    for (const c of [...this.clients]) this.send(c, state, now);
  }

  /** Closes every client and stops updating. Idempotent. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    for (const c of this.clients) c.sink.close();
    this.clients.clear();
  }

  /** Starts the update loop if it is idle; it runs while there are clients or a deploy runs. */
  private wake(): void {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    const loop = () => {
      this.timer = this.timers.setTimeout(() => {
        this.timer = undefined;
        void this.tick().then(() => {
          if (!this.stopped && (this.clients.size > 0 || this.timelines.anyRunning)) loop();
          else this.ticking = false;
        });
      }, this.options.intervalMs);
    };
    loop();
  }

  /** Turns counter deltas since the last tick into totals and one chart sample. */
  private sample(now: number): void {
    const dt = this.lastTickAt === undefined ? undefined : (now - this.lastTickAt) / 1000;
    this.lastTickAt = now;
    const byVersion: Record<string, number> = {};
    let failed = 0;
    const seen = new Set<string>();
    for (const u of this.source.upstreams()) {
      seen.add(u.name);
      const c = u.stats.byClass;
      const cur = { answered: answered(c), failed: c[CLASS_5XX], aborted: c[CLASS_ABORTED] };
      // An upstream new since the last tick counts from zero; a counter that went back (removed and
      // added again under the same name) counts from zero too.
      const p = this.prev.get(u.name) ?? { answered: 0, failed: 0, aborted: 0 };
      const d = (a: number, b: number) => (a >= b ? a - b : a);
      const dAnswered = d(cur.answered, p.answered);
      const dFailed = d(cur.failed, p.failed);
      this.totals.requests += dAnswered;
      this.totals.failed += dFailed;
      this.totals.clientAborts += d(cur.aborted, p.aborted);
      this.prev.set(u.name, cur);
      const v = u.version ?? 'unknown';
      byVersion[v] = (byVersion[v] ?? 0) + dAnswered;
      failed += dFailed;
      this.rps.set(u.name, dt ? dAnswered / dt : 0);
      this.noteCheck(u, now);
    }
    for (const name of [...this.prev.keys()]) {
      if (seen.has(name)) continue;
      this.prev.delete(name);
      this.rps.delete(name);
      this.checks.delete(name);
    }
    const noUp = this.source.noUpstream();
    const dNoUp = noUp >= this.prevNoUpstream ? noUp - this.prevNoUpstream : noUp;
    this.prevNoUpstream = noUp;
    this.totals.requests += dNoUp;
    this.totals.failed += dNoUp;
    failed += dNoUp;
    // No sample for the first look or after a pause (nobody watched): its rate would average over the gap.
    if (dt === undefined || dt > (3 * this.options.intervalMs) / 1000) return;
    for (const k of Object.keys(byVersion)) byVersion[k] = round1(byVersion[k] / dt);
    this.history.push({ seq: ++this.seq, t: now, byVersion, failed: round1(failed / dt) });
    if (this.history.length > this.options.historySamples) this.history.shift();
  }

  /** Health checks assign a new result object each time: a new reference is a new check. */
  private noteCheck(u: DashboardUpstream, now: number): void {
    const known = this.checks.get(u.name);
    if (!known) this.checks.set(u.name, { ref: u.lastCheck, at: u.lastCheck.reason === 'pending' ? null : now });
    else if (known.ref !== u.lastCheck) this.checks.set(u.name, { ref: u.lastCheck, at: now });
  }

  private state(): DashboardState {
    return {
      now: this.timers.now(),
      upstreams: this.source.upstreams().map((u) => ({
        name: u.name,
        url: u.url,
        version: u.version ?? null,
        group: u.group,
        weight: u.weight,
        state: u.state,
        inFlight: u.inFlight,
        rps: round1(this.rps.get(u.name) ?? 0),
        requests: answered(u.stats.byClass),
        errors: u.stats.byClass[CLASS_5XX],
        connectionFailures: u.failures,
        retries: u.stats.retries,
        lastCheck: { ok: u.lastCheck.ok, reason: u.lastCheck.reason, at: this.checks.get(u.name)?.at ?? null },
      })),
      split: this.source.split() ?? null,
      totals: { ...this.totals },
      deploys: this.timelines.list().map((d) => {
        const base = this.atDeployStart.get(d.id) ?? { requests: this.totals.requests, failed: this.totals.failed };
        return { ...d, requestsDuring: this.totals.requests - base.requests, failedDuring: this.totals.failed - base.failed };
      }),
    };
  }

  /** One update to one client: the samples it has not seen yet, and the timeline if it changed. */
  private send(c: Client, state: DashboardState, now: number): void {
    if (c.blockedSince !== undefined) {
      if (now - c.blockedSince >= this.options.maxBlockedMs) {
        this.clients.delete(c);
        c.sink.close();
      }
      return;
    }
    const samples = this.history.filter((s) => s.seq > c.lastSeq);
    const timelineChanged = c.timelineRev !== this.timelines.rev;
    // Each deploy's summary every time; its entries (up to the limit) only when the timeline moved.
    const deploys = timelineChanged ? state.deploys : state.deploys.map((d) => ({ ...d, entries: undefined }));
    const payload = { ...state, deploys, samples, intervalMs: this.options.intervalMs, historySamples: this.options.historySamples };
    c.lastSeq = this.seq;
    c.timelineRev = this.timelines.rev;
    if (!c.sink.write(`event: state\ndata: ${JSON.stringify(payload)}\n\n`)) c.blockedSince = now;
  }
}

const round1 = (n: number) => Math.round(n * 10) / 10;
