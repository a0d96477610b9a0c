import http from 'node:http';

export interface SseCheckerOptions {
  /** e.g. http://127.0.0.1:8080/events: numbered events (`id: n`), continuing after Last-Event-ID. */
  url: string;
  clients: number;
  retryDelayMs?: number;
  now?: () => number;
}

export interface SseSummary {
  clients: number;
  /** Streams that opened (200). */
  streams: number;
  events: number;
  /** Event ids that never arrived: a gap between consecutive ids, across reconnects included. */
  lostIds: number;
  duplicateIds: number;
  /** Streams the server ended after its final `event: close`. */
  cleanEnds: number;
  /** Streams that ended without a final event, or with a reset. */
  abnormalEnds: number;
  failedConnects: number;
  failedConnectsByCause: Record<string, number>;
  reconnects: number;
  maxReconnectMs: number;
  allReconnected: boolean;
  /** Clients with an open stream when the run ended. */
  streamingAtEnd: number;
  byVersion: Record<string, number>;
}

/**
 * N Server-Sent Events clients, each reconnecting (with Last-Event-ID, like a browser's
 * EventSource) whenever its stream ends; checks that event ids continue without a gap.
 */
export class SseChecker {
  private readonly now: () => number;
  private startedAt = 0;
  private stopping = false;
  private readonly clients: SseClient[] = [];
  private readonly s = { streams: 0, events: 0, lostIds: 0, duplicateIds: 0, cleanEnds: 0, abnormalEnds: 0 };
  private readonly failed: Record<string, number> = {};
  private readonly byVersion: Record<string, number> = {};
  private readonly reconnectTimes: number[] = [];
  private readonly target: URL;
  private streamingAtEnd?: number;

  constructor(private readonly options: SseCheckerOptions) {
    if (!(options.clients >= 1)) throw new Error(`clients: expected at least 1, got ${options.clients}`);
    this.target = new URL(options.url);
    this.now = options.now ?? (() => performance.now());
  }

  get elapsedMs(): number {
    return this.now() - this.startedAt;
  }

  /** Opens every stream; resolves once each has its first event, or after `startTimeoutMs` (10 s) at most. */
  async start(startTimeoutMs = 10_000): Promise<void> {
    this.startedAt = this.now();
    let timer: NodeJS.Timeout | undefined;
    const all = Promise.all(
      Array.from({ length: this.options.clients }, (_, index) => {
        const c: SseClient = { index };
        this.clients.push(c);
        return new Promise<void>((resolve) => {
          c.onFirstEvent = resolve;
          this.open(c);
        });
      }),
    );
    await Promise.race([all, new Promise((r) => (timer = setTimeout(r, startTimeoutMs)))]);
    clearTimeout(timer);
  }

