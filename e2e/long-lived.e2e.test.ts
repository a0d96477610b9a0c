import { formatSseSummary, formatSummary, formatWebSocketSummary, LoadChecker, SseChecker, summarize, WebSocketChecker } from '../packages/loadcheck/src';
import { ComposeLab } from './support/compose-lab';

jest.setTimeout(600_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The target is 1 s (printed); the bound checks "at once, no backoff or timeout" on a shared machine. */
const RECONNECT_BOUND_MS = 2500;
/** Where a long run is: written straight to stderr (jest shows console.log only at the end of a test). */
const phase = (what: string) => process.stderr.write(`[long-lived e2e ${new Date().toISOString()}] ${what}\n`);

/** 30 WebSocket clients, 10 event-stream clients and 200 GET/s through the balancer container. */
async function startLongLivedLoad(lbUrl: string) {
  const ws = new WebSocketChecker({ url: lbUrl.replace(/^http/, 'ws') + '/ws', clients: 30, messageIntervalMs: 250 });
  const sse = new SseChecker({ url: `${lbUrl}/events?intervalMs=250`, clients: 10 });
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

describe('WebSockets and event streams through deploys on compose (real containers)', () => {
  let lab: ComposeLab;

  beforeAll(async () => {
    phase('compose up');
    lab = await ComposeLab.up();
    phase('lab healthy');
  });

  afterAll(async () => {
    await lab?.down();
  });

  it.each([
    ['rolling', 'v2'],
    ['blue-green', 'v3'],
  ])('%s deploy: 0 abnormal closes, every client reconnected, no event id lost, 0 failed requests', async (strategy, version) => {
    phase(`${strategy}: connecting 30 WebSocket and 10 SSE clients`);
    const load = await startLongLivedLoad(lab.lbUrl);
    await sleep(1500);
    phase(`${strategy}: deploying ${version}`);
    const result = await lab.deploy('--strategy', strategy, '--version', version);
    phase(`${strategy}: deploy exited ${result.code}`);
    await sleep(1500);
    const { ws, sse, get } = await load.stop();
    phase(`${strategy}: load stopped`);
    console.log(`${result.output}\n${formatWebSocketSummary(ws)}\n${formatSseSummary(sse)}\nGET /api: ${formatSummary(get)}`);
    expect(result.code).toBe(0);
    expect(ws.abnormalCloses).toBe(0);
    expect(ws.failedConnects).toBe(0);
    expect(Object.keys(ws.serverCloses)).toEqual(['1012']);
    expect(ws.cleanCloses).toBeGreaterThanOrEqual(30);
    expect(ws.allReconnected).toBe(true);
    expect(ws.connectedAtEnd).toBe(30);
    expect(ws.maxUnansweredPerCleanClose).toBeLessThanOrEqual(1);
    expect(ws.maxReconnectMs).toBeLessThanOrEqual(RECONNECT_BOUND_MS);
    expect(ws.byVersion[version]).toBeGreaterThanOrEqual(30);
    expect(sse).toMatchObject({ lostIds: 0, duplicateIds: 0, abnormalEnds: 0, failedConnects: 0, allReconnected: true, streamingAtEnd: 10 });
    expect(sse.cleanEnds).toBeGreaterThanOrEqual(10);
    expect(sse.byVersion[version]).toBeGreaterThan(0);
    expect(get.failed).toBe(0);
  });
});
