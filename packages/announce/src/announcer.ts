/**
 * The instance's side of self-registration: announce this instance to the balancer with a lease,
 * renew it by heartbeat, and on shutdown ask the balancer to drain it and wait until it says no
 * request is in flight here any more. Nothing in here knows about the lab: any Node HTTP service
 * can use it (see the README for the same HTTP calls from any other language).
 */

export interface AnnouncerOptions {
  /** The balancer's admin API, e.g. http://lb:8090. */
  readonly balancerUrl: string;
  /** The registration token: it can create, renew, drain and remove this instance's own entry only. */
  readonly token: string;
  /** How the balancer reaches this instance, e.g. http://10.0.3.7:5000. */
  readonly url: string;
  /** Its upstream name (unique in the balancer); defaults to host:port of `url`. */
  readonly name?: string;
  readonly version?: string;
  readonly group?: string;
  readonly weight?: number;
  /** Receives what happens, for the service's own log (never the token). */
  readonly onEvent?: (event: AnnounceEvent) => void;
}

export type AnnounceEvent =
  | { type: 'registered'; name: string; leaseMs: number; heartbeatMs: number }
  | { type: 'renew-failed'; reason: string }
  /** An operator removed this instance from the balancer: it stays out (no new registration) until restarted. */
  | { type: 'removed'; reason: string }
  | { type: 'register-failed'; reason: string }
  | { type: 'draining'; waitMs: number }
  | { type: 'drained'; drained: boolean; inFlight: number; waitedMs: number }
  | { type: 'deregistered' };

