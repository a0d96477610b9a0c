import type { DeployReport } from '../deploy-report';
import { buildReceipt } from './build-receipt';
import type { Recording } from './receipt-recorder';
import { renderReceiptHtml } from './receipt-html';

const metrics = (a: number, b: number) =>
  `lb_requests_total{upstream="a",group="default",status_class="2xx"} ${a}\nlb_requests_total{upstream="b<img src=x>",group="default",status_class="2xx"} ${b}\n`;

function receipt() {
  const recording: Recording = {
    scrapes: [
      { at: 1000, metrics: metrics(0, 0), upstreams: [{ name: 'a', version: 'v1', state: 'healthy', inFlight: 0, failures: 0 }, { name: 'b<img src=x>', version: 'v2', state: 'healthy', inFlight: 0, failures: 0 }] },
      { at: 2000, metrics: metrics(90, 10), upstreams: [{ name: 'a', version: 'v1', state: 'healthy', inFlight: 0, failures: 0 }, { name: 'b<img src=x>', version: 'v2', state: 'healthy', inFlight: 0, failures: 0 }] },
      { at: 3500, metrics: metrics(100, 150), upstreams: [{ name: 'b<img src=x>', version: 'v2', state: 'healthy', inFlight: 0, failures: 0 }] },
    ],
    steps: [{ slot: 'client-1', step: 'drain', ok: true, ms: 300, detail: 'drained after 290 ms', startedAt: 1500, endedAt: 1800 }],
    messages: [],
    drainInFlight: new Map(),
    missedScrapes: 0,
  };
  recording.drainInFlight.set(recording.steps[0], 4);
  const report: DeployReport = {
    strategy: 'rolling', runtime: 'local', version: 'v2', ok: true, startedAt: new Date(1000).toISOString(), durationMs: 2500, steps: [],
    slots: [{ slot: 'client-1', from: 'v1', to: 'v2', result: 'updated', ms: 2000 }], final: [{ slot: 'client-1', name: 'b', url: 'http://b', version: 'v2' }],
  };
  return buildReceipt({ id: 'r1', report, recording, adminUrl: 'http://127.0.0.1:1' });
}

describe('receipt', () => {
  it('holds the window’s counts, steps relative to its start, drains with what was in flight', () => {
    const r = receipt();
    expect(r.requests.total).toBe(250);
    expect(r.requests.byVersion).toEqual({ v1: 100, v2: 150 });
    expect(r.steps[0]).toMatchObject({ step: 'drain', startMs: 500, ms: 300 });
    expect(r.drains).toEqual([{ slot: 'client-1', ok: true, ms: 300, maxInFlightSeen: 4, detail: 'drained after 290 ms' }]);
    expect(r.durationMs).toBe(2500);
    expect(r.versions).toEqual({ from: ['v1'], to: 'v2' });
  });

  it('renders one self-contained HTML file: no script, nothing loaded from anywhere, text escaped', () => {
    const html = renderReceiptHtml(receipt());
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<[^>]*\s(src|href)=/i);
    expect(html).not.toContain('<img');
    expect(html).toContain('<svg');
    expect(html).toContain('DONE, zero failed requests');
  });
});
