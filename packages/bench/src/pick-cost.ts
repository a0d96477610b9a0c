import path from 'node:path';
import { median } from './stats';

/** The balancer's own pick (its built SmoothWeightedRoundRobin), loaded from beside the measured main.js. */
interface Picker {
  next(items: readonly unknown[]): unknown;
}

/**
 * Nanoseconds per pick among `n` equal-weight upstreams, in this process: the request path's
 * choice of upstream with nothing else around it, so its growth with `n` is seen apart from
 * sockets, health checks and caches (which the closed-loop figures include).
 */
export function pickCostNs(lbMain: string, n: number, picks = 200_000, repeats = 5): number {
  const mod = require(path.resolve(path.dirname(lbMain), 'balancing/smooth-weighted-round-robin.js')) as { SmoothWeightedRoundRobin: new (w: (x: unknown) => number) => Picker };
  const items = Array.from({ length: n }, (_, i) => ({ i, weight: 1 }));
  const rr = new mod.SmoothWeightedRoundRobin((x) => (x as { weight: number }).weight);
  for (let i = 0; i < picks / 4; i++) rr.next(items); // warm-up: let the JIT settle
  const samples: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < picks; i++) rr.next(items);
    samples.push(Number(process.hrtime.bigint() - t) / picks);
  }
  return median(samples);
}