  private open(c: SseClient): void {
    if (this.stopping) return;
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (c.lastId !== undefined) headers['last-event-id'] = String(c.lastId);
    let sawFinal = false;
    let ended = false;
    let answered = false;
    const end = (how: 'clean' | 'abnormal' | 'failed', cause?: string) => {
      if (ended) return;
      ended = true;
      c.streaming = false;
      c.req = undefined;
      if (this.stopping) return c.onStopped?.();
      if (how === 'failed') this.failed[cause!] = (this.failed[cause!] ?? 0) + 1;
      else {
        if (how === 'clean') this.s.cleanEnds++;
        else this.s.abnormalEnds++;
        c.endedAt = this.now();
      }
      setTimeout(() => this.open(c), how === 'failed' ? (this.options.retryDelayMs ?? 50) : 0);
    };
    const req = http.get({ host: this.target.hostname, port: this.target.port, path: this.target.pathname + this.target.search, headers, agent: false }, (res) => {
      answered = true;
      if (res.statusCode !== 200) {
        res.resume();
        return end('failed', `HTTP ${res.statusCode}`);
      }
      this.s.streams++;
      c.streaming = true;
      if (c.endedAt !== undefined) {
        this.reconnectTimes.push(Math.round((this.now() - c.endedAt) * 10) / 10);
        c.endedAt = undefined;
      }
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i;
        while ((i = buf.search(/\r?\n\r?\n/)) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + (buf[i] === '\r' ? 4 : 2));
          const e: Record<string, string> = {};
          for (const line of block.split(/\r?\n/)) {
            const m = /^(id|event|data): ?(.*)$/.exec(line);
            if (m) e[m[1]] = m[2];
          }
          if (e.data === undefined) continue;
          if (e.event === 'close') {
            sawFinal = true;
            continue;
          }
          this.onEvent(c, e);
        }
      });
      res.on('end', () => end(sawFinal ? 'clean' : 'abnormal'));
      res.on('error', () => end('abnormal'));
    });
    c.req = req;
    req.on('error', (err: NodeJS.ErrnoException) => end(answered ? 'abnormal' : 'failed', err.code ?? err.message));
  }

  private onEvent(c: SseClient, e: Record<string, string>): void {
    this.s.events++;
    const id = Number(e.id);
    if (Number.isSafeInteger(id)) {
      if (c.lastId !== undefined) {
        if (id <= c.lastId) this.s.duplicateIds++;
        else this.s.lostIds += id - c.lastId - 1;
      }
      c.lastId = Math.max(id, c.lastId ?? id);
    }
    try {
      const v = (JSON.parse(e.data) as { version?: string }).version ?? '?';
      this.byVersion[v] = (this.byVersion[v] ?? 0) + 1;
    } catch {
      /* not JSON */
    }
    c.onFirstEvent?.();
    c.onFirstEvent = undefined;
  }

  /** Gives clients that are reconnecting right now up to 2 s to be streaming again, then ends every stream. */
  async stop(): Promise<SseSummary> {
    const until = this.now() + 2000;
    while (this.clients.some((c) => !c.streaming) && this.now() < until) await new Promise((r) => setTimeout(r, 10));
    this.stopping = true;
    this.streamingAtEnd = this.clients.filter((c) => c.streaming).length;
    await Promise.all(
      this.clients.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (!c.req) return resolve();
            c.onStopped = resolve;
            c.req.destroy();
          }),
      ),
    );
    return this.summary();
  }

  summary(): SseSummary {
    return {
      clients: this.options.clients,
      ...this.s,
      failedConnects: Object.values(this.failed).reduce((a, b) => a + b, 0),
      failedConnectsByCause: { ...this.failed },
      reconnects: this.reconnectTimes.length,
      maxReconnectMs: Math.max(0, ...this.reconnectTimes),
      allReconnected: this.clients.every((c) => c.endedAt === undefined),
      streamingAtEnd: this.streamingAtEnd ?? this.clients.filter((c) => c.streaming).length,
      byVersion: { ...this.byVersion },
    };
  }
}

interface SseClient {
  index: number;
  lastId?: number;
  endedAt?: number;
  streaming?: boolean;
  req?: http.ClientRequest;
  onFirstEvent?: () => void;
  onStopped?: () => void;
}

export function sseOk(s: SseSummary): boolean {
  return s.lostIds === 0 && s.duplicateIds === 0 && s.abnormalEnds === 0 && s.failedConnects === 0 && s.allReconnected && s.streamingAtEnd === s.clients;
}

export function formatSseSummary(s: SseSummary): string {
  const kv = (r: Record<string, number>) => Object.entries(r).map(([k, v]) => `${k} ${v}`).join(', ') || '-';
  return [
    `sse: ${s.clients} clients, ${s.streams} streams, ${s.events} events, ids lost ${s.lostIds}, duplicated ${s.duplicateIds}`,
    `streams ended: clean (final event) ${s.cleanEnds}, abnormal ${s.abnormalEnds}`,
    `reconnects ${s.reconnects}, max reconnect time ${s.maxReconnectMs} ms, every client reconnected: ${s.allReconnected ? 'yes' : 'NO'}, streaming at the end: ${s.streamingAtEnd} of ${s.clients}`,
    `failed connects: ${s.failedConnects}${s.failedConnects ? ' (' + kv(s.failedConnectsByCause) + ')' : ''}`,
    `events by version: ${kv(s.byVersion)}`,
  ].join('\n');
}
