import WebSocket from 'ws';

export interface WebSocketCheckerOptions {
  /** e.g. ws://127.0.0.1:8080/ws: a service that says hello first and then echoes every message. */
  url: string;
  clients: number;
  /** Each client sends a sequence-numbered message this often. */
  messageIntervalMs: number;
  /** Pause before retrying a connection that failed to open. */
  retryDelayMs?: number;
  now?: () => number;
}

/** One close the server (or the path to it) decided: the client did not ask for it. */
export interface ServerClose {
  client: number;
  code: number;
  /** True for 1006 (no close frame: a reset, a dead peer): messages may have been lost silently. */
  abnormal: boolean;
  /** Messages sent on that connection and not echoed before it closed. */
  unanswered: number;
  /** ms from the close to the next connection's hello (undefined: never reconnected). */
  reconnectMs?: number;
  atMs: number;
}

export interface WebSocketSummary {
  clients: number;
  /** Connections that opened and said hello. */
  connections: number;
  messagesSent: number;
  messagesAnswered: number;
  /** Closes the clients did not ask for, by code. */
  serverCloses: Record<string, number>;
  cleanCloses: number;
  abnormalCloses: number;
  /** Messages not answered before a clean close (the close-handshake race), total and at most per close. */
  unansweredAtCleanClose: number;
  maxUnansweredPerCleanClose: number;
  /** Messages lost with an abnormal close. */
  unansweredAtAbnormalClose: number;
  /** Attempts to connect that failed (refused, non-101 answer); each was retried. */
  failedConnects: number;
  failedConnectsByCause: Record<string, number>;
  reconnects: number;
  maxReconnectMs: number;
  /** Every client that was closed by the other side had connected again by the end. */
  allReconnected: boolean;
  /** Clients with an open connection (hello received) when the run ended. */
  connectedAtEnd: number;
  /** Hello messages by version and instance: who answered. */
  byVersion: Record<string, number>;
  byInstance: Record<string, number>;
}

/**
 * N WebSocket clients that each send a numbered message every interval and check every echo. A
 * close the client did not ask for is recorded (its code, the messages left unanswered) and the
 * client reconnects at once; the time until the next hello is the reconnect time.
 */
export class WebSocketChecker {
  readonly closes: ServerClose[] = [];
  private readonly now: () => number;
  private startedAt = 0;
  private stopping = false;
  private readonly clients: Client[] = [];
  private sent = 0;
  private answered = 0;
  private connections = 0;
  private connectedAtEnd?: number;
  private readonly failed: Record<string, number> = {};
  private readonly byVersion: Record<string, number> = {};
  private readonly byInstance: Record<string, number> = {};

  constructor(private readonly options: WebSocketCheckerOptions) {
    if (!(options.clients >= 1)) throw new Error(`clients: expected at least 1, got ${options.clients}`);
    if (!(options.messageIntervalMs > 0)) throw new Error(`messageIntervalMs: expected a positive number, got ${options.messageIntervalMs}`);
    this.now = options.now ?? (() => performance.now());
  }

  get elapsedMs(): number {
    return this.now() - this.startedAt;
  }

