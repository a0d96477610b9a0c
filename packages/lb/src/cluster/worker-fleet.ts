import cluster from 'node:cluster';
import type { LbConfig } from '../config/lb-config';
import type { Logger } from '../logger';
import type { CheckResult } from '../pool/upstream';
import type { PoolState } from '../pool/upstream-pool';
import { type FromWorker, sumStats, type ToWorker, type WorkerStats } from './cluster-protocol';

/** One worker process as the fleet sees it; node:cluster's Worker in production, a fake in tests. */
export interface WorkerHandle {
  send(message: ToWorker): void;
  onMessage(fn: (message: FromWorker) => void): void;
  onExit(fn: (code: number | null, signal: string | null) => void): void;
  kill(): void;
}

/** Starts worker processes (the runtime side effect, injected). */
export type ForkWorker = () => WorkerHandle;

/** Forks `exec` (the balancer's main.js) as a node:cluster worker: workers share the listening port. */
export function clusterForker(exec: string): ForkWorker {
  cluster.setupPrimary({ exec, args: [] });
  return () => {
    const w = cluster.fork();
    return {
      send: (m) => {
        if (w.isConnected()) w.send(m);
      },
      onMessage: (fn) => w.on('message', fn),
      onExit: (fn) => w.on('exit', fn),
      kill: () => w.process.kill('SIGKILL'),
    };
  };
}

interface Member {
  readonly index: number;
  readonly handle: WorkerHandle;
  readonly startedAt: number;
  ready: boolean;
  exited: boolean;
  /** The stats of its last reply: what it had counted, kept when it dies so counters never go back. */
  last?: WorkerStats;
}

const QUERY_TIMEOUT_MS = 2000;

/**
 * The primary's side of cluster mode: N proxy workers that follow the primary's routing state.
 * The primary keeps health checks, the admin API and the state; every change is sent whole to
 * every worker. Drains and metrics ask the workers for their in-flight requests and counters.
 * A worker that dies is replaced (after a pause that grows while it keeps dying young).
 */
export class WorkerFleet {
  private readonly members = new Set<Member>();
  private readonly pending = new Map<number, { members: Set<Member>; replies: WorkerStats[]; resolve: (s: WorkerStats[]) => void; timer: NodeJS.Timeout }>();
  /** Counters of workers that have exited. */
  private retired: WorkerStats = { noUpstream: 0, upstreams: {} };
  private nextQuery = 1;
  private readonly longLivedReplies = new Map<number, (m: Member, r: { closed: number; cut: number }) => void>();
  private stopping = false;
  private restartDelayMs = 500;
  private _port = 0;

  constructor(
    private readonly count: number,
    private readonly config: LbConfig,
    private readonly fork: ForkWorker,
    private readonly state: () => PoolState,
    private readonly onPassiveFailure: (name: string, result: CheckResult | undefined) => void,
    private readonly log: Logger,
  ) {}

  get port(): number {
    return this._port;
  }

  get size(): number {
    return [...this.members].filter((m) => m.ready && !m.exited).length;
  }

  /** Forks every worker; resolves when all listen, rejects with the first worker's start failure. */
  async start(): Promise<void> {
    const started = Array.from({ length: this.count }, (_, i) => this.spawn(i));
    try {
      await Promise.all(started);
    } catch (err) {
      await this.stop(0);
      throw err;
    }
    this.log.info('cluster workers listening', { workers: this.count, port: this._port });
  }

  private spawn(index: number): Promise<void> {
    const handle = this.fork();
    const m: Member = { index, handle, startedAt: Date.now(), ready: false, exited: false };
    this.members.add(m);
    // The config goes with the first message (workers don't read files or the environment
    // themselves, so they can't disagree with the primary); the admin token stays here.
    const { token: _token, registrationToken: _registrationToken, ...admin } = this.config.admin;
    handle.send({ t: 'init', worker: index + 1, config: { ...this.config, admin }, state: this.state() });
    return new Promise<void>((resolve, reject) => {
      handle.onMessage((msg) => {
        switch (msg.t) {
          case 'ready':
            m.ready = true;
            this._port = msg.port;
            resolve();
            break;
          case 'failed':
            reject(new Error(msg.message));
            break;
          case 'passive':
            this.onPassiveFailure(msg.name, msg.result);
            break;
          case 'passive-ok':
            // undefined: a request succeeded after failures (ends the upstream's failure streak).
            this.onPassiveFailure(msg.name, undefined);
            break;
          case 'reply':
            this.onReply(m, msg.id, msg.stats);
            break;
          case 'longLivedClosed':
            this.longLivedReplies.get(msg.id)?.(m, msg);
            break;
        }
      });
      handle.onExit((code, signal) => {
        m.exited = true;
        this.members.delete(m);
        if (m.last) this.retired = sumStats([this.retired, { ...m.last, buffered: 0, upstreams: withoutInFlight(m.last.upstreams) }]);
        for (const [id, q] of this.pending) if (q.members.delete(m)) this.settle(id);
        if (!m.ready) {
          reject(new Error(`worker ${index + 1} exited before listening (${signal ?? `code ${code}`})`));
          return;
        }
        if (this.stopping) return;
        // Replace it; back off while replacements keep dying within seconds.
        const young = Date.now() - m.startedAt < 10_000;
        this.restartDelayMs = young ? Math.min(this.restartDelayMs * 2, 30_000) : 500;
        this.log.error('cluster worker died; replacing it', { worker: index + 1, code, signal, restartInMs: this.restartDelayMs });
        setTimeout(() => {
          if (!this.stopping) this.spawn(index).catch((err: Error) => this.log.error('replacement worker failed to start', { worker: index + 1, error: err.message }));
        }, this.restartDelayMs).unref();
      });
    });
  }

