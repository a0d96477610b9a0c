/**
 * SIGINT/SIGTERM for a command that must not be cut short: the first signal asks the deploy to stop
 * at its next safe point (the handler decides what that means); every later one only says that
 * this is under way, so a second Ctrl-C never makes things worse. (SIGKILL cannot be caught: the
 * journal in the balancer lets the next command repair.)
 */
export class Interrupts {
  private handler?: (reason: string) => void;
  private received?: string;
  private readonly listeners: [NodeJS.Signals, () => void][] = [];

  constructor(
    private readonly say: (line: string) => void,
    private readonly proc: Pick<NodeJS.Process, 'on' | 'off'> = process,
  ) {}

  /** Starts listening (idempotent). */
  start(): void {
    if (this.listeners.length > 0) return;
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      const l = () => this.onSignal(sig);
      this.listeners.push([sig, l]);
      this.proc.on(sig, l);
    }
  }

  /** Who acts on the first signal; a signal that came before is delivered at once. */
  onInterrupt(handler: ((reason: string) => void) | undefined): void {
    this.handler = handler;
    if (handler && this.received) handler(this.received);
  }

  get interrupted(): string | undefined {
    return this.received;
  }

  private onSignal(sig: NodeJS.Signals): void {
    if (this.received) {
      this.say(`${sig} again: already stopping. Leaving now would leave the lab as it is mid-step; the repair runs to its end (SIGKILL would leave it to the next deploy command)`);
      return;
    }
    this.received = sig;
    this.say(`${sig}: stopping at the next safe point (the step in progress finishes), then repairing so that every slot is in rotation with one version`);
    this.handler?.(sig);
  }

  /** Idempotent. */
  stop(): void {
    for (const [sig, l] of this.listeners) this.proc.off(sig, l);
    this.listeners.length = 0;
  }
}
