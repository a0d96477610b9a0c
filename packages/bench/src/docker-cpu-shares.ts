import fs from 'node:fs';
import path from 'node:path';

export const DOCKER_CPU_SHARES_FILE = '/sys/fs/cgroup/cpu/docker/cpu.shares';

/**
 * The `docker` cgroup's CPU weight, changed for one bench run and put back after. cgroup v1 with
 * the cgroupfs driver puts every container under /docker, whose cpu.shares (1024) weighs as much
 * as one host process at nice 0: the balancer, the instances and the containers being started then
 * share what one host thread gets while the host side (dockerd, containerd, the deployer and its
 * docker CLIs, the generator) is busy.
 *
 * The original value is written to `savedFile` before the change and removed once it is back, so
 * a run killed in between (SIGKILL, a crash) leaves it behind and the next run puts it back first.
 */
export class DockerCpuShares {
  constructor(private readonly o: { sharesFile: string; savedFile: string; say: (s: string) => void }) {}

  /** Puts back a weight a killed run left changed; true if there was one. */
  repair(): boolean {
    let saved: string;
    try {
      saved = fs.readFileSync(this.o.savedFile, 'utf8').trim();
    } catch {
      return false;
    }
    if (/^\d+$/.test(saved)) {
      fs.writeFileSync(this.o.sharesFile, saved);
      this.o.say(`docker cgroup cpu.shares put back to ${saved} (an earlier run was stopped before it could)`);
    }
    fs.rmSync(this.o.savedFile, { force: true });
    return true;
  }

  /** Sets the weight; the returned function puts the original back. */
  set(n: number): () => void {
    this.repair();
    let before: string;
    try {
      before = fs.readFileSync(this.o.sharesFile, 'utf8').trim();
    } catch (err) {
      throw new Error(`--docker-cpu-shares: cannot read ${this.o.sharesFile} (${(err as Error).message}); it needs cgroup v1 with the cgroupfs driver`);
    }
    fs.mkdirSync(path.dirname(this.o.savedFile), { recursive: true });
    fs.writeFileSync(this.o.savedFile, before);
    try {
      fs.writeFileSync(this.o.sharesFile, String(n));
    } catch (err) {
      fs.rmSync(this.o.savedFile, { force: true });
      throw new Error(`--docker-cpu-shares: cannot write ${this.o.sharesFile} (${(err as Error).message}); it needs root`);
    }
    this.o.say(`docker cgroup cpu.shares ${before} → ${n} for this run`);
    return () => {
      fs.writeFileSync(this.o.sharesFile, before);
      fs.rmSync(this.o.savedFile, { force: true });
      this.o.say(`docker cgroup cpu.shares back to ${before}`);
    };
  }
}