  /** Sends the current routing state to every worker (call on every change; messages stay in order). */
  publish(): void {
    const state = this.state();
    for (const m of this.members) if (!m.exited) m.handle.send({ t: 'state', state });
  }

  /** Every worker's counters plus those of workers that have exited. */
  async stats(): Promise<WorkerStats> {
    const replies = await this.query();
    return sumStats([this.retired, ...replies]);
  }

  /** Requests in flight to `name` across all workers. */
  async inFlight(name: string): Promise<number> {
    const replies = await this.query();
    return replies.reduce((n, s) => n + (s.upstreams[name]?.inFlight ?? 0), 0);
  }

  /** A drain of `name`'s long-lived connections in every worker (see LongLivedProxy.drain); the sums. */
  closeLongLived(name: string, graceMs: number): Promise<{ closed: number; cut: number }> {
    const id = this.nextQuery++;
    const waiting = new Set([...this.members].filter((m) => m.ready && !m.exited));
    const sum = { closed: 0, cut: 0 };
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.longLivedReplies.delete(id);
        resolve(sum);
      };
      // Closing takes the grace period plus the close handshakes (each cut after 2 s).
      const timer = setTimeout(done, graceMs + QUERY_TIMEOUT_MS + 3000);
      this.longLivedReplies.set(id, (m, r) => {
        if (!waiting.delete(m)) return;
        sum.closed += r.closed;
        sum.cut += r.cut;
        if (waiting.size === 0) done();
      });
      if (waiting.size === 0) return done();
      for (const m of waiting) m.handle.send({ t: 'closeLongLived', id, name, graceMs });
    });
  }

  private query(): Promise<WorkerStats[]> {
    const id = this.nextQuery++;
    const members = new Set([...this.members].filter((m) => m.ready && !m.exited));
    if (members.size === 0) return Promise.resolve([]);
    return new Promise((resolve) => {
      // A worker that doesn't answer in time is left out (and logged) rather than blocking a drain.
      const timer = setTimeout(() => {
        this.log.warn('cluster workers did not answer a query', { workers: [...(this.pending.get(id)?.members ?? [])].map((m) => m.index + 1) });
        this.settle(id, true);
      }, QUERY_TIMEOUT_MS);
      this.pending.set(id, { members, replies: [], resolve, timer });
      for (const m of members) m.handle.send({ t: 'query', id, what: 'stats' });
    });
  }

  private onReply(m: Member, id: number, stats: WorkerStats): void {
    m.last = stats;
    const q = this.pending.get(id);
    if (!q || !q.members.delete(m)) return;
    q.replies.push(stats);
    this.settle(id);
  }

  private settle(id: number, force = false): void {
    const q = this.pending.get(id);
    if (!q || (!force && q.members.size > 0)) return;
    clearTimeout(q.timer);
    this.pending.delete(id);
    q.resolve(q.replies);
  }

  /** Asks each worker to finish its requests and exit (within `timeoutMs`), then kills stragglers. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    const live = [...this.members].filter((m) => !m.exited);
    const exited = live.map((m) => new Promise<void>((resolve) => m.handle.onExit(() => resolve())));
    for (const m of live) m.handle.send({ t: 'stop', timeoutMs });
    const kill = setTimeout(() => live.forEach((m) => m.exited || m.handle.kill()), timeoutMs + 2000);
    await Promise.all(exited);
    clearTimeout(kill);
  }
}

function withoutInFlight(upstreams: WorkerStats['upstreams']): WorkerStats['upstreams'] {
  return Object.fromEntries(Object.entries(upstreams).map(([k, v]) => [k, { ...v, inFlight: 0 }]));
}
