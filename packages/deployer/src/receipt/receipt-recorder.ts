import type { Clock } from '../clock';
import type { Reporter, StepName, StepRecord } from '../deploy-report';
import type { UpstreamStatus } from '../lb-client/lb-admin';
import type { BalancerScrape } from './traffic-window';

/** What the recorder reads of the balancer (the admin API). */
export interface ScrapeSource {
  metrics(): Promise<string>;
  list(): Promise<UpstreamStatus[]>;
}

export interface RecordedStep extends StepRecord {
  /** ms since the epoch. */
  startedAt: number;
  endedAt: number;
}

export interface Recording {
  scrapes: BalancerScrape[];
  steps: RecordedStep[];
  messages: { at: number; text: string }[];
  /** Per drain step: the most requests seen in flight on a draining upstream while it ran. */
  drainInFlight: Map<RecordedStep, number | null>;
  /** Scrapes that failed (balancer busy or gone for a moment). */
  missedScrapes: number;
}

/**
 * Reads the balancer's counters every `intervalMs` during a deploy, and once more whenever a step
 * starts (so an instance's last requests are counted before it is deregistered), and keeps every
 * step with its wall-clock times. A Reporter, so it is composed with the others.
 */
export class ReceiptRecorder implements Reporter {
  private readonly rec: Recording = { scrapes: [], steps: [], messages: [], drainInFlight: new Map(), missedScrapes: 0 };
  private readonly started = new Map<string, number>();
  private running = false;
  private loop?: Promise<void>;
  private chain: Promise<void> = Promise.resolve();
  private drainMax: number | null = null;
  private draining = false;

  constructor(
    private readonly lb: ScrapeSource,
    private readonly clock: Clock,
    private readonly intervalMs = 500,
  ) {}

  /** Takes the first scrape (the window's start) and starts the periodic ones. */
  async start(): Promise<void> {
    await this.scrape();
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        await this.clock.sleep(this.intervalMs);
        if (this.running) await this.scrape();
      }
    })();
  }

  /** Takes the last scrape (the window's end) and returns everything recorded. */
  async stop(): Promise<Recording> {
    this.running = false;
    await this.scrape();
    return this.rec;
  }

  stepStarted(slot: string, step: StepName): void {
    this.started.set(`${slot}\u0000${step}`, this.clock.now());
    if (step === 'drain') {
      this.draining = true;
      this.drainMax = null;
    }
    void this.scrape();
  }

  stepDone(r: StepRecord): void {
    const endedAt = this.clock.now();
    const key = `${r.slot}\u0000${r.step}`;
    const startedAt = this.started.get(key) ?? endedAt - r.ms;
    this.started.delete(key);
    const step: RecordedStep = { ...r, startedAt, endedAt };
    this.rec.steps.push(step);
    if (r.step === 'drain') {
      this.rec.drainInFlight.set(step, this.drainMax);
      this.draining = false;
    }
  }

  message(text: string): void {
    this.rec.messages.push({ at: this.clock.now(), text });
  }

  /** One scrape at a time, in order (a step's scrape waits for the periodic one in progress). */
  private scrape(): Promise<void> {
    this.chain = this.chain.then(async () => {
      try {
        const [metrics, upstreams] = await Promise.all([this.lb.metrics(), this.lb.list()]);
        const at = this.clock.now();
        this.rec.scrapes.push({
          at,
          metrics,
          upstreams: upstreams.map((u) => ({ name: u.name, version: u.version ?? null, state: u.state, inFlight: u.inFlight, failures: u.failures })),
        });
        if (this.draining) {
          for (const u of upstreams) if (u.state === 'draining') this.drainMax = Math.max(this.drainMax ?? 0, u.inFlight);
        }
      } catch {
        this.rec.missedScrapes++;
      }
    });
    return this.chain;
  }
}
