import path from 'node:path';
import type { LoadJob, LoadResult } from './load-worker';
import { CpuMeter, forkForResult } from './procs';
import { ForeignCpuMeter } from './sysload';
import { DIST, type Target } from './targets';

/** Runs one load job in a forked worker and measures the target's CPU (and everyone else's) during its measured phase. */
export async function runLoad(target: Target, job: LoadJob, timeoutMs: number) {
  const cpu = new CpuMeter(target.pid);
  const foreign = new ForeignCpuMeter();
  let cpuPct = NaN;
  let foreignCpuPct = NaN;
  const result = await forkForResult<LoadResult>(path.join(DIST, 'load-worker.js'), [JSON.stringify(job)], timeoutMs, (m) => {
    const msg = m as { phase?: string; ok?: boolean };
    if (msg.phase === 'measure') {
      cpu.mark();
      foreign.mark();
    } else if (msg.ok !== undefined) {
      cpuPct = cpu.read();
      foreignCpuPct = foreign.read();
    }
  });
  return { result, cpuPct, foreignCpuPct };
}
