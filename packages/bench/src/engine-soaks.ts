import { memorySoak } from './memory-soak';
import type { Target } from './targets';

/** The balancer rows soaked for memory: one per proxy engine (the undici row only when it was started). */
export const SOAKED_TARGETS = ['lb', 'lb-undici'] as const;

/**
 * The memory soak once per proxy engine, one after the other (each alone on the machine): RSS must
 * stay flat with either engine. Returns each soak by target id.
 */
export async function soakEachEngine(targets: Target[], rate: number, seconds: number): Promise<Record<string, Record<string, unknown>>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const id of SOAKED_TARGETS) {
    const t = targets.find((x) => x.id === id);
    if (t) out[id] = await memorySoak(t, rate, seconds);
  }
  return out;
}