/** Injected so tests need no balancer and no real time. */
export interface AnnouncerDeps {
  fetch: typeof fetch;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realDeps: AnnouncerDeps = {
  fetch: (...a) => fetch(...a),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface DrainOutcome {
  /** The balancer confirmed 0 requests in flight to this instance. */
  drained: boolean;
  inFlight: number;
  waitedMs: number;
  /** Why the handshake could not complete (balancer unreachable, never registered, ...). */
  reason?: string;
}

/** Retry pace while the balancer is unreachable at start (it may start after us). */
const RETRY_MS = 500;

export class Announcer {
  private leaseId?: string;
  private heartbeatMs = 1000;
  private timer?: unknown;
  private stopped = false;
  private registeredOnce?: () => void;
  /** Why the balancer ended our registration for good (an operator removed it), if it did. */
  private removedBecause?: string;
  /** Resolves once the first registration succeeded. */
  readonly registered: Promise<void>;

  constructor(
    private readonly o: AnnouncerOptions,
    private readonly deps: AnnouncerDeps = realDeps,
  ) {
    this.registered = new Promise((resolve) => (this.registeredOnce = resolve));
  }

  /** Registers in the background (retrying until the balancer answers) and keeps renewing. */
  start(): void {
    this.stopped = false;
    void this.register();
  }

  /**
   * The drain handshake, for SIGTERM: stop renewing, ask the balancer to drain this instance and
   * wait (up to `waitMs`) until it reports 0 in flight here, then remove the entry. Call it before
   * the HTTP server stops accepting; requests that arrive meanwhile are still served.
   */
  async drainAndLeave(waitMs: number): Promise<DrainOutcome> {
    this.halt();
    const id = this.leaseId;
    if (!id) {
      const reason = this.removedBecause ? `not registered any more: ${this.removedBecause}` : 'never registered with the balancer';
      return { drained: false, inFlight: 0, waitedMs: 0, reason };
    }
    this.emit({ type: 'draining', waitMs });
    try {
      const r = await this.call('POST', `/registrations/${encodeURIComponent(id)}/drain?waitMs=${waitMs}`, undefined, waitMs + 5000);
      if (!r.ok) return { drained: false, inFlight: 0, waitedMs: 0, reason: `balancer answered ${r.status}: ${await errorOf(r)}` };
      const body = (await r.json()) as { drained: boolean; inFlight: number; waitedMs: number };
      this.emit({ type: 'drained', drained: body.drained, inFlight: body.inFlight, waitedMs: body.waitedMs });
      await this.call('DELETE', `/registrations/${encodeURIComponent(id)}?waitMs=0`).catch(() => undefined);
      this.leaseId = undefined;
      this.emit({ type: 'deregistered' });
      return { drained: body.drained, inFlight: body.inFlight, waitedMs: body.waitedMs };
    } catch (err) {
      return { drained: false, inFlight: 0, waitedMs: 0, reason: `balancer unreachable: ${(err as Error).message}` };
    }
  }

  /** Stops renewing without telling the balancer (the lease then lapses). Idempotent. */
  stop(): void {
    this.halt();
  }

  private halt(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.deps.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async register(): Promise<void> {
    if (this.stopped) return;
    const body = {
      url: this.o.url,
      ...(this.o.name !== undefined ? { name: this.o.name } : {}),
      ...(this.o.version !== undefined ? { version: this.o.version } : {}),
      ...(this.o.group !== undefined ? { group: this.o.group } : {}),
      ...(this.o.weight !== undefined ? { weight: this.o.weight } : {}),
    };
    try {
      const r = await this.call('POST', '/registrations', body);
      if (r.status !== 201) throw new Error(`${r.status}: ${await errorOf(r)}`);
      const lease = (await r.json()) as { id: string; name: string; leaseMs: number; heartbeatMs: number };
      if (this.stopped) return;
      this.leaseId = lease.id;
      this.heartbeatMs = lease.heartbeatMs;
      this.emit({ type: 'registered', name: lease.name, leaseMs: lease.leaseMs, heartbeatMs: lease.heartbeatMs });
      this.registeredOnce?.();
      this.schedule(() => void this.renew(), this.heartbeatMs);
    } catch (err) {
      this.emit({ type: 'register-failed', reason: (err as Error).message });
      this.schedule(() => void this.register(), RETRY_MS);
    }
  }

  private async renew(): Promise<void> {
    if (this.stopped || !this.leaseId) return;
    try {
      const r = await this.call('PUT', `/registrations/${encodeURIComponent(this.leaseId)}`);
      if (r.status === 404) {
        const { error, code } = await errorBody(r);
        this.leaseId = undefined;
        if (code === 'LB_LEASE_REMOVED') {
          // An operator took us out on purpose (DELETE /upstreams/<name>): coming back by ourselves a
          // second later would undo that. Stay out; a restart of the instance registers it again.
          this.halt();
          this.removedBecause = error;
          this.emit({ type: 'removed', reason: `${error}; not registering again until this instance restarts` });
          return;
        }
        // The balancer forgot us (restarted, or the lease lapsed while we were paused): start over.
        this.emit({ type: 'renew-failed', reason: `lease gone: ${error}` });
        return this.register();
      }
      if (!r.ok) this.emit({ type: 'renew-failed', reason: `${r.status}: ${await errorOf(r)}` });
    } catch (err) {
      this.emit({ type: 'renew-failed', reason: (err as Error).message });
    }
    this.schedule(() => void this.renew(), this.heartbeatMs);
  }

  private schedule(fn: () => void, ms: number): void {
    if (this.stopped) return;
    this.timer = this.deps.setTimeout(fn, ms);
  }

  private call(method: string, path: string, body?: unknown, timeoutMs = 2000): Promise<Response> {
    return this.deps.fetch(new URL(path, this.o.balancerUrl), {
      method,
      headers: { authorization: `Bearer ${this.o.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
  }

  private emit(e: AnnounceEvent): void {
    this.o.onEvent?.(e);
  }
}

async function errorOf(r: Response): Promise<string> {
  return (await errorBody(r)).error;
}

/** The balancer's error message and its stable `code` (absent when the body is not its JSON). */
async function errorBody(r: Response): Promise<{ error: string; code?: string }> {
  const text = await r.text().catch(() => '');
  try {
    const b = JSON.parse(text) as { error?: string; code?: string };
    return { error: b.error ?? text, ...(typeof b.code === 'string' ? { code: b.code } : {}) };
  } catch {
    return { error: text.slice(0, 200) };
  }
}
