import type { AdminOperations } from '../admin/admin-operations';
import type { Logger } from '../logger';
import type { DiscoverySink, DnsEntry } from './dns-discovery';

/** Waiting this long for a lost address's in-flight requests before removing it (the admin API's default drain wait). */
export const LOST_DRAIN_WAIT_MS = 30_000;

export interface DnsUpstreamEntry extends DnsEntry {
  readonly group?: string;
  readonly weight?: number;
}

/** `http://host:port` and the upstream's name (`web@10.0.0.5:5000`, IPv6 in brackets): visible ASCII, so a valid x-upstream header. */
export function discoveredUpstream(entry: DnsUpstreamEntry, address: string): { url: string; name: string } {
  const host = address.includes(':') ? `[${address}]` : address;
  return { url: `http://${host}:${entry.port}`, name: `${entry.dns}@${host}:${entry.port}` };
}

/**
 * What discovery does to the pool, through the admin operations (so a removal in progress, a
 * duplicate or an operator's action are handled exactly as for the admin API): a found address is
 * added enabled but unchecked (out of rotation until its first passing health check); a lost one is
 * drained, then removed, in the background — never cut. Only upstreams this sink added are removed:
 * an address that is also a static or registered upstream is left alone.
 */
export function poolDiscoverySink(ops: Pick<AdminOperations, 'add' | 'remove'>, log: Logger, drainWaitMs = LOST_DRAIN_WAIT_MS): DiscoverySink {
  const added = new Set<string>();
  return {
    found(entry: DnsUpstreamEntry, address) {
      const { url, name } = discoveredUpstream(entry, address);
      try {
        ops.add({ url, name, ...(entry.group !== undefined ? { group: entry.group } : {}), ...(entry.weight !== undefined ? { weight: entry.weight } : {}) }, true);
        added.add(name);
        log.info('discovered upstream', { dns: entry.dns, upstream: name });
      } catch (err) {
        log.warn('discovered upstream not added', { dns: entry.dns, upstream: name, error: (err as Error).message });
      }
    },
    lost(entry: DnsUpstreamEntry, address) {
      const { name } = discoveredUpstream(entry, address);
      if (!added.delete(name)) return;
      log.info('upstream gone from DNS: draining, then removing', { dns: entry.dns, upstream: name });
      ops.remove(name, drainWaitMs).then(
        (r) => log.info('upstream gone from DNS removed', { upstream: name, drained: r.drained, waitedMs: r.waitedMs }),
        // Already removed (by an operator, a deploy) or being removed: nothing left to do.
        (err: unknown) => log.info('upstream gone from DNS: not removed here', { upstream: name, reason: (err as Error).message }),
      );
    },
  };
}
