import type { Instance } from './runtime/runtime';

export type StepName =
  | 'prepare'
  | 'drain'
  | 'deregister'
  | 'stop'
  | 'start'
  | 'register'
  | 'health'
  | 'enable'
  | 'start-beside'
  | 'remove-beside'
  | 'pause'
  | 'rollback'
  | 'label'
  | 'switch'
  | 'keep-blue'
  | 'canary-step'
  | 'promote'
  | 'cleanup';

export interface StepRecord {
  slot: string;
  step: StepName;
  ok: boolean;
  ms: number;
  detail?: string;
}

export type SlotResult = 'updated' | 'rolled-back' | 'untouched' | 'unchanged' | 'failed';

/** Everything a deploy did, for people (summary) and machines (--json). */
export interface DeployReport {
  strategy: string;
  runtime: string;
  version: string;
  ok: boolean;
  startedAt: string;
  durationMs: number;
  steps: StepRecord[];
  slots: { slot: string; from: string; to: string; result: SlotResult; ms: number }[];
  error?: { code: string; message: string };
  /** Blue/green: when all traffic moved to green (ms since the epoch, after the balancer confirmed). */
  switchedAt?: number;
  /** Canary: each step's share and the analysis of the balancer's numbers. */
  canarySteps?: { percent: number; startedAt: number; endedAt: number; verdict: string; reason: string; canary: unknown; baseline: unknown }[];
  /** The instances after the deploy, as the runtime reports them. */
  final: Instance[];
  /** After a failure or an interrupt: what the repair did and whether the lab is consistent now. */
  repair?: { consistent: boolean; actions: string[]; problems: string[] };
}

/** Receives progress as it happens; the CLI prints it, tests collect it. */
export interface Reporter {
  stepStarted(slot: string, step: StepName, detail?: string): void;
  stepDone(record: StepRecord): void;
  message(text: string): void;
}

export const silentReporter: Reporter = { stepStarted: () => {}, stepDone: () => {}, message: () => {} };
