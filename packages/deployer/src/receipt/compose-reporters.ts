import type { Reporter, StepName, StepRecord } from '../deploy-report';

/** One Reporter that passes everything to each of `reporters` (console + balancer timeline + receipt). */
export function composeReporters(...reporters: Reporter[]): Reporter {
  return {
    stepStarted: (slot: string, step: StepName, detail?: string) => reporters.forEach((r) => r.stepStarted(slot, step, detail)),
    stepDone: (record: StepRecord) => reporters.forEach((r) => r.stepDone(record)),
    message: (text: string) => reporters.forEach((r) => r.message(text)),
  };
}
