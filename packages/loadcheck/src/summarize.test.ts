import { summarize } from './summarize';

describe('summarize', () => {
  it('counts outcomes by cause, version and time slice, with percentiles', () => {
    const s = summarize([
      { sentAt: 10, latencyMs: 1, status: 200, version: 'v1', instance: 'a', method: 'GET' },
      { sentAt: 20, latencyMs: 2, status: 200, version: 'v1', instance: 'b', method: 'GET' },
      { sentAt: 1100, latencyMs: 3, status: 502, method: 'GET' },
      { sentAt: 1200, latencyMs: 100, status: 0, error: 'ECONNRESET', method: 'GET' },
      { sentAt: 1300, latencyMs: 4, status: 200, version: 'v2', instance: 'a', method: 'GET' },
    ]);
    expect(s).toMatchObject({ sent: 5, succeeded: 3, failed: 2, failedByCause: { 'HTTP 502': 1, ECONNRESET: 1 }, byVersion: { v1: 2, v2: 1 } });
    expect(s.p50Ms).toBe(3);
    expect(s.maxMs).toBe(100);
    expect(s.timeline).toEqual([
      { fromMs: 0, versions: { v1: 2 }, failed: 0 },
      { fromMs: 1000, versions: { v2: 1 }, failed: 2 },
    ]);
  });
});
