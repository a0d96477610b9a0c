import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpProbe } from './http-probe';

/** Blocks this process's event loop, as a starved 2-core machine does to the balancer. */
const blockLoop = (ms: number) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    /* busy */
  }
};

describe('httpProbe on a starved event loop', () => {
  it('passes a check whose answer arrived in time even when the timer fires late (the answer is read first)', async () => {
    // The upstream answers at once, then this process stalls for longer than the check's timeout:
    // when the loop runs again the answer is waiting in the socket and the timer is overdue.
    const server = http.createServer((_req, res) => {
      res.end('pong');
      blockLoop(300);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const target = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      for (let i = 0; i < 3; i++) expect(await httpProbe(target, '/ping', 100)).toEqual({ ok: true, reason: 'GET /ping → 200' });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('still times out an upstream that really does not answer', async () => {
    const server = http.createServer(() => {
      /* never answers */
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const target = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      expect(await httpProbe(target, '/ping', 100)).toMatchObject({ ok: false, reason: 'GET /ping timed out after 100 ms' });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
