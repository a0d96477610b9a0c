import { LoadChecker, type Outcome } from '@zdl/loadcheck';

export const LOAD_KINDS = ['GET', 'POST', 'slow GET'] as const;
export type LoadKind = (typeof LOAD_KINDS)[number];

/**
 * The load every row gets, the same as the demo's and the deploy tests': GETs and POSTs with JSON
 * bodies over keep-alive connections, and 2 s GETs, so that about 10 requests are always in flight
 * (about 5 on each instance) at the moment an instance is stopped.
 */
export class ExperimentLoad {
  private readonly checkers: Record<LoadKind, LoadChecker>;

  constructor(lbUrl: string, rate = 200) {
    this.checkers = {
      GET: new LoadChecker({ url: `${lbUrl}/api`, rate }),
      POST: new LoadChecker({ url: `${lbUrl}/api`, rate: Math.max(1, rate / 10), method: 'POST', body: { order: 13, items: ['a', 'b'] } }),
      'slow GET': new LoadChecker({ url: `${lbUrl}/api?delayMs=2000`, rate: 5 }),
    };
  }

  static describe(rate = 200): string {
    return `${rate} GET/s and ${Math.max(1, rate / 10)} POST/s (JSON body) over keep-alive connections, and 5 GET/s that take 2 s each`;
  }

  start(): void {
    for (const c of Object.values(this.checkers)) c.start();
  }

  /** Stops sending and waits for every outstanding request. */
  async stop(): Promise<Record<LoadKind, Outcome[]>> {
    const [get, post, slow] = await Promise.all(LOAD_KINDS.map((k) => this.checkers[k].stop()));
    return { GET: get, POST: post, 'slow GET': slow };
  }
}
