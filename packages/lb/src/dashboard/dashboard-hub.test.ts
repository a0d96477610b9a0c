import { FakeTimers } from '../test-support/fake-timers';
import { DashboardHub, type EventSink, type HubOptions } from './dashboard-hub';
import type { DashboardSource, DashboardUpstream } from './dashboard-source';

type MutableUpstream = { -readonly [K in keyof DashboardUpstream]: DashboardUpstream[K] } & { stats: { byClass: number[]; retries: number } };

function upstream(name: string, version?: string): MutableUpstream {
  return { name, url: `http://127.0.0.1/${name}`, version, group: 'default', weight: 1, state: 'healthy', inFlight: 0, failures: 0, lastCheck: { ok: true, reason: 'HTTP 200' }, stats: { byClass: [0, 0, 0, 0, 0, 0], retries: 0 } };
}

class FakeSource implements DashboardSource {
  ups: MutableUpstream[] = [];
  noUp = 0;
  refreshes = 0;
  upstreams() {
    return this.ups;
  }
  split() {
    return undefined;
  }
  noUpstream() {
    return this.noUp;
  }
  async refresh() {
    this.refreshes++;
  }
}

/** A client; `accept` false makes write() report a full buffer, like a browser that stopped reading. */
class FakeSink implements EventSink {
  chunks: string[] = [];
  closed = false;
  accept = true;
  private drain?: () => void;
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return this.accept;
  }
  onDrain(cb: () => void): void {
    this.drain = cb;
  }
  close(): void {
    this.closed = true;
  }
  drained(): void {
    this.accept = true;
    this.drain?.();
  }
  events(): any[] {
    return this.chunks.map((c) => JSON.parse(/^data: (.*)$/m.exec(c)![1]));
  }
  last(): any {
    const e = this.events();
    return e[e.length - 1];
  }
}

const OPTIONS: HubOptions = { maxClients: 2, intervalMs: 1000, historySamples: 5, maxBlockedMs: 3000 };

function setup(options = OPTIONS) {
  const timers = new FakeTimers();
  const source = new FakeSource();
  source.ups = [upstream('a', 'v1'), upstream('b', 'v2')];
  const hub = new DashboardHub(source, timers, options);
  return { timers, source, hub };
}

