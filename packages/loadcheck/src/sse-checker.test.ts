import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SseChecker, sseOk } from './sse-checker';

/** Numbered events after Last-Event-ID; `skip` makes the next stream skip an id, `endAfter` ends streams. */
async function eventServer(opts: { endAfter: number; skipOnce?: boolean; finalEvent?: boolean }) {
  let skip = opts.skipOnce ?? false;
  const server = http.createServer((req, res) => {
    let n = Number(req.headers['last-event-id'] ?? 0);
    if (req.headers['last-event-id'] && skip) {
      skip = false;
      n++;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    let sent = 0;
    const t = setInterval(() => {
      n++;
      res.write(`id: ${n}\ndata: {"n":${n},"version":"v1"}\n\n`);
      if (++sent === opts.endAfter) {
        clearInterval(t);
        res.end(opts.finalEvent === false ? undefined : 'event: close\ndata: bye\n\n');
      }
    }, 10);
    res.on('close', () => clearInterval(t));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`, close: () => (server.closeAllConnections(), new Promise((r) => server.close(r))) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SseChecker on a real server', () => {
  it('streams that end after a final event and resume after Last-Event-ID: nothing lost', async () => {
    const s = await eventServer({ endAfter: 5 });
    const sc = new SseChecker({ url: s.url, clients: 2 });
    await sc.start();
    await sleep(250);
    const summary = await sc.stop();
    await s.close();
    expect(summary.cleanEnds).toBeGreaterThanOrEqual(4);
    expect(summary).toMatchObject({ lostIds: 0, duplicateIds: 0, abnormalEnds: 0, failedConnects: 0, allReconnected: true, streamingAtEnd: 2 });
    expect(summary.reconnects).toBe(summary.cleanEnds);
    expect(sseOk(summary)).toBe(true);
  });

  it('counts an id skipped across a reconnect, and a stream ended without its final event', async () => {
    const s = await eventServer({ endAfter: 3, skipOnce: true, finalEvent: false });
    const sc = new SseChecker({ url: s.url, clients: 1 });
    await sc.start();
    await sleep(150);
    const summary = await sc.stop();
    await s.close();
    expect(summary.lostIds).toBe(1);
    expect(summary.abnormalEnds).toBeGreaterThanOrEqual(1);
    expect(sseOk(summary)).toBe(false);
  });
});
