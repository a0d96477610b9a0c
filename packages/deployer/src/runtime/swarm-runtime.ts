import type { Clock } from '../clock';
import { DeployError } from '../lb-client/deploy-error';
import type { CommandRunner } from './command-runner';
import type { BesideRole, Instance, Runtime, SlotView } from './runtime';

export interface SwarmRuntimeOptions {
  /** The stack (docker stack deploy <stack>): services are named <stack>_<service>. */
  stack: string;
  /** The service within the stack, e.g. client. */
  service: string;
  /** Image repository; the tag is the version (zdl/swarm-client:v2). */
  image: string;
  /** The stack's overlay network (default <stack>_lab). */
  network?: string;
  /** The port the service listens on (its PORT). */
  port?: number;
  /** How a version that has no local image yet is built (none: the image must exist, e.g. pulled). */
  build?: { context: string; dockerfile: string; nodeImage: string };
  /** Seconds Swarm waits after SIGTERM: must cover the drain handshake and the graceful shutdown. */
  stopGraceS?: number;
  /** How long start()/startBeside() wait for Swarm to run the task. */
  taskTimeoutMs?: number;
}

/** Lab knobs a deploy may set with --env; a later deploy without them removes them again. */
export const SWARM_PASSTHROUGH_ENV = ['LATENCY_MS', 'FAIL_RATE', 'STARTUP_DELAY_MS'] as const;

/** The same cheap check as swarm/stack.yml: Swarm's start-first update waits for it. */
export const SWARM_HEALTH_CMD = (port: number) =>
  // --health-cmd runs under /bin/sh (dash, no /dev/tcp): hand it to bash.
  `bash -c "exec 3<>/dev/tcp/127.0.0.1/${port} && printf 'GET /ping HTTP/1.0\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '"`;

/** One task of a service as `docker service ps` shows it. */
export interface SwarmTask {
  id: string;
  /** Slot number (replicated services). */
  slotNo: number;
  desired: string;
  /** "Running 5 seconds ago" → "running". */
  current: string;
  error: string;
  /** The version its image is tagged with. */
  version: string;
}

/** Swarm's UpdateStatus of a service (undefined: never updated). */
export interface UpdateStatus {
  state: string;
  startedAt?: string;
  message?: string;
}

/**
 * Instances as the tasks of a Docker Swarm service. The service's own tasks register themselves
 * with the balancer (a lease and the drain handshake, see swarm/stack.yml), under their task name
 * <stack>_<service>.<slot>.<task id>; a slot is a task slot (client.1, client.2).
 *
 * A single task of a replicated service cannot be stopped or replaced alone (Swarm would put it
 * back at once), so: stop() of a service task does nothing by itself, and start() moves the whole
 * service to the version with Swarm's own start-first update (new tasks healthy before old ones
 * stop; each old task drains itself through the handshake), then returns the slot's new task. The
 * strategies call start() only for slots that carry no traffic any more (after a blue/green switch,
 * a canary at 100%) or to repair, so replacing every task at once there drops nothing.
 * Helpers (surge, green, canary) are one-replica services of their own beside the stack's, which
 * the deployer registers itself, so it can retire exactly the instance it drained.
 */
export class SwarmRuntime implements Runtime {
  readonly kind = 'swarm';
  readonly serviceName: string;
  private readonly network: string;
  private readonly port: number;

  constructor(
    private readonly o: SwarmRuntimeOptions,
    private readonly run: CommandRunner,
    private readonly clock: Clock,
  ) {
    this.serviceName = `${o.stack}_${o.service}`;
    this.network = o.network ?? `${o.stack}_lab`;
    this.port = o.port ?? 8081;
  }

  /** True for the upstream names of this service's own (self-registering) tasks. */
  isServiceTask(name: string): boolean {
    return name.startsWith(`${this.serviceName}.`);
  }

  private docker(args: string[]): Promise<string> {
    return this.run('docker', args);
  }