describe('DashboardHub', () => {
  it('sends a state change and the traffic by version as events, one per interval', async () => {
    const { timers, source, hub } = setup();
    const sink = new FakeSink();
    expect(hub.addClient(sink)).toBeDefined();
    expect(sink.chunks).toHaveLength(1); // at once, before the first tick
    expect(sink.chunks[0]).toMatch(/^event: state\ndata: .*\n\n$/);
    await timers.advance(1000); // first look: baselines
    source.ups[0].stats.byClass[1] += 300; // v1: 300 answered in 1 s
    source.ups[1].stats.byClass[1] += 100;
    source.ups[1].stats.byClass[4] += 2; // v2: 2 failed
    source.ups[1].state = 'draining';
    await timers.advance(1000);
    const last = sink.last();
    expect(last.upstreams.map((u: { name: string; state: string; version: string }) => [u.name, u.state, u.version])).toEqual([
      ['a', 'healthy', 'v1'],
      ['b', 'draining', 'v2'],
    ]);
    expect(last.samples).toHaveLength(1);
    expect(last.samples[0].byVersion).toEqual({ v1: 300, v2: 102 });
    expect(last.samples[0].failed).toBe(2);
    expect(last.totals).toEqual({ requests: 402, failed: 2, clientAborts: 0 });
    expect(last.upstreams[0].rps).toBe(300);
    expect(sink.chunks).toHaveLength(3);
    expect(source.refreshes).toBe(2);
  });

  it('keeps counting an upstream that is removed and one added under the same name from zero', async () => {
    const { timers, source, hub } = setup();
    const sink = new FakeSink();
    hub.addClient(sink);
    source.ups[0].stats.byClass[1] = 50;
    await timers.advance(1000);
    source.ups = [source.ups[1]];
    await timers.advance(1000);
    source.ups.push(upstream('a', 'v3'));
    source.ups[1].stats.byClass[1] = 7;
    await timers.advance(1000);
    expect(sink.last().totals.requests).toBe(57);
    expect(sink.last().samples[0].byVersion).toEqual({ v2: 0, v3: 7 });
  });

  it('skips a slow client (one update queued at most), resumes it with what it missed, disconnects it when stuck', async () => {
    const { timers, source, hub } = setup();
    const slow = new FakeSink();
    const fast = new FakeSink();
    hub.addClient(slow);
    hub.addClient(fast);
    slow.accept = false;
    await timers.advance(1000); // this write is buffered: the client is now blocked
    expect(slow.chunks).toHaveLength(2);
    source.ups[0].stats.byClass[1] += 10;
    await timers.advance(2000);
    expect(slow.chunks).toHaveLength(2); // skipped, nothing more queued for it
    expect(fast.chunks).toHaveLength(4);
    slow.drained();
    await timers.advance(1000);
    expect(slow.chunks).toHaveLength(3);
    expect(slow.last().samples.map((s: { seq: number }) => s.seq)).toEqual([1, 2, 3]); // nothing lost but frames
    slow.accept = false;
    await timers.advance(1000);
    expect(slow.closed).toBe(false);
    await timers.advance(3000);
    expect(slow.closed).toBe(true);
    expect(hub.clientCount).toBe(1);
    expect(fast.closed).toBe(false);
  });

  it('serves at most maxClients; a place frees up when one leaves', () => {
    const { hub } = setup();
    const a = hub.addClient(new FakeSink())!;
    expect(hub.addClient(new FakeSink())).toBeDefined();
    expect(hub.addClient(new FakeSink())).toBeUndefined();
    a.remove();
    expect(hub.addClient(new FakeSink())).toBeDefined();
  });

  it('keeps a bounded history and reads counters only while watched or a deploy runs', async () => {
    const { timers, source, hub } = setup();
    const c = hub.addClient(new FakeSink())!;
    await timers.advance(10_000);
    expect(hub.snapshot().history).toHaveLength(5);
    c.remove();
    await timers.advance(1000);
    const refreshes = source.refreshes;
    await timers.advance(60_000);
    expect(source.refreshes).toBe(refreshes); // idle: no timer, no reads
    hub.post({ deploy: 'd1', type: 'start', strategy: 'canary', from: 'v1', to: 'v2' });
    await timers.advance(5000);
    expect(source.refreshes).toBe(refreshes + 5);
  });

  it('shows a deploy whose deployer went quiet as interrupted, and counts failures during it', async () => {
    const { timers, source, hub } = setup();
    const sink = new FakeSink();
    hub.addClient(sink);
    await timers.advance(1000);
    hub.post({ deploy: 'd1', type: 'start', strategy: 'rolling', from: 'v1', to: 'v2' });
    hub.post({ deploy: 'd1', type: 'step-started', slot: 'client-1', step: 'drain' });
    source.ups[0].stats.byClass[4] += 1;
    await timers.advance(1000);
    let d = sink.last().deploys[0];
    expect(d).toMatchObject({ id: 'd1', status: 'running', current: { slot: 'client-1', step: 'drain' }, failedDuring: 1 });
    await timers.advance(16_000);
    d = sink.last().deploys[0];
    expect(d.status).toBe('interrupted');
    expect(d.reason).toMatch(/no word from the deployer/);
  });

  it('sends the timeline entries only when they changed, the deploy summary every time', async () => {
    const { timers, hub } = setup();
    const sink = new FakeSink();
    hub.addClient(sink);
    hub.post({ deploy: 'd1', type: 'start', strategy: 'rolling' });
    hub.post({ deploy: 'd1', type: 'step-done', slot: 'client-1', step: 'drain', ok: true, ms: 12 });
    await timers.advance(1000);
    expect(sink.last().deploys[0].entries).toHaveLength(1);
    await timers.advance(1000);
    expect(sink.last().deploys[0].entries).toBeUndefined();
    expect(sink.last().deploys[0].status).toBe('running');
    hub.post({ deploy: 'd1', type: 'end', ok: true, text: 'done' });
    await timers.advance(1000);
    expect(sink.last().deploys[0]).toMatchObject({ status: 'done' });
    expect(sink.last().deploys[0].entries).toHaveLength(2);
  });
});
