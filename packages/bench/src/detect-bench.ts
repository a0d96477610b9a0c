import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalLab } from '@zdl/deployer';
import { LoadChecker, summarize } from '@zdl/loadcheck';
import { onCleanup, sleep } from './procs';
import { getJson } from './targets';

export interface DetectionResult {
  signal: 'SIGKILL' | 'SIGSTOP';
  /** ms from the signal to the balancer listing the instance out of rotation; NaN if never within the limit. */
  detectMs: number;
  targetMs: number;
  rate: number;
  sent: number;
  failed: number;
  failedByCause: Record<string, number>;
  /** Worst latency of a request sent after the kill (retries and waits show up here). */
  maxLatencyAfterKillMs: number;
  stateAfter: string;
  ok: boolean;
}

interface Health {
  upstreams: { name: string; state: string }[];
}

/**
 * Two instances behind the balancer (default settings), steady load, then `signal` to one instance:
 * SIGKILL (the kernel closes its sockets, so connections are refused at once) or SIGSTOP (the process
 * stays but never answers, like a host gone without RST: only timeouts and health checks see it).
 * Measures the time until the admin API (GET /upstreams) lists it out of rotation, and what the load saw.
 */
export async function benchDetection(signal: 'SIGKILL' | 'SIGSTOP', say: (s: string) => void, rate = 200, targetMs = 3500): Promise<DetectionResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zdl-bench-detect-'));
  const lab = new LocalLab({ dir, instances: 2 });
  let victimPid = 0;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // A stopped process would ignore the lab's SIGTERM until its grace period ends.
    if (victimPid) {
      try {
        process.kill(victimPid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await lab.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  onCleanup('local lab (detection)', stop);
  try {
    await lab.start();
    // The upstreams' states are the admin API's (the public /__lb/health is a bare status).
    const healthUrl = `${lab.adminUrl}/upstreams`;
    const auth = { authorization: `Bearer ${lab.state.adminToken}` };
    const began = Date.now();
    for (;;) {
      const h = await getJson<Health>(healthUrl, 2000, auth).catch(() => undefined);
      if (h && h.upstreams.length === 2 && h.upstreams.every((u) => u.state === 'healthy')) break;
      if (Date.now() - began > 15_000) throw new Error('detection lab: instances not healthy after 15 s');
      await sleep(50);
    }
    const victim = lab.state.slots['client-1'];
    const victimName = `127.0.0.1:${victim.port}`;
    const load = new LoadChecker({ url: `${lab.lbUrl}/api`, rate, timeoutMs: 10_000 });
    load.start();
    await sleep(1500);
    const killAt = load.elapsedMs;
    const t0 = performance.now();
    if (signal === 'SIGSTOP') victimPid = victim.pid;
    process.kill(victim.pid, signal);
    let detectMs = NaN;
    let stateAfter = 'healthy';
    while (performance.now() - t0 < 10_000) {
      const h = await getJson<Health>(healthUrl, 1000, auth).catch(() => undefined);
      const u = h?.upstreams.find((x) => x.name === victimName);
      if (u && u.state !== 'healthy') {
        detectMs = performance.now() - t0;
        stateAfter = u.state;
        break;
      }
      await sleep(20);
    }
    say(`  ${signal}: out of rotation after ${Number.isFinite(detectMs) ? `${Math.round(detectMs)} ms` : 'more than 10 s'} (${stateAfter}); load goes on for 1.5 s...`);
    await sleep(1500);
    const outcomes = await load.stop();
    const { failed, failedByCause } = summarize(outcomes);
    const after = outcomes.filter((o) => o.sentAt >= killAt);
    return {
      signal,
      detectMs,
      targetMs,
      rate,
      sent: outcomes.length,
      failed,
      failedByCause,
      maxLatencyAfterKillMs: after.reduce((m, o) => Math.max(m, o.latencyMs), 0),
      stateAfter,
      ok: detectMs <= targetMs && failed === 0,
    };
  } finally {
    await stop();
  }
}