  /** Every task of a service with its desired and current state, newest first (as docker lists them). */
  async tasks(service = this.serviceName): Promise<SwarmTask[]> {
    const out = await this.docker(['service', 'ps', service, '--no-trunc', '--format', '{{.ID}}|{{.Name}}|{{.DesiredState}}|{{.CurrentState}}|{{.Error}}|{{.Image}}']);
    const tasks: SwarmTask[] = [];
    for (const line of out.split('\n')) {
      const [id, name, desired, current, error, image] = line.trim().split('|');
      if (!id || !name) continue;
      const slotNo = Number(/\.(\d+)$/.exec(name.trim())?.[1] ?? '1');
      const version = /:([^:/@]+)(@.*)?$/.exec(image ?? '')?.[1] ?? 'unknown';
      tasks.push({ id, slotNo, desired: desired.toLowerCase(), current: (current ?? '').split(' ')[0].toLowerCase(), error: error ?? '', version });
    }
    return tasks;
  }

  /** The running task of each slot of the service (one per slot: the newest). */
  private async runningTasks(): Promise<SwarmTask[]> {
    const bySlot = new Map<number, SwarmTask>();
    for (const t of await this.tasks()) if (t.desired === 'running' && t.current === 'running' && !bySlot.has(t.slotNo)) bySlot.set(t.slotNo, t);
    return [...bySlot.values()].sort((a, b) => a.slotNo - b.slotNo);
  }

