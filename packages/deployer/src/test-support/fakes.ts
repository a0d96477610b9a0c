import type { Clock } from '../clock';
import type { DrainResult, LbAdmin, UpstreamStatus } from '../lb-client/lb-admin';
import type { Instance, Runtime } from '../runtime/runtime';

/** A clock that moves only when something sleeps. */
export class FakeClock implements Clock {
  t = 0;
  now = () => this.t;
  sleep = async (ms: number) => {
    this.t += ms;
  };
}

interface Proc {
  inst: Instance;
  startedAt: number;
  running: boolean;
}

/** Instances that boot in `bootMs`; versions listed in `broken` never become healthy. */
export class FakeRuntime implements Runtime {
  readonly kind = 'fake';
  readonly log: string[] = [];
  readonly procs = new Map<string, Proc>();
  bootMs = 500;
  broken = new Set<string>();
  failStartOf = new Set<string>();

  constructor(
    private readonly clock: FakeClock,
    slots: string[],
    version = 'v1',
  ) {
    for (const slot of slots) this.procs.set(slot, { inst: this.instance(slot, version), startedAt: -10_000, running: true });
  }

  private instance(slot: string, version: string, beside = false): Instance {
    const name = beside ? `${slot}-surge` : slot;
    return { slot, name, url: `http://${name}:80`, version };
  }

  async list(): Promise<Instance[]> {
    return [...this.procs.values()].filter((p) => p.running && !p.inst.name.endsWith('-surge')).map((p) => p.inst);
  }
  async prepare(version: string): Promise<void> {
    this.log.push(`prepare ${version}`);
  }
  async stop(inst: Instance): Promise<void> {
    this.log.push(`stop ${inst.name}@${inst.version}`);
    const p = this.procs.get(inst.name);
    if (p) p.running = false;
    this.clock.t += 100;
  }
  async start(slot: string, version: string): Promise<Instance> {
    this.log.push(`start ${slot}@${version}`);
    if (this.failStartOf.has(version)) throw new Error(`cannot start ${version}`);
    const inst = this.instance(slot, version);
    this.procs.set(slot, { inst, startedAt: this.clock.t, running: true });
    return inst;
  }
  async startBeside(slot: string, version: string): Promise<Instance> {
    this.log.push(`start-beside ${slot}@${version}`);
    const inst = this.instance(slot, version, true);
    this.procs.set(inst.name, { inst, startedAt: this.clock.t, running: true });
    return inst;
  }
  async removeBeside(inst: Instance): Promise<void> {
    this.log.push(`remove-beside ${inst.name}`);
    this.procs.delete(inst.name);
  }
  healthy(name: string): boolean {
    const p = this.procs.get(name);
    return !!p && p.running && !this.broken.has(p.inst.version) && this.clock.t - p.startedAt >= this.bootMs;
  }
}

/** The balancer's admin API over the fake runtime; records every call and the capacity at each change. */
export class FakeLb implements LbAdmin {
  readonly log: string[] = [];
  readonly ups = new Map<string, { url: string; admin: 'active' | 'draining' | 'disabled' }>();
  /** Lowest number of upstreams in rotation seen after any change. */
  minInRotation = Infinity;

  constructor(private readonly runtime: FakeRuntime) {}

  register(inst: Instance): void {
    this.ups.set(inst.name, { url: inst.url, admin: 'active' });
  }
  inRotation(): string[] {
    return [...this.ups.entries()].filter(([n, u]) => u.admin === 'active' && this.runtime.healthy(n)).map(([n]) => n);
  }
  private note(entry: string): void {
    this.log.push(entry);
    this.minInRotation = Math.min(this.minInRotation, this.inRotation().length);
  }
  private status(name: string): UpstreamStatus {
    const u = this.ups.get(name)!;
    const health = this.runtime.healthy(name) ? 'healthy' : 'unhealthy';
    return { name, url: u.url, health, state: u.admin === 'active' ? health : u.admin, inFlight: 0, requests: 0, failures: 0 };
  }
  async list() {
    return [...this.ups.keys()].map((n) => this.status(n));
  }
  async get(name: string) {
    return this.ups.has(name) ? this.status(name) : undefined;
  }
  async add(u: { url: string; name: string; enabled: boolean }) {
    if (this.ups.has(u.name)) throw new Error(`duplicate ${u.name}`);
    this.ups.set(u.name, { url: u.url, admin: u.enabled ? 'active' : 'disabled' });
    this.note(`add ${u.name}`);
    return this.status(u.name);
  }
  async drain(name: string): Promise<DrainResult> {
    this.ups.get(name)!.admin = 'draining';
    this.note(`drain ${name}`);
    return { drained: true, waitedMs: 0, inFlight: 0 };
  }
  async enable(name: string) {
    this.ups.get(name)!.admin = 'active';
    this.note(`enable ${name}`);
    return this.status(name);
  }
  async remove(name: string): Promise<DrainResult> {
    this.ups.delete(name);
    this.note(`remove ${name}`);
    return { drained: true, waitedMs: 0, inFlight: 0 };
  }
}
