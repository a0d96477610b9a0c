import type { TimelineEvent } from '@zdl/lb/dist/wire';
import type { Reporter, StepName, StepRecord } from '../deploy-report';

/** What the balancer's `POST /dashboard/timeline` takes (its type is the balancer's own). */
export type { TimelineEvent };

export type PostTimeline = (event: TimelineEvent) => Promise<void>;

export interface TimelineReporterOptions {
  /** A running deploy says it is alive this often; the dashboard calls one quiet for 15 s interrupted. */
  heartbeatMs: number;
  /** Events waiting to be posted; beyond this (balancer slow or gone) new ones are dropped. */
  maxQueue: number;
}

const DEFAULTS: TimelineReporterOptions = { heartbeatMs: 3000, maxQueue: 200 };
const clip = (s: string | undefined) => (s === undefined ? undefined : s.length > 500 ? s.slice(0, 497) + '...' : s);

/**
 * Posts the deploy's progress to the balancer's dashboard as it happens, in order, one at a time.
 * The dashboard is for people: a post that fails is counted and the deploy goes on.
 */
export class TimelineReporter implements Reporter {
  private readonly queue: TimelineEvent[] = [];
  private sending?: Promise<void>;
  private heartbeat?: NodeJS.Timeout;
  private readonly options: TimelineReporterOptions;
  failedPosts = 0;
  droppedEvents = 0;

  constructor(
    private readonly post: PostTimeline,
    readonly deployId: string,
    options: Partial<TimelineReporterOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  begin(meta: { strategy: string; from?: string; to: string }): void {
    this.enqueue({ type: 'start', ...meta });
    this.heartbeat = setInterval(() => this.enqueue({ type: 'heartbeat' }), this.options.heartbeatMs);
    this.heartbeat.unref();
  }

  stepStarted(slot: string, step: StepName): void {
    this.enqueue({ type: 'step-started', slot, step });
  }

  stepDone(r: StepRecord): void {
    this.enqueue({ type: 'step-done', slot: r.slot, step: r.step, ok: r.ok, ms: r.ms, detail: clip(r.detail) });
  }

  message(text: string): void {
    this.enqueue({ type: 'message', text: clip(text) });
  }

  /** The last event; waits (up to `timeoutMs`) for the queue to be posted. */
  async end(ok: boolean, text: string, timeoutMs = 3000): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    this.enqueue({ type: 'end', ok, text: clip(text) });
    await this.flush(timeoutMs);
  }

  /** Stops the heartbeat without an end (the dashboard will show the deploy as interrupted). */
  close(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  async flush(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.sending ?? Promise.resolve(), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  private enqueue(e: Omit<TimelineEvent, 'deploy'>): void {
    if (this.queue.length >= this.options.maxQueue) {
      this.droppedEvents++;
      return;
    }
    this.queue.push({ deploy: this.deployId, ...e } as TimelineEvent);
    this.sending ??= this.drain();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const e = this.queue.shift()!;
      try {
        await this.post(e);
      } catch {
        this.failedPosts++;
      }
    }
    this.sending = undefined;
  }
}
