import type { DeployReport, Reporter, StepRecord } from '../deploy-report';

/** Prints each step as it finishes, with timings, and a summary at the end. */
export class ConsoleReporter implements Reporter {
  private readonly began = Date.now();

  constructor(private readonly write: (line: string) => void = (l) => process.stdout.write(l + '\n')) {}

  private stamp(): string {
    return `[${((Date.now() - this.began) / 1000).toFixed(1).padStart(5)}s]`;
  }

  /** Every step's start is a line of its own ("started"): people see what runs, tests can act on it. */
  stepStarted(slot: string, step: string): void {
    const what = step === 'health' ? '  (waiting for the balancer to report it healthy)' : step === 'drain' ? '  (waiting for in-flight requests)' : '';
    this.write(`${this.stamp()} ${slot.padEnd(10)} ${step.padEnd(13)} started${what}`);
  }

  stepDone(r: StepRecord): void {
    const status = r.ok ? 'ok    ' : 'FAILED';
    this.write(`${this.stamp()} ${r.slot.padEnd(10)} ${r.step.padEnd(13)} ${status} ${String(r.ms).padStart(6)} ms${r.detail ? `  ${r.detail}` : ''}`);
  }

  message(text: string): void {
    this.write(`${this.stamp()} ${text}`);
  }
}

export function formatReport(r: DeployReport): string {
  const lines = [
    '',
    `${r.strategy} deploy of ${r.version} on ${r.runtime}: ${r.ok ? 'DONE' : 'FAILED'} in ${(r.durationMs / 1000).toFixed(1)} s`,
  ];
  for (const s of r.slots) lines.push(`  ${s.slot.padEnd(12)} ${s.from} -> ${s.to.padEnd(10)} ${s.result.padEnd(12)} ${(s.ms / 1000).toFixed(1)} s`);
  const per = new Map<string, number>();
  for (const st of r.steps) per.set(st.step, (per.get(st.step) ?? 0) + st.ms);
  lines.push(`  time by step: ${[...per.entries()].map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`).join(', ')}`);
  for (const c of r.canarySteps ?? []) lines.push(`  canary ${String(c.percent).padStart(3)}%: ${c.verdict.padEnd(12)} ${c.reason}`);
  if (r.switchedAt) lines.push(`  traffic switched to green at ${new Date(r.switchedAt).toISOString()}`);
  if (r.error) lines.push(`  error (${r.error.code}): ${r.error.message}`);
  if (r.final.length) lines.push(`  now running: ${r.final.map((i) => `${i.slot}=${i.version}`).join(', ')}`);
  if (r.repair) {
    lines.push(`  repair: ${r.repair.consistent ? 'the lab is consistent' : 'the lab is NOT consistent'}${r.repair.actions.length ? '' : ' (nothing to change)'}`);
    for (const a of r.repair.actions) lines.push(`    - ${a}`);
    for (const p of r.repair.problems) lines.push(`    ! ${p}`);
  }
  return lines.join('\n');
}
