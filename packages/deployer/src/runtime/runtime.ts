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
