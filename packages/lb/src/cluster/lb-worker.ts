import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LbConfig } from '../config/lb-config';
import type { Logger } from '../logger';
import { LbMetrics } from '../metrics/lb-metrics';
import { UpstreamPool } from '../pool/upstream-pool';
import { LongLivedProxy } from '../proxy/long-lived-proxy';
import { installCrashGuard } from '../crash-guard';
import { ProxyHandler } from '../proxy/proxy-handler';
import { closeGracefully, createTrafficServer, listen } from '../traffic-server';
import type { FromWorker, ToWorker, WorkerStats } from './cluster-protocol';

/** The worker's end of the IPC channel (process.send / process.on('message') in production). */
export interface PrimaryChannel {
  send(message: FromWorker): void;
}

/**
 * One cluster worker: the proxy and the traffic port, with an upstream pool that follows the
 * primary's state (no health checks of its own). Request failures go to the primary, whose state
 * machine decides; the decision comes back as state, to every worker at once.
 */
export class LbWorker {
  readonly pool: UpstreamPool;
  private readonly metrics: LbMetrics;
  private readonly proxy: ProxyHandler;
  private readonly longLived: LongLivedProxy;
  private server?: http.Server;
  private stopping?: Promise<void>;

  constructor(
    private readonly config: LbConfig,
    private readonly primary: PrimaryChannel,
    private readonly log: Logger,
  ) {
    this.pool = new UpstreamPool(
      { ...config, upstreams: [] },
      {
        onPassiveFailure: (u, result) => primary.send({ t: 'passive', name: u.name, result }),
        onPassiveSuccess: (u) => primary.send({ t: 'passive-ok', name: u.name }),
      },
    );
    this.metrics = new LbMetrics(this.pool);
    this.proxy = new ProxyHandler(this.pool, config.proxy, config.routing, log, this.metrics);
    this.longLived = new LongLivedProxy(this.pool, config, log);
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  /** Handles a state change or a query from the primary (init and stop belong to the process: runWorker). */
  onMessage(msg: Extract<ToWorker, { t: 'state' | 'query' | 'closeLongLived' }>): void {
    if (msg.t === 'state') this.pool.applyState(msg.state);
    else if (msg.t === 'closeLongLived') void this.longLived.drain(msg.name, msg.graceMs).then((r) => this.primary.send({ t: 'longLivedClosed', id: msg.id, ...r }));
    else this.primary.send({ t: 'reply', id: msg.id, stats: this.stats() });
  }

  /** Listens on the traffic port (shared with the other workers through node:cluster). */
  async start(): Promise<void> {
    const server = createTrafficServer(this.pool, this.proxy, this.longLived);
    this.server = server;
    await listen(server, this.config.listen.port, this.config.listen.host);
  }

  stats(): WorkerStats {
    const upstreams: WorkerStats['upstreams'] = {};
    for (const u of this.pool.all()) {
      upstreams[u.name] = {
        inFlight: u.inFlight,
        requests: u.requests,
        failures: u.failures,
        retries: u.retries,
        byClass: [...u.stats.byClass],
        buckets: [...u.stats.buckets],
        sum: u.stats.sum,
        count: u.stats.count,
      };
    }
    return { noUpstream: this.metrics.noUpstream, own: [...this.metrics.ownByClass], buffered: this.proxy.budget.inUse, upstreams };
  }

  /** Finishes in-flight requests (up to `timeoutMs`), closes connections. Idempotent. */
  stop(timeoutMs: number): Promise<void> {
    this.stopping ??= (async () => {
      const closing = this.longLived.closeAll();
      if (this.server) await closeGracefully(this.server, timeoutMs);
      await closing;
      this.longLived.close();
      this.proxy.close();
      this.pool.destroy();
    })();
    return this.stopping;
  }
}

/**
 * The worker process's entry: waits for the primary's `init` (config and routing state), then
 * listens. Signals are the primary's business (a terminal's Ctrl-C reaches every process of the
 * group): a worker stops when the primary says so, or when the primary is gone.
 */
export function runWorker(createLog: (worker: number) => Logger): void {
  const send = (m: FromWorker) => process.send?.(m);
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  let worker: LbWorker | undefined;
  const exitAfterStop = (timeoutMs: number) => {
    if (!worker) process.exit(0);
    void worker.stop(timeoutMs).then(() => process.exit(0));
  };
  process.on('message', (msg: ToWorker) => {
    if (msg.t === 'stop') return exitAfterStop(msg.timeoutMs);
    if (msg.t !== 'init') {
      worker?.onMessage(msg);
      return;
    }
    if (worker) return;
    const log = createLog(msg.worker);
    installCrashGuard(log);
    worker = new LbWorker(msg.config, { send }, log);
    worker.pool.applyState(msg.state);
    const w = worker;
    w.start().then(
      () => send({ t: 'ready', port: w.port }),
      (err: NodeJS.ErrnoException) => {
        send({ t: 'failed', message: err.message });
        setTimeout(() => process.exit(2), 50);
      },
    );
  });
  process.on('disconnect', () => exitAfterStop(5000));
}
