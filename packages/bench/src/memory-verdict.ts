import { median, round, slope } from './stats';

export interface MemoryVerdict {
  firstMiB: number;
  peakMiB: number;
  endMiB: number;
  slopeMiBPerMin: number;
  growthMiB: number;
  noiseMiB: number;
  grows: boolean;
}

/** Compares the first and last fifth of the samples (after the first one) against their spread. */
export function memoryVerdict(samples: { tS: number; mib: number }[]): MemoryVerdict {
  if (samples.length < 2) {
    const v = samples[0]?.mib ?? NaN;
    return { firstMiB: v, peakMiB: v, endMiB: v, slopeMiBPerMin: 0, growthMiB: 0, noiseMiB: 0, grows: false };
  }
  const k = Math.max(1, Math.floor(samples.length / 5));
  const head = samples.slice(1, 1 + k).map((s) => s.mib);
  const tailS = samples.slice(-k).map((s) => s.mib);
  const spread = (xs: number[]) => Math.max(...xs) - Math.min(...xs);
  const noise = Math.max(3, spread(head), spread(tailS), 0.05 * median(head));
  const growth = median(tailS) - median(head);
  const secondHalf = samples.slice(Math.floor(samples.length / 2));
  const sl = slope(secondHalf.map((s) => ({ x: s.tS / 60, y: s.mib })));
  return {
    firstMiB: samples[0].mib,
    peakMiB: Math.max(...samples.map((s) => s.mib)),
    endMiB: samples[samples.length - 1].mib,
    slopeMiBPerMin: round(sl, 2),
    growthMiB: round(growth, 1),
    noiseMiB: round(noise, 1),
    grows: growth > noise && sl > 0.5,
  };
}

/** Start/peak/end only: the benchmark phases are too short to call growth (the soak does that). */
export function loadPeak(samples: { mib: number }[]): { firstMiB: number; peakMiB: number; endMiB: number } {
  return { firstMiB: samples[0]?.mib ?? NaN, peakMiB: Math.max(...samples.map((s) => s.mib)), endMiB: samples[samples.length - 1]?.mib ?? NaN };
}

export function describeMemory(m: MemoryVerdict): string {
  return `RSS start ${m.firstMiB} MiB, peak ${m.peakMiB} MiB, end ${m.endMiB} MiB; first→last fifth ${m.growthMiB >= 0 ? '+' : ''}${m.growthMiB} MiB (noise ±${m.noiseMiB}), slope over the 2nd half ${m.slopeMiBPerMin} MiB/min → ${m.grows ? 'GROWS beyond noise' : 'no growth beyond noise'}`;
}
