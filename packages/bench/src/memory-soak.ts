import { ms, say } from './bench-log';
import type { FixedRateResult } from './fixed-rate';
import { describeMemory, memoryVerdict, type MemoryVerdict } from './memory-verdict';
import { rssMiB, sleep } from './procs';
import { runLoad } from './run-load';
import { round } from './stats';
import type { Target } from './targets';

/** Drives `rate` req/s through the balancer for `seconds`, sampling its RSS every 5 s, and says whether it grows. */
export async function memorySoak(lb: Target, rate: number, seconds: number): Promise<Record<string, unknown>> {
  say(`memory soak (${lb.id}): ${rate} req/s through ${lb.label} for ${seconds} s, RSS every 5 s...`);
  const samples: { tS: number; mib: number }[] = [];
  const began = performance.now();
  const take = () => samples.push({ tS: round((performance.now() - began) / 1000, 1), mib: round(rssMiB([lb.pid]), 1) });
  take();
  let lastSay = 0;
  const timer = setInterval(() => {
    take();
    const s = samples[samples.length - 1];
    if (s.tS - lastSay >= 30) {
      lastSay = s.tS;
      say(`  soak ${Math.round(s.tS)}/${seconds} s: RSS ${s.mib} MiB (peak so far ${Math.max(...samples.map((x) => x.mib))} MiB)`);
    }
  }, 5000);
  const res = await runLoad(lb, { kind: 'rate', url: lb.url, rate, connections: 64, durationMs: seconds * 1000, warmupMs: 0, windowMs: 5000, timeoutMs: 10_000 }, seconds * 1000 + 60_000);
  clearInterval(timer);
  take();
  await sleep(2000);
  const idleAfter = round(rssMiB([lb.pid]), 1);
  const rr = res.result as FixedRateResult;
  const soak = { target: lb.id, rate, durationS: seconds, ...memoryVerdict(samples), idleAfterMiB: idleAfter, samples, latency: rr.latency, errors: rr.errors, keptRate: rr.keptRate, cpuPct: round(res.cpuPct, 1), windows: rr.windows };
  say(`  soak done: ${describeMemory(soak as unknown as MemoryVerdict)}; p99 ${ms(rr.latency.p99)} ms, errors ${rr.errors}`);
  return soak;
}
