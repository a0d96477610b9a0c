import { LoadChecker, type Outcome } from '@zdl/loadcheck';

export const LOAD_KINDS = ['GET', 'POST', 'slow GET', 'slow POST'] as const;
export type LoadKind = (typeof LOAD_KINDS)[number];

/**
 * The load every row gets: the demo's and the deploy tests' (GETs and POSTs with JSON bodies over
 * keep-alive connections, 2 s GETs) plus 2 s POSTs. The 2 s requests keep about 20 requests in flight
 * (about 10 on each instance, half of them POSTs) at the moment an instance is stopped, so a row that
 * cuts requests in flight fails every time, and the POSTs show where a retry must stop: a POST
 * already sent may have had effects, so the balancer never replays it.
 */
export class ExperimentLoad {
  private readonly checkers: Record<LoadKind, LoadChecker>;

  constructor(lbUrl: string, rate = 200) {
    this.checkers = {
      GET: new LoadChecker({ url: `${lbUrl}/api`, rate }),
      POST: new LoadChecker({ url: `${lbUrl}/api`, rate: Math.max(1, rate / 10), method: 'POST', body: { order: 13, items: ['a', 'b'] } }),
      'slow GET': new LoadChecker({ url: `${lbUrl}/api?delayMs=2000`, rate: 5 }),
      'slow POST': new LoadChecker({ url: `${lbUrl}/api?delayMs=2000`, rate: 5, method: 'POST', body: { order: 13, slow: true } }),
    };
  }

  static describe(rate = 200): string {
    return `${rate} GET/s and ${Math.max(1, rate / 10)} POST/s (JSON body) over keep-alive connections, 5 GET/s and 5 POST/s that take 2 s each`;
  }

  start(): void {
    for (const c of Object.values(this.checkers)) c.start();
  }

  /** Stops sending and waits for every outstanding request. */
  async stop(): Promise<Record<LoadKind, Outcome[]>> {
    const [get, post, slowGet, slowPost] = await Promise.all(LOAD_KINDS.map((k) => this.checkers[k].stop()));
    return { GET: get, POST: post, 'slow GET': slowGet, 'slow POST': slowPost };
  }
}
