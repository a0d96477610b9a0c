import { formatSseSummary, formatSummary, formatWebSocketSummary, LoadChecker, SseChecker, summarize, WebSocketChecker } from '@zdl/loadcheck';
import { realClock } from './clock';
import { silentReporter } from './deploy-report';
import type { DrainResult, LbAdmin } from './lb-client/lb-admin';
import { DEFAULT_DEPLOY_OPTIONS, DeployContext } from './strategies/deploy-context';
import { rollingDeploy } from './strategies/rolling-deploy';
import { isAlive } from './runtime/local-process';
import { sleep, withLocalLab } from './test-support/local-lab-fixture';

// Real processes, real sockets: WebSockets and event streams through the balancer during a deploy.
jest.setTimeout(120_000);

const RECONNECT_BOUND_MS = 2500;

type LongLivedDrain = DrainResult & { longLivedClosed?: number; longLivedCut?: number };

/** The balancer's admin client, recording what every drain answered (the count of long-lived connections it closed). */
function recordingDrains(lb: LbAdmin): { lb: LbAdmin; drains: LongLivedDrain[] } {
  const drains: LongLivedDrain[] = [];
  const recording = Object.create(lb) as LbAdmin;
  recording.drain = async (name, waitMs) => {
    const r = (await lb.drain(name, waitMs)) as LongLivedDrain;
    drains.push(r);
    return r;
  };
  return { lb: recording, drains };
}

/** 30 WebSocket clients, 10 event-stream clients and 200 GET/s through the balancer. */
async function startLongLivedLoad(lbUrl: string) {
  const ws = new WebSocketChecker({ url: lbUrl.replace(/^http/, 'ws') + '/ws', clients: 30, messageIntervalMs: 100 });
  const sse = new SseChecker({ url: `${lbUrl}/events?intervalMs=100`, clients: 10 });
  const get = new LoadChecker({ url: `${lbUrl}/api`, rate: 200 });
  await Promise.all([ws.start(), sse.start()]);
  get.start();
  return {
    stop: async () => {
      const [w, s, g] = await Promise.all([ws.stop(), sse.stop(), get.stop()]);
      return { ws: w, sse: s, get: summarize(g) };
    },
  };
}

