import type { Upstream } from '../pool/upstream';
import type { Probe } from './http-probe';

/** Timers, injected so tests can drive checks with a fake clock. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  now: () => Date.now(),
};

export interface HealthCheckOptions {
  path: string;
  intervalMs: number;
  /** The interval until an upstream is healthy for the first time (defaults to intervalMs). */
  startIntervalMs?: number;
  timeoutMs: number;
}

/**
 * Pings each upstream every `intervalMs` (`startIntervalMs` until it is first healthy) with at most one probe in flight per upstream, and reports
 * each result to the upstream, which owns the state machine. Upstreams can be added and removed live.
 */
export class HealthChecker {
  private readonly loops = new Map<Upstream, { timer?: unknown; stopped: boolean }>();
  private running = false;

  constructor(
    private readonly options: HealthCheckOptions,
    private readonly probe: Probe,
    private readonly timers: Timers = realTimers,
  ) {}

  start(upstreams: Iterable<Upstream>): void {
    this.running = true;
    for (const u of upstreams) this.watch(u);
  }

  /** Starts checking an upstream now (first probe immediately). */
  watch(u: Upstream): void {
    if (!this.running || this.loops.has(u)) return;
    const loop: { timer?: unknown; stopped: boolean } = { stopped: false };
    this.loops.set(u, loop);
    const tick = async () => {
      const began = this.timers.now();
      const result = await this.probe(u.target, this.options.path, this.options.timeoutMs);
      if (loop.stopped) return;
      u.reportCheck(result);
      // A new instance is checked more often until it first comes up, so a deploy's health gate
      // doesn't wait up to a whole interval; one that was up and fell keeps the normal pace.
      const interval = u.everHealthy ? this.options.intervalMs : (this.options.startIntervalMs ?? this.options.intervalMs);
      const wait = Math.max(0, interval - (this.timers.now() - began));
      loop.timer = this.timers.setTimeout(() => void tick(), wait);
    };
    void tick();
  }

  unwatch(u: Upstream): void {
    const loop = this.loops.get(u);
    if (!loop) return;
    loop.stopped = true;
    if (loop.timer !== undefined) this.timers.clearTimeout(loop.timer);
    this.loops.delete(u);
  }

  /** Idempotent. */
  stop(): void {
    this.running = false;
    for (const u of [...this.loops.keys()]) this.unwatch(u);
  }
}
