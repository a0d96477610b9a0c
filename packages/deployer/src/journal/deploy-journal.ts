import type { StepName, StepRecord } from '../deploy-report';
import { DeployError } from '../lb-client/deploy-error';
import type { DeployLockApi } from '../lb-client/deploy-lock-api';
import type { JournalData } from './journal-data';

/** What DeployContext tells whoever keeps the record, before and after every step. */
export interface StepObserver {
  started(slot: string, step: StepName): Promise<void>;
  done(record: StepRecord): Promise<void>;
  /** An upstream is about to be added to the balancer (so a repair can remove it by name). */
  registering(name: string): Promise<void>;
}

/** Bounded, so the journal always fits the admin API's body limit. */
const MAX_ENTRIES = 300;

/**
 * Writes the journal to the balancer under the deploy lock: the intent before each step starts,
 * the result when it ends. Writes are sent one after the other (each carries the whole journal),
 * so a slow earlier write can never overwrite a later one.
 */
export class DeployJournal implements StepObserver {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly api: DeployLockApi,
    readonly lockId: string,
    readonly data: JournalData,
    private readonly now: () => Date = () => new Date(),
  ) {}

  flush(): Promise<void> {
    const next = this.chain.then(async () => {
      const a = await this.api.writeJournal(this.lockId, this.data);
      if (!a.ok) throw new DeployError('DEPLOY_ERR_LOCK_LOST', `the deploy lock was taken from this deployer: ${a.message}`);
    });
    // A failed write fails its caller; the next write still goes.
    this.chain = next.catch(() => undefined);
    return next;
  }

  async started(slot: string, step: StepName): Promise<void> {
    this.data.entries.push({ at: this.now().toISOString(), slot, step, state: 'started' });
    if (this.data.entries.length > MAX_ENTRIES) this.data.entries.splice(0, this.data.entries.length - MAX_ENTRIES);
    await this.flush();
  }

  async done(r: StepRecord): Promise<void> {
    const e = [...this.data.entries].reverse().find((x) => x.slot === r.slot && x.step === r.step && x.state === 'started');
    const state = r.ok ? 'ok' : 'failed';
    if (e) Object.assign(e, { state, at: this.now().toISOString(), ...(r.detail ? { detail: r.detail.slice(0, 300) } : {}) });
    else this.data.entries.push({ at: this.now().toISOString(), slot: r.slot, step: r.step, state, ...(r.detail ? { detail: r.detail.slice(0, 300) } : {}) });
    await this.flush();
  }

  async registering(name: string): Promise<void> {
    if (this.data.registered.includes(name)) return;
    this.data.registered.push(name);
    await this.flush();
  }

  async phase(p: JournalData['phase']): Promise<void> {
    this.data.phase = p;
    await this.flush();
  }
}