describe('long-lived connections during deploys (local runtime)', () => {
  it.each([1, 2])(
    'rolling deploy with 30 WebSockets, 10 event streams and 200 GET/s: no abnormal close, every client back, no event id lost, 0 failed (balancer workers: %i)',
    async (workers) => {
      await withLocalLab(
        async (lab, admin) => {
          const { lb, drains } = recordingDrains(admin);
          const load = await startLongLivedLoad(lab.lbUrl);
          await sleep(1000);
          const report = await rollingDeploy(new DeployContext(lb, lab.runtime(), realClock, silentReporter), { ...DEFAULT_DEPLOY_OPTIONS, version: 'v2' });
          await sleep(1000);
          const { ws, sse, get } = await load.stop();
          console.log(
            `rolling deploy (balancer workers: ${workers}) took ${report.durationMs} ms; drains: ${JSON.stringify(drains)}\n` +
              `${formatWebSocketSummary(ws)}\n${formatSseSummary(sse)}\nGET /api: ${formatSummary(get)}`,
          );
          expect(report.ok).toBe(true);
          // Every drain closed long-lived connections itself, all cleanly.
          expect(drains).toHaveLength(2);
          for (const d of drains) expect(d).toMatchObject({ drained: true, longLivedCut: 0 });
          expect(drains.every((d) => (d.longLivedClosed ?? 0) > 0)).toBe(true);
          // WebSockets: only clean closes (1012 from the balancer's drain), every client reconnected.
          expect(ws.abnormalCloses).toBe(0);
          expect(ws.failedConnects).toBe(0);
          expect(Object.keys(ws.serverCloses)).toEqual(['1012']);
          expect(ws.cleanCloses).toBeGreaterThanOrEqual(30);
          expect(ws.allReconnected).toBe(true);
          expect(ws.connectedAtEnd).toBe(30);
          expect(ws.maxUnansweredPerCleanClose).toBeLessThanOrEqual(1);
          // The target is 1 s (printed above); on this shared 2-core machine a reconnect to an instance
          // that has just started can take longer, so the bound checks "at once, no backoff or timeout".
          expect(ws.maxReconnectMs).toBeLessThanOrEqual(RECONNECT_BOUND_MS);
          expect(Object.keys(ws.byVersion).sort()).toEqual(['v1', 'v2']);
          // Event streams: ended after their final event, resumed after Last-Event-ID without a gap.
          expect(sse).toMatchObject({ lostIds: 0, duplicateIds: 0, abnormalEnds: 0, failedConnects: 0, allReconnected: true, streamingAtEnd: 10 });
          expect(sse.cleanEnds).toBeGreaterThanOrEqual(10);
          expect(sse.maxReconnectMs).toBeLessThanOrEqual(RECONNECT_BOUND_MS);
          expect(get.failed).toBe(0);
          expect(get.sent).toBeGreaterThan(500);
        },
        { lbEnv: { LB_WORKERS: String(workers) } },
      );
    },
  );

  it('SIGTERM of an instance without a drain: the service closes its own WebSockets (1001) and streams cleanly; clients reconnect; 0 failed', async () => {
    await withLocalLab(async (lab) => {
      const load = await startLongLivedLoad(lab.lbUrl);
      await sleep(1000);
      const pid = lab.state.slots['client-1'].pid;
      process.kill(pid, 'SIGTERM');
      while (isAlive(pid)) await sleep(50);
      await sleep(1000);
      const { ws, sse, get } = await load.stop();
      console.log(`SIGTERM of client-1 (no drain)\n${formatWebSocketSummary(ws)}\n${formatSseSummary(sse)}\nGET /api: ${formatSummary(get)}`);
      expect(ws.byInstance['client-1']).toBeGreaterThan(0);
      expect(Object.keys(ws.serverCloses)).toEqual(['1001']);
      expect(ws).toMatchObject({ abnormalCloses: 0, failedConnects: 0, allReconnected: true, connectedAtEnd: 30 });
      expect(ws.maxUnansweredPerCleanClose).toBeLessThanOrEqual(1);
      expect(sse).toMatchObject({ lostIds: 0, duplicateIds: 0, abnormalEnds: 0, failedConnects: 0, allReconnected: true, streamingAtEnd: 10 });
      expect(sse.cleanEnds).toBeGreaterThan(0);
      expect(get.failed).toBe(0);
    });
  });

  it('SIGKILL of an instance with WebSockets open: its clients see an abnormal close and reconnect to the other; 0 failed HTTP requests', async () => {
    await withLocalLab(async (lab) => {
      const load = await startLongLivedLoad(lab.lbUrl);
      await sleep(1000);
      process.kill(lab.state.slots['client-1'].pid, 'SIGKILL');
      await sleep(2000);
      const { ws, sse, get } = await load.stop();
      console.log(`SIGKILL of client-1\n${formatWebSocketSummary(ws)}\n${formatSseSummary(sse)}\nGET /api: ${formatSummary(get)}`);
      // About half of the 30 clients were on client-1: they cannot be closed cleanly by a dead process.
      expect(ws.abnormalCloses).toBeGreaterThan(0);
      expect(ws.abnormalCloses).toBe(Object.values(ws.serverCloses).reduce((a, b) => a + b, 0));
      expect(ws.failedConnects).toBe(0);
      expect(ws.allReconnected).toBe(true);
      expect(ws.connectedAtEnd).toBe(30);
      expect(ws.maxReconnectMs).toBeLessThanOrEqual(RECONNECT_BOUND_MS);
      expect(ws.byInstance['client-1']).toBeGreaterThan(0);
      // Event streams cut by the kill resume on the other instance without losing an id.
      expect(sse).toMatchObject({ lostIds: 0, duplicateIds: 0, failedConnects: 0, allReconnected: true, streamingAtEnd: 10 });
      expect(get.failed).toBe(0);
    });
  });
});
