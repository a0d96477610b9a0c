export type BesideRole = 'surge' | 'green' | 'canary';

/** One running instance of the service, as the balancer knows it. */
export interface Instance {
  /** The stable place it fills: a compose service (client-1) or a local slot. */
  slot: string;
  /** Its upstream name in the balancer. */
  name: string;
  /** Its upstream URL, as the balancer reaches it. */
  url: string;
  version: string;
}

/** One slot as the runtime sees it, running or not (a deployer may have died between stop and start). */
export interface SlotView {
  slot: string;
  /** The instance running in the slot now, if any. */
  running?: Instance;
  /** The version the runtime would run there (the last one started or configured). */
  version: string;
}

/**
 * Where instances run. Strategies only talk to this interface, so they can be tested with a fake
 * runtime and a fake clock; docker compose and local child processes implement it.
 */
export interface Runtime {
  readonly kind: string;
  /**
   * How instances are placed. `slots` (the default when absent): each slot is a fixed place that a
   * new version refills (compose services client-1/client-2, local slots). `replicas`: the slots are
   * interchangeable replicas of one service, so an instance started beside an old one *takes its
   * place* (adopt) once the old one is gone: nothing is refilled, and the set never drops below its
   * size. The strategies branch on this capability, not on the runtime's kind.
   */
  readonly placement?: 'slots' | 'replicas';
  /**
   * Replica sets: starts one new instance beside each of `slots` in one step (docker-rollout's
   * scale-up by the batch); the instances are returned in the order of `slots`.
   */
  startBesideMany?(slots: string[], version: string, env?: Record<string, string>, role?: BesideRole): Promise<Instance[]>;
  /** Replica sets: `helper` (started beside) now fills `slot`, whose own instance was stopped. */
  adopt?(helper: Instance, slot: string): Promise<void>;
  /** The service's instances now, one per slot, in slot order. */
  list(): Promise<Instance[]>;
  /** Anything to do before instances of `version` can start (build the image). */
  prepare(version: string): Promise<void>;
  /** Stops an instance gracefully (SIGTERM, then its own drain). */
  stop(instance: Instance): Promise<void>;
  /**
   * Starts `version` in a slot whose instance has been stopped. `env` is extra environment for this
   * instance only (lab knobs such as FAIL_RATE for a deliberately broken version).
   */
  start(slot: string, version: string, env?: Record<string, string>): Promise<Instance>;
  /**
   * Starts `version` beside the slot's instance (a surge helper, a green or a canary instance);
   * it has its own name and URL, derived from the slot and the role.
   */
  startBeside(slot: string, version: string, env?: Record<string, string>, role?: BesideRole): Promise<Instance>;
  /** Stops and removes an instance started with startBeside. */
  removeBeside(instance: Instance): Promise<void>;
  /** Every slot, running or not, in slot order (what a repair starts from). */
  slots(): Promise<SlotView[]>;
  /** Instances started with startBeside that still exist (a deploy that died may have left them). */
  helpers(): Promise<Instance[]>;
}