  /** A task as an instance: its upstream name (the task name it registers under) and overlay address. */
  async describeTask(t: { id: string; slotNo: number }): Promise<Instance> {
    const out = await this.docker([
      'inspect',
      '--format',
      '{{json .Spec.ContainerSpec.Env}}|{{range .NetworksAttachments}}{{.Network.Spec.Name}}={{range .Addresses}}{{.}},{{end}} {{end}}',
      t.id,
    ]);
    const bar = out.indexOf('|');
    const env = envOf(JSON.parse(out.slice(0, bar)) as string[] | null);
    const nets = Object.fromEntries(
      out
        .slice(bar + 1)
        .trim()
        .split(' ')
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1).split(',')[0]]),
    );
    const ip = (nets[this.network] ?? '').split('/')[0];
    if (!ip) throw new DeployError('DEPLOY_ERR_RUNTIME', `task ${t.id} of ${this.serviceName} has no address on the network ${this.network}`);
    const port = env.PORT ?? String(this.port);
    return { slot: `${this.o.service}.${t.slotNo}`, name: `${this.serviceName}.${t.slotNo}.${t.id}`, url: `http://${ip}:${port}`, version: env.APP_VERSION ?? 'unknown' };
  }

  async list(): Promise<Instance[]> {
    const out: Instance[] = [];
    for (const t of await this.runningTasks()) out.push(await this.describeTask(t));
    return out;
  }

  /** Before anything changes: this engine is a swarm manager and the service exists (a clear error otherwise). */
  async check(): Promise<void> {
    const role = (await this.docker(['info', '--format', '{{.Swarm.LocalNodeState}}/{{.Swarm.ControlAvailable}}']).catch(() => 'no docker')).trim();
    if (role !== 'active/true') throw new DeployError('DEPLOY_ERR_PRECONDITION', `this Docker engine is not a swarm manager (${role}); start the lab with "npm run lab:swarm"`);
    await this.spec().catch(() => {
      throw new DeployError('DEPLOY_ERR_PRECONDITION', `no service ${this.serviceName} in this swarm (--stack ${this.o.stack} --service ${this.o.service}; "docker service ls" lists them)`);
    });
  }

  /** The service's spec: image, environment, replicas. */
  async spec(service = this.serviceName): Promise<{ image: string; env: Record<string, string>; replicas: number }> {
    const out = await this.docker(['service', 'inspect', '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}}|{{json .Spec.TaskTemplate.ContainerSpec.Env}}|{{.Spec.Mode.Replicated.Replicas}}', service]);
    const [image, env, replicas] = out.trim().split('|');
    return { image: image.replace(/@sha256:.*$/, ''), env: envOf(JSON.parse(env) as string[] | null), replicas: Number(replicas) || 0 };
  }

  private ref(version: string): string {
    return `${this.o.image}:${version}`;
  }

  /** The version's image must exist on this node (a multi-node swarm pulls it from a registry instead). */
  async prepare(version: string): Promise<void> {
    const ref = this.ref(version);
    const have = await this.docker(['image', 'inspect', '--format', '{{.Id}}', ref]).then(
      () => true,
      () => false,
    );
    if (have) return;
    if (!this.o.build) throw new DeployError('DEPLOY_ERR_PRECONDITION', `image ${ref} not found (build or pull it first)`);
    const b = this.o.build;
    await this.run('docker', ['build', '-q', '-f', b.dockerfile, '--build-arg', `NODE_IMAGE=${b.nodeImage}`, '-t', ref, b.context]);
  }

  /** The update's environment: APP_VERSION, the given knobs, and the knobs not given removed. */
  private envArgs(version: string, env: Record<string, string>): string[] {
    const args = ['--env-add', `APP_VERSION=${version}`];
    for (const [k, v] of Object.entries(env)) args.push('--env-add', `${k}=${v}`);
    for (const k of SWARM_PASSTHROUGH_ENV) if (!(k in env)) args.push('--env-rm', k);
    return args;
  }

  /**
   * Starts Swarm's own rolling update of the service to `version` and returns at once (the
   * deployer follows it): start-first, `parallelism` tasks at a time, `monitorMs` of watching
   * each batch, and Swarm rolls back by itself if a new task fails (its health check included).
   */
  async startRollingUpdate(version: string, env: Record<string, string>, u: { parallelism: number; delayMs: number; monitorMs: number }): Promise<void> {
    const secs = (ms: number) => `${Math.max(0, Math.round(ms / 1000))}s`;
    await this.docker([
      'service', 'update', '--detach', '--quiet', '--no-resolve-image',
      '--image', this.ref(version),
      ...this.envArgs(version, env),
      '--update-order', 'start-first',
      '--update-parallelism', String(u.parallelism),
      '--update-delay', secs(u.delayMs),
      '--update-monitor', secs(u.monitorMs),
      '--update-failure-action', 'rollback',
      '--update-max-failure-ratio', '0',
      '--rollback-order', 'start-first',
      '--rollback-parallelism', String(u.parallelism),
      '--rollback-monitor', secs(u.monitorMs),
      '--stop-grace-period', `${this.o.stopGraceS ?? 30}s`,
      this.serviceName,
    ]);
  }

  /** Our own rollback (the deployer gave up waiting): Swarm goes back to the previous spec. */
  async rollback(): Promise<void> {
    await this.docker(['service', 'rollback', '--detach', '--quiet', this.serviceName]);
  }

  async updateStatus(): Promise<UpdateStatus | undefined> {
    const out = (await this.docker(['service', 'inspect', '--format', '{{json .UpdateStatus}}', this.serviceName])).trim();
    if (!out || out === 'null') return undefined;
    const s = JSON.parse(out) as { State?: string; StartedAt?: string; Message?: string };
    return { state: s.State ?? '', ...(s.StartedAt ? { startedAt: s.StartedAt } : {}), ...(s.Message ? { message: s.Message } : {}) };
  }

  /**
   * A service task cannot be stopped alone (Swarm would replace it): nothing happens here; the
   * start() that follows replaces it, and it leaves through its own drain handshake. A helper is
   * removed.
   */
  async stop(instance: Instance): Promise<void> {
    if (!this.isServiceTask(instance.name)) await this.removeBeside(instance);
  }

  /** Moves the whole service to `version` (start-first, every task at once), then returns the slot's task. */
  async start(slot: string, version: string, env: Record<string, string> = {}): Promise<Instance> {
    const slotNo = this.slotNo(slot);
    const spec = await this.spec();
    const wanted = { ...env, APP_VERSION: version };
    const current = spec.image === this.ref(version) && Object.entries(wanted).every(([k, v]) => spec.env[k] === v) && SWARM_PASSTHROUGH_ENV.every((k) => k in env || !(k in spec.env));
    if (!current) {
      await this.docker([
        'service', 'update', '--detach=false', '--quiet', '--no-resolve-image',
        '--image', this.ref(version),
        ...this.envArgs(version, env),
        '--update-order', 'start-first',
        '--update-parallelism', '0',
        '--update-failure-action', 'pause',
        '--stop-grace-period', `${this.o.stopGraceS ?? 30}s`,
        this.serviceName,
      ]);
      // Back to the stack's update policy (one task at a time, Swarm rolls back a failure), so that a
      // later `docker service update` by hand does not replace every task at once. Only the update
      // policy changes: Swarm starts no task for it.
      await this.docker(['service', 'update', '--detach', '--quiet', '--update-parallelism', '1', '--update-failure-action', 'rollback', this.serviceName]);
    }
    return this.waitForTask(`${this.serviceName} slot ${slotNo} on ${version}`, async () => {
      const t = (await this.runningTasks()).find((x) => x.slotNo === slotNo);
      if (!t) return undefined;
      const inst = await this.describeTask(t);
      return inst.version === version ? inst : undefined;
    });
  }

  private slotNo(slot: string): number {
    const n = Number(/\.(\d+)$/.exec(slot)?.[1]);
    if (!Number.isInteger(n) || n < 1) throw new DeployError('DEPLOY_ERR_RUNTIME', `"${slot}" is no slot of ${this.serviceName} (expected ${this.o.service}.<n>)`);
    return n;
  }

  /** The helper service beside a slot: <stack>-<service>-<role>-<n>, a DNS name on the overlay network. */
  helperName(slot: string, role: BesideRole): string {
    return `${this.o.stack}-${this.o.service}-${role}-${this.slotNo(slot)}`;
  }

  /** A one-replica service of the version beside the stack's service; the deployer registers it by name. */
  async startBeside(slot: string, version: string, env: Record<string, string> = {}, role: BesideRole = 'surge'): Promise<Instance> {
    const name = this.helperName(slot, role);
    await this.docker(['service', 'rm', name]).catch(() => undefined);
    const vars = { PORT: String(this.port), APP_VERSION: version, INSTANCE_NAME: name, ...env };
    await this.docker([
      'service', 'create', '--detach', '--quiet', '--no-resolve-image',
      '--name', name,
      // The stack's label: `docker stack rm` and lab:swarm:down remove it with the stack.
      '--label', `com.docker.stack.namespace=${this.o.stack}`,
      '--label', `zdl.helper-of=${this.serviceName}`,
      '--label', `zdl.slot=${slot}`,
      '--label', `zdl.role=${role}`,
      '--network', this.network,
      '--endpoint-mode', 'dnsrr',
      '--replicas', '1',
      '--init',
      '--stop-grace-period', `${this.o.stopGraceS ?? 30}s`,
      '--health-cmd', SWARM_HEALTH_CMD(this.port),
      '--health-interval', '1s',
      '--health-timeout', '3s',
      '--health-retries', '3',
      '--health-start-period', '3s',
      ...Object.entries(vars).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
      this.ref(version),
    ]);
    await this.waitForTask(`${name} running`, async () => ((await this.tasks(name)).some((t) => t.desired === 'running' && t.current === 'running') ? true : undefined));
    return { slot, name, url: `http://${name}:${this.port}`, version };
  }

  async removeBeside(instance: Instance): Promise<void> {
    await this.docker(['service', 'rm', instance.name]).catch((err: Error) => {
      if (!/not found|no such service/i.test(err.message)) throw err;
    });
  }

  async slots(): Promise<SlotView[]> {
    const spec = await this.spec();
    const running = await this.list();
    const version = spec.env.APP_VERSION ?? spec.image.split(':').pop() ?? 'v1';
    const out: SlotView[] = [];
    for (let n = 1; n <= spec.replicas; n++) {
      const slot = `${this.o.service}.${n}`;
      const inst = running.find((i) => i.slot === slot);
      out.push({ slot, version: inst?.version ?? version, ...(inst ? { running: inst } : {}) });
    }
    return out;
  }

  /** Helper services are found by their label, so one left by a deployer that died is found too. */
  async helpers(): Promise<Instance[]> {
    const names = (await this.docker(['service', 'ls', '--filter', `label=zdl.helper-of=${this.serviceName}`, '--format', '{{.Name}}'])).trim().split('\n').filter(Boolean);
    const out: Instance[] = [];
    for (const name of names) {
      const [slot, env] = (await this.docker(['service', 'inspect', '--format', '{{index .Spec.Labels "zdl.slot"}}|{{json .Spec.TaskTemplate.ContainerSpec.Env}}', name])).trim().split('|');
      const vars = envOf(JSON.parse(env) as string[] | null);
      out.push({ slot, name, url: `http://${name}:${vars.PORT ?? this.port}`, version: vars.APP_VERSION ?? 'unknown' });
    }
    return out;
  }

  private async waitForTask<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
    const began = this.clock.now();
    const limit = this.o.taskTimeoutMs ?? 60_000;
    for (;;) {
      const r = await probe();
      if (r !== undefined) return r;
      if (this.clock.now() - began >= limit) throw new DeployError('DEPLOY_ERR_RUNTIME', `Swarm did not get ${what} within ${limit} ms (docker service ps ${this.serviceName})`);
      await this.clock.sleep(250);
    }
  }
}

function envOf(list: string[] | null): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of list ?? []) {
    const i = kv.indexOf('=');
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return env;
}
