import type http from 'node:http';
import { RoundRobin } from '../balancing/round-robin';
import type { LbConfig, UpstreamConfig } from '../config/lb-config';
import { Upstream, type Transition } from './upstream';

/**
 * The set of upstreams and the list of those in rotation, rebuilt whenever a state changes so the
 * request path only reads a ready array.
 */
export class UpstreamPool {
  private readonly upstreams = new Map<string, Upstream>();
  private rotation: Upstream[] = [];
  private readonly policy = new RoundRobin<Upstream>();
  private readonly agentOptions: http.AgentOptions;

  constructor(
    private readonly config: LbConfig,
    private readonly onTransition: (t: Transition) => void = () => {},
  ) {
    this.agentOptions = { timeout: config.proxy.idleSocketMs, scheduling: 'lifo' };
    for (const u of config.upstreams) this.add(u);
  }

  add(config: UpstreamConfig): Upstream {
    const upstream = new Upstream(config, this.config.healthCheck, this.agentOptions, (t) => {
      this.rebuild();
      this.onTransition(t);
    });
    this.upstreams.set(upstream.name, upstream);
    this.rebuild();
    return upstream;
  }

  remove(name: string): boolean {
    const u = this.upstreams.get(name);
    if (!u) return false;
    this.upstreams.delete(name);
    u.destroy();
    this.rebuild();
    return true;
  }

  get(name: string): Upstream | undefined {
    return this.upstreams.get(name);
  }

  all(): Upstream[] {
    return [...this.upstreams.values()];
  }

  get inRotation(): readonly Upstream[] {
    return this.rotation;
  }

  /**
   * Chooses the next upstream in rotation and counts the request as in flight in the same
   * synchronous step, so a request can never land on an upstream that has just begun draining.
   */
  acquire(skip?: ReadonlySet<Upstream>): Upstream | undefined {
    const u = this.policy.next(this.rotation, skip);
    if (u) {
      u.inFlight++;
      u.requests++;
    }
    return u;
  }

  release(u: Upstream): void {
    u.inFlight--;
  }

  private rebuild(): void {
    this.rotation = this.all().filter((u) => u.inRotation);
  }

  destroy(): void {
    for (const u of this.upstreams.values()) u.destroy();
  }
}
