import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { which } from './procs';
import { parseWrkOutput, runWrk, toClosedResult, WRK_LUA } from './wrk';

// What `wrk -t1 -c50 -d2s --latency -s <script>` prints: its own report, then the script's line.
const output = (json: string) => `Running 2s test @ http://127.0.0.1:40001/api
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.89ms    1.02ms  31.20ms   91.02%
    Req/Sec    17.41k     1.10k   18.90k    80.00%
  Latency Distribution
     50%    2.71ms
     75%    3.02ms
     90%    3.50ms
     99%    6.80ms
  34820 requests in 2.00s, 6.31MB read
Requests/sec:  17402.71
Transfer/sec:      3.15MB
ZDL_WRK_JSON ${json}
`;

describe('wrk output parser', () => {
  it('reads the JSON line and gives the autocannon runner\'s result shape (ms, rps over wrk\'s run time)', () => {
    const s = parseWrkOutput(
      output(
        '{"requests":34820,"durationUs":2000800,"bytes":6616000,"non2xx":0,"errors":{"connect":0,"read":0,"write":0,"status":0,"timeout":0},' +
          '"latencyUs":{"mean":2890.4,"p50":2710,"p90":3500,"p99":6800,"p999":12950,"max":31200}}',
      ),
    );
    const r = toClosedResult(s, 50);
    expect(r).toMatchObject({ connections: 50, durationMs: 2000.8, requests: 34820, ok: 34820, errors: 0, non2xx: 0 });
    expect(r.rps).toBeCloseTo(34820 / 2.0008, 6);
    expect(r.latency).toEqual({ count: 34820, mean: 2.8904, p50: 2.71, p90: 3.5, p99: 6.8, p999: 12.95, max: 31.2 });
  });

  it('counts non-2xx responses as failures (not in ok or req/s) and socket errors and timeouts as errors', () => {
    const r = toClosedResult(
      parseWrkOutput(
        output(
          '{"requests":1000,"durationUs":1000000,"bytes":1,"non2xx":120,"errors":{"connect":2,"read":3,"write":4,"status":100,"timeout":5},' +
            '"latencyUs":{"mean":900,"p50":800,"p90":1000,"p99":2000,"p999":3000,"max":4000}}',
        ),
      ),
      50,
    );
    // non2xx (from the script's response(): 3xx too) is used, not wrk's errors.status (>= 400 only).
    expect(r).toMatchObject({ requests: 1000, ok: 880, non2xx: 120, errors: 14, rps: 880 });
  });

  it('gives no latency (NaN) when no response came back', () => {
    const r = toClosedResult(
      parseWrkOutput(
        output(
          '{"requests":0,"durationUs":1000000,"bytes":0,"non2xx":0,"errors":{"connect":50,"read":0,"write":0,"status":0,"timeout":0},' +
            '"latencyUs":{"mean":null,"p50":null,"p90":null,"p99":null,"p999":null,"max":null}}',
        ),
      ),
      50,
    );
    expect(r).toMatchObject({ ok: 0, rps: 0, errors: 50 });
    expect(r.latency.count).toBe(0);
    expect(r.latency.p99).toBeNaN();
  });

  it('fails clearly without a result line or with a broken one', () => {
    expect(() => parseWrkOutput('unable to connect to 127.0.0.1:1 Connection refused\n')).toThrow(/no result line/);
    expect(() => parseWrkOutput(output('{"requests":"x","durationUs":1,"non2xx":0,"errors":{}}'))).toThrow(/requests is not a number/);
  });

  it('the Lua script prints the line the parser looks for', () => {
    expect(WRK_LUA).toContain('io.write("ZDL_WRK_JSON {"');
    expect(WRK_LUA).toMatch(/function done\(summary, latency, requests\)/);
  });
});

// With the real wrk (npm run bench:deps installs it); skipped where it is missing.
(which('wrk') ? describe : describe.skip)('runWrk against a loopback server', () => {
  let server: http.Server;
  let port = 0;
  const seen = { all: 0, non2xx: 0 };

  beforeAll(async () => {
    // /mix answers 200, 302, 404, 503 in turn: wrk itself would count only the 404s and 503s.
    server = http.createServer((req, res) => {
      const n = ++seen.all;
      res.statusCode = req.url === '/mix' ? [200, 302, 404, 503][n % 4] : 200;
      if (res.statusCode !== 200) seen.non2xx++;
      res.end('{"ok":true}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('runs a fractional duration (ended by SIGINT) and counts every non-2xx response', async () => {
    seen.all = seen.non2xx = 0;
    const began = performance.now();
    const r = await runWrk({ url: `http://127.0.0.1:${port}/mix`, connections: 4, durationMs: 400 });
    expect(performance.now() - began).toBeLessThan(900);
    expect(r.durationMs).toBeGreaterThan(300);
    expect(r.durationMs).toBeLessThan(700);
    expect(r.requests).toBeGreaterThan(20);
    // The server may have answered a few requests wrk did not wait for when it stopped.
    expect(r.requests).toBeLessThanOrEqual(seen.all);
    expect(r.requests - seen.all).toBeGreaterThanOrEqual(-4);
    expect(r.non2xx / r.requests).toBeCloseTo(0.75, 1);
    expect(r.ok + r.non2xx).toBe(r.requests);
    expect(r.errors).toBe(0);
    expect(r.latency.p50).toBeGreaterThan(0);
    expect(r.latency.max).toBeGreaterThanOrEqual(r.latency.p99);
  });

  it('rejects with wrk\'s own message when nothing listens', async () => {
    await expect(runWrk({ url: 'http://127.0.0.1:1/api', connections: 2, durationMs: 300 })).rejects.toThrow(/unable to connect/);
  });
});
