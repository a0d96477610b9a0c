import type { Clock } from '../clock';
import { DeployError } from './deploy-error';
import { HttpLbAdmin } from './http-lb-admin';
import type { DrainResult, UpstreamStatus } from './lb-admin';

/**
 * The admin API for a runtime whose instances register themselves (Swarm tasks with a lease):
 * for those names, "register" means adopting the entry the instance made (group and version are
 * set; it joined out of rotation until its first passing health check, as any registration), and
 * draining or removing one that already left through its own drain handshake is done, not an
 * error. A deployer that registered such an instance itself would take its name, and its own
 * registration (and so its drain handshake at shutdown) would be refused.
 */
export class SelfRegisteredLbAdmin extends HttpLbAdmin {
  constructor(
    baseUrl: string,
    token: string | undefined,
    private readonly selfRegistering: (name: string) => boolean,
    private readonly clock: Clock,
    /** How long to wait for an instance's own registration. */
    private readonly registerWaitMs = 60_000,
  ) {
    super(baseUrl, token);
  }

  override async add(upstream: { url: string; name: string; enabled: boolean; group?: string; version?: string }): Promise<UpstreamStatus> {
    if (!this.selfRegistering(upstream.name)) return super.add(upstream);
    const began = this.clock.now();
    for (;;) {
      const u = await this.get(upstream.name);
      if (u) {
        if (u.url !== upstream.url) throw new DeployError('DEPLOY_ERR_PRECONDITION', `${upstream.name} registered itself as ${u.url}, not ${upstream.url}`);
        const change = { ...(upstream.group ? { group: upstream.group } : {}), ...(upstream.version ? { version: upstream.version } : {}) };
        return Object.keys(change).length > 0 ? this.patch(upstream.name, change) : u;
      }
      if (this.clock.now() - began >= this.registerWaitMs) {
        throw new DeployError('DEPLOY_ERR_HEALTH_TIMEOUT', `${upstream.name} did not register itself with the balancer within ${this.registerWaitMs} ms`);
      }
      await this.clock.sleep(200);
    }
  }

  override drain(name: string, waitMs: number): Promise<DrainResult> {
    return this.unlessGone(name, () => super.drain(name, waitMs));
  }

  override remove(name: string, waitMs: number): Promise<DrainResult> {
    return this.unlessGone(name, () => super.remove(name, waitMs));
  }

  /** A self-registered instance may leave at any moment (its handshake): gone before or during the call is done. */
  private async unlessGone(name: string, call: () => Promise<DrainResult>): Promise<DrainResult> {
    const gone: DrainResult = { drained: true, waitedMs: 0, inFlight: 0 };
    if (!this.selfRegistering(name)) return call();
    if (!(await this.get(name))) return gone;
    try {
      return await call();
    } catch (err) {
      if (err instanceof DeployError && err.code === 'DEPLOY_ERR_LB_REJECTED' && !(await this.get(name))) return gone;
      throw err;
    }
  }
}
