import type http from 'node:http';
import { rawHeaderValues } from './response-head';
import type { CloseOutcome, LongLived, LongLivedRegistry } from './long-lived-registry';

/** The balancer's last event on a stream it closes: no `id`, so the client's Last-Event-ID stays the last real event. */
export const FINAL_SSE_EVENT = 'event: close\ndata: {"reason":"upstream restarting, reconnect"}\n\n';
/** When the upstream sends nothing that completes its current event within this time, the stream is cut there. */
const BOUNDARY_WAIT_MS = 1000;

/** True for a Server-Sent Events response (`content-type: text/event-stream`). */
export function isEventStream(res: http.IncomingMessage): boolean {
  // The first content-type, as Node's headers object keeps it; read raw so no headers object is built per response.
  const type = rawHeaderValues(res.rawHeaders, 'content-type')?.[0];
  return typeof type === 'string' && /^\s*text\/event-stream\b/i.test(type);
}

/** True when `tail` (the last bytes written) ends an event: a blank line (RFC: LF or CRLF line ends). */
function endsEvent(tail: string): boolean {
  return tail.endsWith('\n\n') || tail.endsWith('\r\n\r\n');
}

/** Where the first event in `text` ends (after its blank line), or -1. */
function firstEventEnd(text: string): number {
  const lf = text.indexOf('\n\n');
  const crlf = text.indexOf('\r\n\r\n');
  const ends = [lf < 0 ? -1 : lf + 2, crlf < 0 ? -1 : crlf + 4].filter((i) => i >= 0);
  return ends.length ? Math.min(...ends) : -1;
}

/**
 * Relays an event stream from the upstream to the client (in place of a plain pipe) and registers
 * it as long-lived, so a drain can end it cleanly: at an event boundary (what was written so far
 * ends an event, or the next boundary the upstream sends), followed by {@link FINAL_SSE_EVENT}.
 * The response stays counted in flight on its upstream until it ends (the proxy's own accounting).
 */
export function relayEventStream(upstream: string, proxyRes: http.IncomingMessage, res: http.ServerResponse, registry: LongLivedRegistry): void {
  let tail = '\n\n';
  let closing: ((o: CloseOutcome) => void) | undefined;
  const finished = new Promise<void>((resolve) => res.once('close', () => resolve()));

  const finish = (outcome: CloseOutcome, upTo?: Buffer) => {
    const done = closing!;
    proxyRes.unpipe(res);
    proxyRes.removeAllListeners('data');
    if (upTo?.length) res.write(upTo);
    if (outcome === 'clean') res.end(FINAL_SSE_EVENT);
    else res.end();
    // Only after the last bytes are out: the upstream response is no longer wanted. Its 'aborted'
    // would make the proxy destroy the client's response (possibly before our final event left).
    res.once('finish', () => {
      proxyRes.removeAllListeners('aborted');
      proxyRes.on('error', () => {});
      proxyRes.destroy();
    });
    void finished.then(() => done(outcome));
  };

  proxyRes.on('data', (chunk: Buffer) => {
    if (closing) {
      const text = (tail + chunk.toString('latin1')).slice(-(chunk.length + 4));
      const end = firstEventEnd(text);
      if (end >= 0) return finish('clean', chunk.subarray(0, Math.max(0, end - (text.length - chunk.length))));
      res.write(chunk);
    }
    tail = (tail + chunk.subarray(-4).toString('latin1')).slice(-4);
  });
  proxyRes.pipe(res);

  const remove = registry.add({
    kind: 'sse',
    upstream,
    close: (): Promise<CloseOutcome> => {
      if (res.writableEnded) return finished.then(() => 'clean');
      return new Promise<CloseOutcome>((resolve) => {
        closing = resolve;
        if (endsEvent(tail)) return finish('clean');
        // Mid-event: stop the pipe and write by hand up to the end of the current event.
        proxyRes.unpipe(res);
        proxyRes.resume();
        const timer = setTimeout(() => closing === resolve && !res.writableEnded && finish('cut'), BOUNDARY_WAIT_MS);
        void finished.then(() => clearTimeout(timer));
      });
    },
  } satisfies LongLived);
  void finished.then(remove);
}
