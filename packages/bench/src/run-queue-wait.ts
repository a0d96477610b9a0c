import fs from 'node:fs';

/** How long processes waited for a CPU while runnable, as the kernel counts it (/proc/<pid>/schedstat). */
export interface RunQueueWait {
  /** Over the whole sampling: ms waited per second, the most-waiting process's. */
  meanMsPerS: number;
  /** The worst 1-second window: ms the most-waiting process waited in it (1000 = never ran while runnable). */
  worstWindowMs: number;
  /** ms the processes ran per second, summed over them (CPU the balancer got). */
  ranMsPerS: number;
}

/** Reads a process's schedstat: [ns on a CPU, ns waiting on a run queue]; undefined once it is gone. */
export type ReadSchedstat = (pid: number) => [number, number] | undefined;

export const readProcSchedstat: ReadSchedstat = (pid) => {
  try {
    const [ran, waited] = fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ').map(Number);
    return Number.isFinite(ran) && Number.isFinite(waited) ? [ran, waited] : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Samples the run-queue wait of `pids` every `windowMs` until stop(). A process that waits long
 * for a CPU while it has work (requests in its socket buffers) adds exactly that wait to their
 * latency: this separates "the balancer was slow" from "the balancer was not given a CPU".
 * Linux only; with no readable schedstat, stop() returns undefined.
 */
export function sampleRunQueueWait(pids: number[], windowMs = 1000, read: ReadSchedstat = readProcSchedstat): { stop(): RunQueueWait | undefined } {
  const first = new Map<number, [number, number]>();
  const last = new Map<number, [number, number]>();
  for (const p of pids) {
    const s = read(p);
    if (s) {
      first.set(p, s);
      last.set(p, s);
    }
  }
  const began = performance.now();
  let lastAt = began;
  let worst = 0;
  const tick = () => {
    const now = performance.now();
    const elapsed = Math.max(1, now - lastAt);
    lastAt = now;
    let windowWorst = 0;
    for (const p of last.keys()) {
      const s = read(p);
      if (!s) continue;
      windowWorst = Math.max(windowWorst, (s[1] - last.get(p)![1]) / 1e6);
      last.set(p, s);
    }
    // Per 1,000 ms of the window actually elapsed (a late timer makes a longer window).
    worst = Math.max(worst, (windowWorst * 1000) / elapsed);
  };
  const timer = setInterval(tick, windowMs);
  return {
    stop() {
      clearInterval(timer);
      if (first.size === 0) return undefined;
      const seconds = Math.max(0.001, (performance.now() - began) / 1000);
      let waited = 0;
      let ran = 0;
      for (const [p, s0] of first) {
        const s = read(p) ?? last.get(p)!;
        waited = Math.max(waited, (s[1] - s0[1]) / 1e6);
        ran += (s[0] - s0[0]) / 1e6;
      }
      return { meanMsPerS: waited / seconds, worstWindowMs: worst, ranMsPerS: ran / seconds };
    },
  };
}
