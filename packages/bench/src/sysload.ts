import fs from 'node:fs';
import { cpuSeconds, processTree } from './procs';

/**
 * How busy the machine was with processes that are not ours during a run (another test suite, a
 * build...): the total CPU time from /proc/stat minus the CPU time of this process's tree, in % of one
 * core. Runs with much foreign load are flagged, since every figure here is CPU-bound.
 * Our processes count with their exited children (e.g. the wrk a load worker ran and has reaped).
 */
export class ForeignCpuMeter {
  private total0 = 0;
  private ours0 = 0;
  private t0 = 0;
  private pids: number[] = [];

  mark(): void {
    this.pids = processTree(process.pid);
    this.total0 = totalBusySeconds();
    this.ours0 = cpuSeconds(this.pids, { reapedChildren: true });
    this.t0 = performance.now();
  }

  /** % of one core used by others since mark(). */
  read(): number {
    if (this.t0 === 0) return NaN;
    // Children that started after mark() were not in the list: read the tree again, keeping old pids.
    const pids = [...new Set([...this.pids, ...processTree(process.pid)])];
    const total = totalBusySeconds() - this.total0;
    const ours = cpuSeconds(pids, { reapedChildren: true }) - this.ours0;
    return Math.max(0, ((total - ours) / ((performance.now() - this.t0) / 1000)) * 100);
  }
}

function totalBusySeconds(): number {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  const busy = f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0);
  return busy / 100;
}