  /**
   * Connects every client; resolves once each has had its first hello, or after `startTimeoutMs`
   * (10 s) with those that have not still retrying: a run never waits for ever.
   */
  async start(startTimeoutMs = 10_000): Promise<void> {
    this.startedAt = this.now();
    const first: Promise<void>[] = [];
    for (let i = 0; i < this.options.clients; i++) {
      const c: Client = { index: i, pending: new Map(), seq: 0 };
      this.clients.push(c);
      first.push(new Promise((resolve) => (c.onHello = resolve)));
      this.connect(c);
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(first), new Promise((r) => (timer = setTimeout(r, startTimeoutMs)))]);
    clearTimeout(timer);
  }

  private connect(c: Client): void {
    if (this.stopping) return;
    const ws = new WebSocket(this.options.url, { perMessageDeflate: false, handshakeTimeout: 5000 });
    c.ws = ws;
    c.pending = new Map();
    let opened = false;
    let hello = false;
    let counted = false;
    let retried = false;
    const retry = () => {
      if (retried) return;
      retried = true;
      setTimeout(() => this.connect(c), this.options.retryDelayMs ?? 50);
    };
    ws.on('unexpected-response', (req, res) => {
      counted = true;
      this.fail(`HTTP ${res.statusCode}`);
      res.resume();
      req.destroy();
      // ws emits no close for a handshake answered without 101 and aborted here: retry now.
      retry();
    });
    ws.on('error', (err: NodeJS.ErrnoException) => {
      if (!opened && !counted) this.fail(err.code ?? err.message);
      counted = true;
    });
    ws.on('open', () => {
      opened = true;
      // A connection that opens but never says hello is as good as failed: cut it (it reconnects).
      const noHello = setTimeout(() => {
        if (hello) return;
        this.fail('NO_HELLO');
        ws.terminate();
      }, 5000);
      ws.once('close', () => clearTimeout(noHello));
    });
    ws.on('message', (data) => {
      const text = data.toString();
      if (!hello) {
        hello = true;
        this.connections++;
        try {
          const h = JSON.parse(text) as { version?: string; instance?: string };
          this.byVersion[h.version ?? '?'] = (this.byVersion[h.version ?? '?'] ?? 0) + 1;
          this.byInstance[h.instance ?? '?'] = (this.byInstance[h.instance ?? '?'] ?? 0) + 1;
        } catch {
          /* a hello that is not JSON still counts as an open connection */
        }
        const last = c.lastClose;
        if (last && last.reconnectMs === undefined) last.reconnectMs = round(this.now() - c.closedAt!);
        c.onHello?.();
        c.onHello = undefined;
        c.timer = setInterval(() => this.sendNext(c, ws), this.options.messageIntervalMs);
        return;
      }
      const seq = Number(/^seq (\d+)$/.exec(text)?.[1]);
      if (c.pending.delete(seq)) this.answered++;
    });
    ws.on('close', (code) => {
      clearInterval(c.timer);
      c.timer = undefined;
      if (!opened) return retry(); // never opened: retry after a pause (the failure is already counted)
      if (c.closing || this.stopping) return c.onClosed?.();
      const close: ServerClose = { client: c.index, code, abnormal: code === 1006, unanswered: c.pending.size, atMs: round(this.elapsedMs) };
      this.closes.push(close);
      c.lastClose = close;
      c.closedAt = this.now();
      this.connect(c);
    });
  }

  private sendNext(c: Client, ws: WebSocket): void {
    if (ws.readyState !== WebSocket.OPEN || this.stopping) return;
    const seq = ++c.seq;
    c.pending.set(seq, this.now());
    this.sent++;
    ws.send(`seq ${seq}`);
  }

  private fail(cause: string): void {
    this.failed[cause] = (this.failed[cause] ?? 0) + 1;
  }

  /**
   * Gives clients that are reconnecting right now up to 2 s to be back, stops sending, waits a
   * moment for the last echoes, closes every client (1000) and summarises.
   */
  async stop(): Promise<WebSocketSummary> {
    const back = this.now() + 2000;
    const connected = (c: Client) => c.ws?.readyState === WebSocket.OPEN && c.timer !== undefined;
    while (this.clients.some((c) => !connected(c)) && this.now() < back) await new Promise((r) => setTimeout(r, 10));
    this.stopping = true;
    this.connectedAtEnd = this.clients.filter(connected).length;
    for (const c of this.clients) clearInterval(c.timer);
    const until = this.now() + 1000;
    while (this.clients.some((c) => c.pending.size > 0 && c.ws?.readyState === WebSocket.OPEN) && this.now() < until) await new Promise((r) => setTimeout(r, 10));
    await Promise.all(
      this.clients.map(
        (c) =>
          new Promise<void>((resolve) => {
            const ws = c.ws;
            if (!ws || ws.readyState === WebSocket.CLOSED) return resolve();
            if (ws.readyState === WebSocket.CONNECTING) {
              ws.terminate();
              return resolve();
            }
            c.closing = true;
            c.onClosed = resolve;
            const cut = setTimeout(() => ws.terminate(), 2000);
            ws.once('close', () => clearTimeout(cut));
            ws.close(1000, 'load check done');
          }),
      ),
    );
    return this.summary();
  }

  summary(): WebSocketSummary {
    const clean = this.closes.filter((c) => !c.abnormal);
    const abnormal = this.closes.filter((c) => c.abnormal);
    const serverCloses: Record<string, number> = {};
    for (const c of this.closes) serverCloses[c.code] = (serverCloses[c.code] ?? 0) + 1;
    const reconnectTimes = this.closes.map((c) => c.reconnectMs).filter((x): x is number => x !== undefined);
    const failedConnects = Object.values(this.failed).reduce((a, b) => a + b, 0);
    return {
      clients: this.options.clients,
      connections: this.connections,
      messagesSent: this.sent,
      messagesAnswered: this.answered,
      serverCloses,
      cleanCloses: clean.length,
      abnormalCloses: abnormal.length,
      unansweredAtCleanClose: clean.reduce((n, c) => n + c.unanswered, 0),
      maxUnansweredPerCleanClose: Math.max(0, ...clean.map((c) => c.unanswered)),
      unansweredAtAbnormalClose: abnormal.reduce((n, c) => n + c.unanswered, 0),
      failedConnects,
      failedConnectsByCause: { ...this.failed },
      reconnects: reconnectTimes.length,
      maxReconnectMs: Math.max(0, ...reconnectTimes),
      allReconnected: this.closes.every((c) => c.reconnectMs !== undefined),
      connectedAtEnd: this.connectedAtEnd ?? this.clients.filter((c) => c.ws?.readyState === WebSocket.OPEN).length,
      byVersion: { ...this.byVersion },
      byInstance: { ...this.byInstance },
    };
  }
}

