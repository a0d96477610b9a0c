import { readLbLog } from './measure-deploy';

describe("reading the balancer's log of a run", () => {
  it('counts retries and instances taken out for health-check timeouts (not for other reasons)', () => {
    const log = [
      'lb-1  | {"level":"info","msg":"retrying on next upstream","upstream":"client-1:8081","code":"LB_UPSTREAM_UNREACHABLE"}',
      '{"level":"info","msg":"retrying on next upstream","upstream":"client-2:8082"}',
      '{"level":"info","msg":"upstream state","upstream":"client-2:8082","from":"healthy","to":"unhealthy","reason":"GET /ping timed out after 500 ms (3 in a row)"}',
      '{"level":"info","msg":"upstream state","upstream":"client-1:8081","from":"healthy","to":"unhealthy","reason":"GET /ping → 503 (3 in a row)"}',
      '{"level":"info","msg":"upstream state","upstream":"client-1:8081","from":"unhealthy","to":"healthy","reason":"GET /ping → 200"}',
    ].join('\n');
    expect(readLbLog(log)).toEqual({ retries: 2, pingTimeouts: 1 });
  });
});
