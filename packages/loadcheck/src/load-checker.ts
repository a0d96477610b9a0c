import http from 'node:http';
import type { Outcome } from './outcome';

export interface LoadCheckerOptions {
  /** e.g. http://127.0.0.1:8080/api */
  url: string;
  /** Requests per second, sent at a fixed rate whatever the latency (no coordinated omission). */
  rate: number;
  /** Upper bound on open connections; keep-alive connections are reused. */
  connections?: number;
  method?: string;
  /** JSON body for POST/PUT. */
  body?: unknown;
  timeoutMs?: number;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Sticky users: request i carries header `userKeyHeader: userKeys[i % n]` (recorded in the outcome). */
  userKeys?: readonly string[];
  userKeyHeader?: string;
  /** Response headers to keep in each outcome (lower-case names), e.g. the balancer's x-lb-split. */
  recordHeaders?: readonly string[];
  now?: () => number;
}

/**
 * A fixed-rate load generator over keep-alive connections. start() begins sending; stop() stops
 * sending, waits for outstanding requests and returns every outcome.
 */
export class LoadChecker {
  readonly outcomes: Outcome[] = [];
  private readonly agent: http.Agent;
  private timer?: NodeJS.Timeout;
  private startedAt = 0;
  /** Date.now() when sending began: outcome.sentAt + this is wall-clock time. */
  startedAtEpoch = 0;
  private sent = 0;
  private outstanding = new Set<Promise<void>>();
  private readonly target: URL;
  private readonly body?: string;
  private readonly now: () => number;

  constructor(private readonly options: LoadCheckerOptions) {
    if (!(options.rate > 0)) throw new Error(`rate: expected a positive number, got ${options.rate}`);
    this.target = new URL(options.url);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: options.connections ?? 64 });
    this.body = options.body === undefined ? undefined : JSON.stringify(options.body);
    this.now = options.now ?? (() => performance.now());
  }

  start(): void {
    if (this.timer) return;
    this.startedAt = this.now();
    this.startedAtEpoch = Date.now();
    // Catch up on every tick to the number that should have been sent by now, so a slow tick
    // does not lower the rate.
    this.timer = setInterval(() => {
      const due = Math.floor(((this.now() - this.startedAt) / 1000) * this.options.rate);
      while (this.sent < due) this.send();
    }, 5);
  }

  get elapsedMs(): number {
    return this.now() - this.startedAt;
  }

  async stop(): Promise<Outcome[]> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    while (this.outstanding.size > 0) await Promise.all([...this.outstanding]);
    this.agent.destroy();
    return this.outcomes;
  }

  private send(): void {
    this.sent++;
    const sentAt = this.now() - this.startedAt;
    const method = this.options.method ?? 'GET';
    const p = new Promise<void>((resolve) => {
      let done = false;
      const keys = this.options.userKeys;
      const user = keys && keys.length > 0 ? keys[(this.sent - 1) % keys.length] : undefined;
      const record = (o: Omit<Outcome, 'sentAt' | 'latencyMs' | 'method'>) => {
        if (done) return;
        done = true;
        this.outcomes.push({ sentAt, latencyMs: this.now() - this.startedAt - sentAt, method, ...(user !== undefined ? { user } : {}), ...o });
        resolve();
      };
      const headers: Record<string, string | number> = { ...this.options.headers };
      if (user !== undefined) headers[this.options.userKeyHeader ?? 'x-user-id'] = user;
      if (this.body !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(this.body);
      }
      const req = http.request(
        { host: this.target.hostname, port: this.target.port, path: this.target.pathname + this.target.search, method, agent: this.agent, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            let version: string | undefined;
            let instance: string | undefined;
            let code: string | undefined;
            try {
              const j = JSON.parse(Buffer.concat(chunks).toString()) as { version?: string; instance?: string; code?: unknown };
              version = j.version;
              instance = j.instance;
              if (typeof j.code === 'string') code = j.code.slice(0, 64);
            } catch {
              /* not JSON: keep the status only */
            }
            const keep = this.options.recordHeaders;
            const headers = keep ? Object.fromEntries(keep.flatMap((h) => (typeof res.headers[h] === 'string' ? [[h, res.headers[h] as string]] : []))) : undefined;
            record({ status: res.statusCode ?? 0, version, instance, ...(code !== undefined ? { code } : {}), ...(headers ? { headers } : {}) });
          });
          res.on('error', (err: NodeJS.ErrnoException) => record({ status: 0, error: err.code ?? err.message }));
        },
      );
      req.setTimeout(this.options.timeoutMs ?? 10_000, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      req.on('error', (err: NodeJS.ErrnoException) => record({ status: 0, error: err.code ?? err.message }));
      req.end(this.body);
    });
    this.outstanding.add(p);
    void p.then(() => this.outstanding.delete(p));
  }
}