interface Client {
  index: number;
  ws?: WebSocket;
  seq: number;
  /** Sequence numbers sent on the current connection and not yet echoed. */
  pending: Map<number, number>;
  timer?: NodeJS.Timeout;
  lastClose?: ServerClose;
  closedAt?: number;
  closing?: boolean;
  onHello?: () => void;
  onClosed?: () => void;
}

const round = (n: number) => Math.round(n * 10) / 10;

/** Whether a WebSocket run is clean: nothing abnormal, no failed connect, everyone back, at most one message lost per clean close. */
export function webSocketOk(s: WebSocketSummary): boolean {
  return s.abnormalCloses === 0 && s.failedConnects === 0 && s.allReconnected && s.maxUnansweredPerCleanClose <= 1 && s.connectedAtEnd === s.clients;
}

export function formatWebSocketSummary(s: WebSocketSummary): string {
  const kv = (r: Record<string, number>) => Object.entries(r).map(([k, v]) => `${k} ${v}`).join(', ') || '-';
  return [
    `websocket: ${s.clients} clients, ${s.connections} connections, ${s.messagesSent} messages sent, ${s.messagesAnswered} answered`,
    `closes by the server side: ${kv(s.serverCloses)} (clean ${s.cleanCloses}, abnormal ${s.abnormalCloses})`,
    `unanswered at a clean close: ${s.unansweredAtCleanClose} (at most ${s.maxUnansweredPerCleanClose} per close); lost with abnormal closes: ${s.unansweredAtAbnormalClose}`,
    `reconnects ${s.reconnects}, max reconnect time ${s.maxReconnectMs} ms, every client reconnected: ${s.allReconnected ? 'yes' : 'NO'}, connected at the end: ${s.connectedAtEnd} of ${s.clients}`,
    `failed connects: ${s.failedConnects}${s.failedConnects ? ' (' + kv(s.failedConnectsByCause) + ')' : ''}`,
    `hello by version: ${kv(s.byVersion)}; by instance: ${kv(s.byInstance)}`,
  ].join('\n');
}
