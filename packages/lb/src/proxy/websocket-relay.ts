import WebSocket from 'ws';
import type { CloseOutcome, LongLived } from './long-lived-registry';

/** Close codes a close frame may carry (RFC 6455 §7.4; 1005, 1006 and 1015 are never sent). */
function sendable(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

/** "Service restart": what the client is told when its upstream is drained (reconnect now). */
export const WS_SERVICE_RESTART = 1012;
/** "Going away": what the upstream is told when the balancer closes, and the client when the balancer stops. */
export const WS_GOING_AWAY = 1001;
/** A side that does not answer a close frame within this time is cut. */
const CLOSE_HANDSHAKE_TIMEOUT_MS = 2000;
/**
 * Each side is pinged this often; one that has not answered the previous ping by the next is gone
 * without a word (a lost network, a host off): it is cut, so dead connections don't hold a slot of
 * `proxy.maxUpgraded` for ever.
 */
export const HEARTBEAT_MS = 30_000;
/** Above this many bytes queued towards one side, reading from the other pauses (memory stays bounded). */
const HIGH_WATER_BYTES = 1024 * 1024;

/**
 * Relays messages between a client's WebSocket and the upstream's, each a real WebSocket ended by
 * this balancer: so the balancer can close either side at a frame boundary with a close frame of
 * its own (a drain), which a raw byte pipe cannot do. Close frames are passed on with their code
 * and reason; an abnormal end on one side (no close frame: 1006) ends the other side abnormally
 * too when it is the upstream (the client must know messages may be lost), and with 1001 towards an
 * upstream whose client vanished.
 */
export class WebSocketRelay implements LongLived {
  readonly kind = 'websocket' as const;
  private readonly ended: Promise<void>;
  /** Why the client's side closed: its close code (1006 = no close frame). */
  private clientCode = 0;

  constructor(
    private readonly client: WebSocket,
    private readonly peer: WebSocket,
    readonly upstream: string,
    heartbeatMs = HEARTBEAT_MS,
  ) {
    const closedClient = new Promise<void>((r) => client.once('close', (code) => ((this.clientCode = code), r())));
    const closedPeer = new Promise<void>((r) => peer.once('close', () => r()));
    this.ended = Promise.all([closedClient, closedPeer]).then(() => undefined);
    client.on('error', () => {});
    peer.on('error', () => {});
    this.pipe(client, peer);
    this.pipe(peer, client);
    const beat = setInterval(() => {
      for (const ws of [client, peer]) {
        if (ws.readyState !== WebSocket.OPEN) continue;
        if (alive.get(ws) === false) {
          ws.terminate();
          continue;
        }
        alive.set(ws, false);
        ws.ping();
      }
    }, heartbeatMs);
    const alive = new Map<WebSocket, boolean>();
    for (const ws of [client, peer]) ws.on('pong', () => alive.set(ws, true));
    void this.ended.then(() => clearInterval(beat));
    client.once('close', (code, reason) => {
      if (peer.readyState !== WebSocket.OPEN) return terminateIfStuck(peer);
      closeWithTimeout(peer, code === 1006 || !sendable(code) ? WS_GOING_AWAY : code, reason.toString());
    });
    peer.once('close', (code, reason) => {
      if (client.readyState !== WebSocket.OPEN) return terminateIfStuck(client);
      if (code === 1006) client.terminate();
      else closeWithTimeout(client, sendable(code) ? code : undefined, reason.toString());
    });
  }

  /** Resolves once both sides are closed. */
  get done(): Promise<void> {
    return this.ended;
  }

  private pipe(from: WebSocket, to: WebSocket): void {
    from.on('message', (data, isBinary) => {
      // After a close frame was sent or received on `to` nothing more can reach its peer.
      if (to.readyState !== WebSocket.OPEN) return;
      to.send(data, { binary: isBinary }, () => {
        if (from.isPaused && to.bufferedAmount < HIGH_WATER_BYTES / 2) from.resume();
      });
      if (to.bufferedAmount > HIGH_WATER_BYTES) from.pause();
    });
  }

  /**
   * Closes both sides at once. What the client sent while its close frame was on the way, and
   * answers still on their way back, are lost (the close-handshake race; the client reconnects and
   * resends). Closing the upstream first and the client after the upstream's close reply keeps those
   * answers but widens the window by the upstream's close handshake: in the local deploy test it
   * lost more messages (23 and 39 unanswered for 45 closes, at most 2 per close; both at once: 0 to
   * 7, at most 1 per close), so both at once it is.
   */
  async close(reason: 'draining' | 'stopping'): Promise<CloseOutcome> {
    if (this.client.readyState === WebSocket.OPEN) {
      closeWithTimeout(this.client, reason === 'draining' ? WS_SERVICE_RESTART : WS_GOING_AWAY, reason === 'draining' ? 'upstream restarting, reconnect' : 'balancer shutting down');
    }
    if (this.peer.readyState === WebSocket.OPEN) closeWithTimeout(this.peer, WS_GOING_AWAY, 'client connection closed by the balancer');
    await this.ended;
    return this.clientCode === 1006 ? 'cut' : 'clean';
  }
}

function closeWithTimeout(ws: WebSocket, code: number | undefined, reason: string): void {
  ws.close(code, Buffer.byteLength(reason) <= 123 ? reason : undefined);
  terminateIfStuck(ws);
}

function terminateIfStuck(ws: WebSocket): void {
  if (ws.readyState === WebSocket.CLOSED) return;
  const t = setTimeout(() => ws.terminate(), CLOSE_HANDSHAKE_TIMEOUT_MS);
  ws.once('close', () => clearTimeout(t));
}
