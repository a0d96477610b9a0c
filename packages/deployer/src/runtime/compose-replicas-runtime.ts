import fs from 'node:fs';
import path from 'node:path';
import type { Clock } from '../clock';
import { DeployError } from '../lb-client/deploy-error';
import type { CommandRunner } from './command-runner';
import { setEnvVar } from './env-file';
import type { BesideRole, Instance, Runtime, SlotView } from './runtime';

/** What the balancer's DNS discovery shows (GET /upstreams on its admin API): injected. */
export interface DiscoveryView {
  /** `lastCheck` is the balancer's last health check of it, e.g. `GET /healthz → 200`. */
  upstreams: { name: string; lastCheck?: string }[];
  discovery: { dns: string; port: number; addresses: readonly string[] }[];
}

export interface ComposeReplicasOptions {
  project: string;
  composeFile: string;
  /** Where COMPOSE_FILE is written (the project's .env or --env-file), so a later `docker compose up` uses the override. */
  envFile: string;
  /** The compose service whose replicas are deployed. */
  service: string;
  /** The port the service listens on (--port, or the service's label zdl.port). */
  port: number;
  /** The name the balancer resolves (its `{dns, port}` entry): the service name unless the label zdl.dns says otherwise. */
  dnsName: string;
  /** The service's health path (--health-path, or the label zdl.health-path): the balancer must check that one. */
  healthPath?: string;
  /** The image the deploy starts for `version` (--image, --version). */
  target?: { image: string; version: string };
  /** The lab's state folder for this project (.lab/compose/<project>): the override file and the replica record. */
  stateDir: string;
  /** Seconds docker waits after SIGTERM before SIGKILL. */
  stopTimeoutS?: number;
  /** How long to wait for the balancer to list a new replica (and to forget a removed one). */
  discoveryTimeoutMs?: number;
  pollMs?: number;
}

/** One container the record knows, in a slot or started beside one. */
interface Placed {
  slot: string;
  id?: string;
  version: string;
}

/**
 * The runtime's record of the replica set, in the lab's state folder. Docker knows the containers;
 * only this record knows which of them are the set's replicas (slots) and which a deploy started
 * beside them (helpers), and which version each runs. Written atomically before and after every
 * change, so a deployer killed at any instant leaves a record the next run can repair from: a
 * scale-up that was under way (`pending`) makes every container the record does not know a helper.
 */
interface ReplicaRecord {
  v: 1;
  slots: Placed[];
  helpers: (Placed & { id: string; role: string })[];
  pending?: { role: string; since: string };
  /** Version → image, for every version this runtime started or found. */
  images: Record<string, string>;
}

interface Container {
  id: string;
  running: boolean;
  image: string;
  number: number;
  ips: string[];
}

/** The tag of an image reference (`repo/name:tag` → tag; `latest` if there is none). */
export const imageTag = (image: string) => {
  const m = /:([^:/@]+)$/.exec(image);
  return m ? m[1] : 'latest';
};

/**
 * The replicas of ONE compose service, whatever its image, discovered by the balancer through DNS
 * (`{dns: <service>, port}`), deployed with docker-rollout's idiom:
 *
 * - a new version starts beside the old replicas by scaling the service up with a generated override
 *   file that sets the image: `docker compose -f <file> -f <override> up -d --no-deps --no-recreate
 *   --scale svc=N+b svc` (existing containers are left alone);
 * - the new containers are found by diffing the service's containers before and after, mapped to
 *   their upstream names through their IP (`svc@ip:port`, what the balancer's DNS discovery names
 *   them), and the deployer waits for **the balancer** to report them healthy;
 * - old replicas are drained in the balancer first (the service may have no graceful shutdown at
 *   all), then stopped and removed, so the service goes back to N plain compose containers.
 *
 * The override stays (and COMPOSE_FILE in the env file names it) so that a later `docker compose up
 * --scale` in that folder starts the deployed image and recreates nothing.
 *
 * Docker reuses a removed container's IP at once, while the balancer keeps a vanished address as a
 * DNS member for a few lookups (it drains nothing on a flapping resolver): a new container on such
 * an address would never be announced. So before every scale-up the runtime waits until the
 * balancer's discovery lists no address it no longer routes to (see settleDiscovery).
 */
