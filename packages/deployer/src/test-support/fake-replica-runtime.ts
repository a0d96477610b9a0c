import type { Instance, SlotView } from '../runtime/runtime';
import { type FakeClock, type FakeLb, FakeRuntime } from './fakes';

/**
 * A replica set on the fake clock (placement: 'replicas'): new instances get fresh names (like
 * containers get fresh IPs), the balancer "discovers" them at once (added enabled, in rotation once
 * booted, as DNS discovery adds them), stop removes, and a helper adopted into a slot fills it.
 */
export class FakeReplicaRuntime extends FakeRuntime {
  readonly placement = 'replicas' as const;
  /** Slot → the name of the instance filling it (undefined: emptied). */
  readonly filled = new Map<string, string | undefined>();
  private n = 0;
  lb?: FakeLb;

  constructor(
    private readonly fclock: FakeClock,
    count: number,
    version = 'v1',
  ) {
    super(fclock, []);
    for (let i = 0; i < count; i++) {
      const inst = this.make(`web-${i + 1}`, version);
      this.procs.set(inst.name, { inst, startedAt: -10_000, running: true });
      this.filled.set(inst.slot, inst.name);
    }
  }

  private make(slot: string, version: string): Instance {
    const name = `web@10.0.0.${++this.n}:5000`;
    return { slot, name, url: `http://10.0.0.${this.n}:5000`, version };
  }

  private running(name: string | undefined) {
    const p = name ? this.procs.get(name) : undefined;
    return p?.running ? p.inst : undefined;
  }

  override async list(): Promise<Instance[]> {
    return [...this.filled.values()].map((n) => this.running(n)).filter((i): i is Instance => !!i);
  }
  override async slots(): Promise<SlotView[]> {
    return [...this.filled.entries()].map(([slot, n]) => {
      const inst = this.running(n);
      return { slot, version: inst?.version ?? this.configured.get(slot) ?? 'v1', ...(inst ? { running: inst } : {}) };
    });
  }
  override async helpers(): Promise<Instance[]> {
    const held = new Set(this.filled.values());
    return [...this.procs.values()].filter((p) => p.running && !held.has(p.inst.name)).map((p) => p.inst);
  }
  override async stop(inst: Instance): Promise<void> {
    this.log.push(`stop ${inst.name}@${inst.version}`);
    this.procs.delete(inst.name);
    for (const [slot, n] of this.filled) if (n === inst.name) this.filled.set(slot, undefined);
  }
  override async start(slot: string, version: string): Promise<Instance> {
    this.log.push(`start ${slot}@${version}`);
    const [inst] = await this.scaleUp([slot], version);
    this.filled.set(slot, inst.name);
    return inst;
  }
  override async startBeside(slot: string, version: string, _env?: Record<string, string>, role = 'surge'): Promise<Instance> {
    return (await this.startBesideMany([slot], version, {}, role))[0];
  }
  async startBesideMany(slots: string[], version: string, _env?: Record<string, string>, role = 'surge'): Promise<Instance[]> {
    this.log.push(`scale up ${slots.length} × ${version} as ${role}`);
    return this.scaleUp(slots, version);
  }
  private async scaleUp(slots: string[], version: string): Promise<Instance[]> {
    return slots.map((slot) => {
      const inst = this.make(slot, version);
      this.procs.set(inst.name, { inst, startedAt: this.fclock.t, running: true });
      this.lb?.register(inst);
      return inst;
    });
  }
  override async removeBeside(inst: Instance): Promise<void> {
    this.log.push(`remove ${inst.name}`);
    this.procs.delete(inst.name);
  }
  async adopt(helper: Instance, slot: string): Promise<void> {
    this.log.push(`adopt ${helper.name} in ${slot}`);
    this.filled.set(slot, helper.name);
  }
}
