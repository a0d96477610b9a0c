import type http from 'node:http';
import type { LbConfig } from '../config/lb-config';
import type { Logger } from '../logger';
import type { UpstreamPool } from '../pool/upstream-pool';
import { type CloseReport, LongLivedRegistry } from './long-lived-registry';
import { isEventStream, relayEventStream } from './long-lived-sse';
import type { ProxyHandler } from './proxy-handler';
import { UpgradeHandler } from './upgrade-handler';

/**
 * Long-lived connections in one balancer process (the single process, or each cluster worker):
 * WebSocket and other upgrades, Server-Sent Events responses, and their drain.
 * See docs/long-lived-connections.md.
 */
export class LongLivedProxy {
  readonly registry = new LongLivedRegistry();
  private readonly upgrades: UpgradeHandler;

  constructor(
    private readonly pool: UpstreamPool,
    config: Pick<LbConfig, 'proxy' | 'routing'>,
    log: Logger,
  ) {
    this.upgrades = new UpgradeHandler(pool, config.proxy, config.routing, this.registry, log);
  }

  /** Proxies the traffic server's upgrades and takes over the event streams the proxy answers with. */
  attach(server: http.Server, proxy: ProxyHandler): void {
    server.on('upgrade', this.upgrades.handle);
    proxy.onEventStream = (u, proxyRes, res) => {
      if (!isEventStream(proxyRes)) return false;
      relayEventStream(u.name, proxyRes, res, this.registry);
      return true;
    };
  }

  /**
   * The upstream is being drained: after `graceMs`, its WebSockets get a close frame 1012 and its
   * event streams end after a final event, unless it was put back in rotation meanwhile.
   */
  drain(upstream: string, graceMs: number): Promise<CloseReport> {
    return this.registry.closeUpstream(upstream, graceMs, () => this.pool.get(upstream)?.admin !== 'active');
  }

  /** The balancer stops: every long-lived connection is closed now (WebSockets with 1001). */
  closeAll(): Promise<CloseReport> {
    return this.registry.closeAll();
  }

  close(): void {
    this.upgrades.close();
  }
}