export class ComposeReplicasRuntime implements Runtime {
  readonly kind = 'compose-replicas';
  readonly placement = 'replicas' as const;
  private readonly recordFile: string;
  readonly overrideFile: string;
  /** Upstream name → container id, for instances this process has described. */
  private readonly ids = new Map<string, string>();
  /** Every read-modify-write of the record runs alone (a batch's old replicas are stopped concurrently). */
  private queue: Promise<unknown> = Promise.resolve();

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  constructor(
    private readonly o: ComposeReplicasOptions,
    private readonly run: CommandRunner,
    private readonly balancer: () => Promise<DiscoveryView>,
    private readonly clock: Clock,
  ) {
    this.recordFile = path.join(o.stateDir, `${o.service}.replicas.json`);
    this.overrideFile = path.join(o.stateDir, `${o.service}.image.yml`);
  }

  // ---- docker ---------------------------------------------------------------------------------

  private compose(args: string[]): Promise<string> {
    const files = ['-f', this.o.composeFile, ...(fs.existsSync(this.overrideFile) ? ['-f', this.overrideFile] : [])];
    const envFile = fs.existsSync(this.o.envFile) ? ['--env-file', this.o.envFile] : [];
    return this.run('docker', ['compose', '-p', this.o.project, ...files, ...envFile, ...args], { cwd: path.dirname(path.resolve(this.o.composeFile)) });
  }

  private async containers(all = false): Promise<Container[]> {
    // A container listed by `ps` may be removed before `inspect` reads it (a batch's old replicas
    // are removed concurrently): list again.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.containersOnce(all);
      } catch (err) {
        if (attempt >= 5 || !/No such object/i.test((err as Error).message)) throw err;
      }
    }
  }

  private async containersOnce(all: boolean): Promise<Container[]> {
    const ids = (await this.compose(['ps', '-q', ...(all ? ['-a'] : []), this.o.service])).trim().split('\n').filter(Boolean);
    if (ids.length === 0) return [];
    const raw = JSON.parse(await this.run('docker', ['inspect', ...ids])) as {
      Id: string;
      State: { Running: boolean };
      Config: { Image: string; Labels: Record<string, string> | null };
      NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
    }[];
    return raw
      .map((c) => ({
        id: c.Id,
        running: c.State.Running,
        image: c.Config.Image,
        number: Number(c.Config.Labels?.['com.docker.compose.container-number'] ?? 0),
        ips: Object.values(c.NetworkSettings.Networks ?? {}).map((n) => n.IPAddress).filter(Boolean),
      }))
      .sort((a, b) => a.number - b.number);
  }

  /** The upstream name the balancer's DNS discovery gives this container (`svc@ip:port`). */
  private describe(c: Container, slot: string, version: string, listed?: Set<string>): Instance {
    const names = c.ips.map((ip) => `${this.o.dnsName}@${ip}:${this.o.port}`);
    const i = Math.max(0, listed ? names.findIndex((n) => listed.has(n)) : 0);
    const ip = c.ips[i] ?? '0.0.0.0';
    const inst = { slot, name: names[i] ?? `${this.o.dnsName}@${ip}:${this.o.port}`, url: `http://${ip}:${this.o.port}`, version };
    this.ids.set(inst.name, c.id);
    return inst;
  }

  /**
   * Stops and removes a container, then waits until the balancer's discovery has let its address
   * go, so that neither the next scale-up nor a user's `docker compose up --scale` right after the
   * deploy can start a container on an address the balancer still holds.
   */
  private async removeContainer(id: string): Promise<void> {
    const ips = (await this.containers()).find((c) => c.id === id)?.ips ?? [];
    await this.run('docker', ['stop', '-t', String(this.o.stopTimeoutS ?? 15), id]).catch(() => undefined);
    await this.run('docker', ['rm', '-f', id]).catch(() => undefined);
    if (ips.length > 0) await this.settleDiscovery(ips).catch(() => undefined);
  }

  // ---- the record -----------------------------------------------------------------------------

  private readRecord(): ReplicaRecord | undefined {
    if (!fs.existsSync(this.recordFile)) return undefined;
    const r = JSON.parse(fs.readFileSync(this.recordFile, 'utf8')) as ReplicaRecord;
    return r.v === 1 ? r : undefined;
  }

  private writeRecord(r: ReplicaRecord): void {
    fs.mkdirSync(this.o.stateDir, { recursive: true });
    const tmp = `${this.recordFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(r, null, 2));
    fs.renameSync(tmp, this.recordFile);
  }

  private versionOf(r: ReplicaRecord, c: Container): string {
    const known = Object.entries(r.images).find(([, image]) => image === c.image);
    return known ? known[0] : imageTag(c.image);
  }

  /**
   * The record, brought up to date with Docker when no deploy is under way in it (no helper, no
   * pending scale-up, no empty slot): replicas added by `docker compose up --scale` become slots,
   * replicas removed by hand leave. An unfinished record is left as it is, for the repair.
   */
  private async loadRecord(resync = true): Promise<{ r: ReplicaRecord; running: Container[] }> {
    const running = (await this.containers()).filter((c) => c.running);
    const r: ReplicaRecord = this.readRecord() ?? { v: 1, slots: [], helpers: [], images: {} };
    if (this.o.target) r.images[this.o.target.version] = this.o.target.image;
    const clean = !r.pending && r.helpers.length === 0 && r.slots.every((s) => s.id !== undefined);
    if (clean && resync) {
      // Known slots keep their place and name; containers new to the record follow, by number.
      const live = new Set(running.map((c) => c.id));
      const slots: Placed[] = r.slots.filter((s) => live.has(s.id!));
      const taken = new Set(slots.map((s) => s.slot));
      for (const c of running) {
        if (slots.some((s) => s.id === c.id)) continue;
        let slot = `${this.o.service}-${c.number}`;
        for (let k = 1; taken.has(slot); k++) slot = `${this.o.service}-${c.number}.${k}`;
        taken.add(slot);
        slots.push({ slot, id: c.id, version: this.versionOf(r, c) });
        r.images[slots[slots.length - 1].version] ??= c.image;
      }
      r.slots = slots;
    }
    this.writeRecord(r);
    return { r, running };
  }

  private record(): Promise<{ r: ReplicaRecord; running: Container[] }> {
    return this.exclusive(() => this.loadRecord());
  }

  // ---- the balancer ---------------------------------------------------------------------------

  private async entry(): Promise<{ view: DiscoveryView; addresses: readonly string[] }> {
    const view = await this.balancer();
    const e = view.discovery.find((d) => d.dns === this.o.dnsName && d.port === this.o.port);
    if (!e) {
      const have = view.discovery.map((d) => `{dns: ${d.dns}, port: ${d.port}}`).join(', ') || 'none';
      throw new DeployError(
        'DEPLOY_ERR_PRECONDITION',
        `the balancer has no upstream entry {dns: ${this.o.dnsName}, port: ${this.o.port}} (its DNS entries: ${have}); add it to its config, or give --port / the label zdl.port`,
      );
    }
    return { view, addresses: e.addresses };
  }

  /**
   * Waits (bounded) until the balancer's discovery has forgotten every address it no longer routes
   * to and no running replica holds (`only`: just these): a removed replica's address leaves only
   * after a few lookups, and Docker hands it to the next container at once, whose upstream the
   * balancer would then never add (for it, the address never went away).
   */
  private async settleDiscovery(only?: readonly string[]): Promise<void> {
    const until = this.clock.now() + (this.o.discoveryTimeoutMs ?? 30_000);
    for (;;) {
      const { view, addresses } = await this.entry();
      const names = new Set(view.upstreams.map((u) => u.name));
      const held = only ? new Set<string>() : new Set((await this.containers()).filter((c) => c.running).flatMap((c) => c.ips));
      const stale = addresses.filter(
        (a) => (only ? only.includes(a) : !held.has(a)) && !names.has(`${this.o.dnsName}@${a.includes(':') ? `[${a}]` : a}:${this.o.port}`),
      );
      if (stale.length === 0 || this.clock.now() >= until) return;
      await this.clock.sleep(this.o.pollMs ?? 200);
    }
  }

  /** Waits until the balancer lists each new container under its DNS name; returns their instances. */
  private async waitListed(news: Container[], placed: Placed[]): Promise<Instance[]> {
    const until = this.clock.now() + (this.o.discoveryTimeoutMs ?? 30_000);
    for (;;) {
      const listed = new Set((await this.entry()).view.upstreams.map((u) => u.name));
      const out = news.map((c, i) => this.describe(c, placed[i].slot, placed[i].version, listed));
      const missing = out.filter((i) => !listed.has(i.name));
      if (missing.length === 0) return out;
      if (this.clock.now() >= until) {
        throw new DeployError(
          'DEPLOY_ERR_HEALTH_TIMEOUT',
          `the balancer did not discover ${missing.map((m) => m.name).join(', ')} within ${this.o.discoveryTimeoutMs ?? 30_000} ms (does its {dns: ${this.o.dnsName}, port: ${this.o.port}} entry resolve on the service's network?)`,
        );
      }
      await this.clock.sleep(this.o.pollMs ?? 200);
    }
  }

  // ---- the override file ----------------------------------------------------------------------

  /** The override that sets the service's image (and extra environment for new replicas only). */
  private writeOverride(image: string, env: Record<string, string> = {}): void {
    fs.mkdirSync(this.o.stateDir, { recursive: true });
    const lines = ['# Written by the deployer (npm run deploy -- --service ...): the image of the deployed version.', 'services:', `  ${JSON.stringify(this.o.service)}:`, `    image: ${JSON.stringify(image)}`];
    if (Object.keys(env).length > 0) {
      lines.push('    environment:');
      for (const [k, v] of Object.entries(env)) lines.push(`      ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
    }
    const tmp = `${this.overrideFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, lines.join('\n') + '\n');
    fs.renameSync(tmp, this.overrideFile);
    // A plain `docker compose up --scale` in that folder then reads the override too (without it,
    // compose would see every replica's config differ and recreate them all on the old image).
    setEnvVar(this.o.envFile, 'COMPOSE_FILE', [path.resolve(this.o.composeFile), this.overrideFile].join(':'));
  }

  /** Once every slot runs one version, the override names its image (no extra environment). */
  private settleOverride(r: ReplicaRecord): void {
    const versions = new Set(r.slots.map((s) => s.version));
    const [only] = [...versions];
    if (versions.size === 1 && r.images[only] && r.helpers.length === 0) this.writeOverride(r.images[only]);
  }

  // ---- scale-up -------------------------------------------------------------------------------

  private imageFor(r: ReplicaRecord, version: string): string {
    const image = r.images[version];
    if (!image) throw new DeployError('DEPLOY_ERR_PRECONDITION', `no image known for version ${version} of ${this.o.service} (give --image)`);
    return image;
  }

  /**
   * Starts `slots.length` new containers of `version` in one scale-up (N → N + b, nothing
   * recreated) and returns them, once the balancer lists them, as helpers beside `slots` (or as
   * the slots' own instances when `asSlots`).
   */
  private async scaleUp(slots: string[], version: string, env: Record<string, string>, role: string, asSlots: boolean): Promise<Instance[]> {
    const image = this.imageFor((await this.record()).r, version);
    await this.settleDiscovery();
    const before = await this.containers(true);
    const running = before.filter((c) => c.running).length;
    await this.exclusive(async () => {
      const { r } = await this.loadRecord();
      r.pending = { role, since: new Date().toISOString() };
      this.writeRecord(r);
    });
    this.writeOverride(image, env);
    await this.compose(['up', '-d', '--no-deps', '--no-recreate', '--no-build', '--scale', `${this.o.service}=${running + slots.length}`, this.o.service]);
    const known = new Set(before.map((c) => c.id));
    const news = (await this.containers()).filter((c) => c.running && !known.has(c.id));
    const placed: Placed[] = slots.map((slot, i) => ({ slot, id: news[i]?.id, version }));
    await this.exclusive(async () => {
      const { r } = await this.loadRecord();
      for (const [i, c] of news.entries()) {
        if (i < slots.length && asSlots) {
          const s = r.slots.find((x) => x.slot === slots[i]);
          if (s) Object.assign(s, { id: c.id, version });
          else r.slots.push({ slot: slots[i], id: c.id, version });
        } else r.helpers.push({ slot: slots[i] ?? this.o.service, id: c.id, version, role });
      }
      delete r.pending;
      this.writeRecord(r);
    });
    if (news.length !== slots.length) {
      throw new DeployError('DEPLOY_ERR_RUNTIME', `docker compose started ${news.length} new ${this.o.service} containers, expected ${slots.length}`);
    }
    return this.waitListed(news, placed);
  }

  // ---- Runtime --------------------------------------------------------------------------------

  /**
   * The replicas, in slot order. Checked first (every strategy lists before it changes anything):
   * the balancer must check the service's own health path, or no new replica would ever be
   * healthy there and the deploy would only time out.
   */
  async list(): Promise<Instance[]> {
    const { r, running } = await this.record();
    const view = await this.balancer().catch(() => undefined);
    const listed = new Set(view?.upstreams.map((u) => u.name));
    const out: Instance[] = [];
    for (const s of r.slots) {
      const c = running.find((x) => x.id === s.id);
      if (c) out.push(this.describe(c, s.slot, s.version, listed));
    }
    const mine = new Set(out.map((i) => i.name));
    const checked = view?.upstreams.find((u) => mine.has(u.name) && u.lastCheck)?.lastCheck;
    const path = checked && /^[A-Z]+ (\S+) /.exec(checked)?.[1];
    if (this.o.healthPath && path && path !== this.o.healthPath) {
      throw new DeployError(
        'DEPLOY_ERR_PRECONDITION',
        `the balancer checks ${path} on ${this.o.service} (last check: ${checked}) but its health path is ${this.o.healthPath} (--health-path or the label zdl.health-path): set the balancer's healthCheck.path to it`,
      );
    }
    return out;
  }

  /** The image must be there already (built or pulled): a deploy never builds or pulls. */
  async prepare(version: string): Promise<void> {
    const { r } = await this.record();
    const image = this.imageFor(r, version);
    try {
      await this.run('docker', ['image', 'inspect', '--format', '{{.Id}}', image]);
    } catch {
      throw new DeployError('DEPLOY_ERR_PRECONDITION', `image ${image} not found on this Docker engine: build or pull it first (--image)`);
    }
  }

  /** Replicas are interchangeable: "stopping" one removes its container (the set shrinks by one). */
  async stop(instance: Instance): Promise<void> {
    const id = this.ids.get(instance.name) ?? (await this.record()).r.slots.find((s) => s.slot === instance.slot)?.id;
    if (id) await this.removeContainer(id);
    await this.exclusive(async () => {
      // Not brought up to date with Docker first: that would drop the slot instead of emptying it.
      const { r, running } = await this.loadRecord(false);
      const slot = r.slots.find((s) => s.id !== undefined && s.id === id);
      if (slot) delete slot.id;
      r.helpers = r.helpers.filter((h) => h.id !== id && running.some((c) => c.id === h.id));
      this.writeRecord(r);
    });
  }

  /** Fills an empty slot (a repair): one more replica of `version`. */
  async start(slot: string, version: string, env: Record<string, string> = {}): Promise<Instance> {
    const [inst] = await this.scaleUp([slot], version, env, 'slot', true);
    this.settleOverride((await this.record()).r);
    return inst;
  }

  async startBeside(slot: string, version: string, env: Record<string, string> = {}, role: BesideRole = 'surge'): Promise<Instance> {
    const [inst] = await this.scaleUp([slot], version, env, role, false);
    return inst;
  }

  startBesideMany(slots: string[], version: string, env: Record<string, string> = {}, role: BesideRole = 'surge'): Promise<Instance[]> {
    return this.scaleUp(slots, version, env, role, false);
  }

  async removeBeside(instance: Instance): Promise<void> {
    const id = this.ids.get(instance.name) ?? (await this.record()).r.helpers.find((h) => h.slot === instance.slot && h.version === instance.version)?.id;
    if (id) await this.removeContainer(id);
    await this.exclusive(() => this.forgetHelper(id));
  }

  private async forgetHelper(id: string | undefined): Promise<void> {
    const { r } = await this.loadRecord();
    r.helpers = r.helpers.filter((h) => h.id !== id);
    if (r.pending) {
      // A scale-up the deployer died during: done with once no container outside the record runs.
      const held = new Set([...r.slots.map((s) => s.id), ...r.helpers.map((h) => h.id)]);
      if ((await this.containers()).every((c) => !c.running || held.has(c.id))) delete r.pending;
    }
    this.writeRecord(r);
    this.settleOverride(r);
  }

  adopt(helper: Instance, slot: string): Promise<void> {
    return this.exclusive(() => this.adoptNow(helper, slot));
  }

  private async adoptNow(helper: Instance, slot: string): Promise<void> {
    const { r } = await this.loadRecord();
    const id = this.ids.get(helper.name);
    const h = r.helpers.find((x) => x.id === id);
    if (!h) return;
    r.helpers = r.helpers.filter((x) => x !== h);
    const s = r.slots.find((x) => x.slot === slot);
    if (s) Object.assign(s, { id: h.id, version: h.version });
    else r.slots.push({ slot, id: h.id, version: h.version });
    this.writeRecord(r);
    this.settleOverride(r);
  }

  async slots(): Promise<SlotView[]> {
    const { r, running } = await this.record();
    const listed = new Set((await this.balancer().catch(() => undefined))?.upstreams.map((u) => u.name));
    return r.slots.map((s) => {
      const c = running.find((x) => x.id === s.id);
      return { slot: s.slot, version: s.version, ...(c ? { running: this.describe(c, s.slot, s.version, listed) } : {}) };
    });
  }

  /**
   * Containers started beside the slots that still run; while a scale-up was under way (the
   * deployer died during it), also every running container of the service no slot holds.
   */
  async helpers(): Promise<Instance[]> {
    const { r, running } = await this.record();
    const listed = new Set((await this.balancer().catch(() => undefined))?.upstreams.map((u) => u.name));
    const out: Instance[] = [];
    for (const h of r.helpers) {
      const c = running.find((x) => x.id === h.id);
      if (c) out.push(this.describe(c, h.slot, h.version, listed));
    }
    if (r.pending) {
      const held = new Set([...r.slots.map((s) => s.id), ...r.helpers.map((h) => h.id)]);
      for (const c of running) if (!held.has(c.id)) out.push(this.describe(c, this.o.service, this.versionOf(r, c), listed));
    }
    return out;
  }
}
