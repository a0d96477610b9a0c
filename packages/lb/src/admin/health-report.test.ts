import { healthReport } from './health-report';

const list = (over: Partial<Parameters<typeof healthReport>[0]> = {}): Parameters<typeof healthReport>[0] => ({
  inRotation: ['a'],
  split: null,
  splitGeneration: 0,
  upstreams: [{ name: 'a' } as never],
  discovery: [],
  ...over,
});

describe('healthReport (admin GET /health)', () => {
  it('is ok with something in rotation and every name resolving', () => {
    expect(healthReport(list({ discovery: [{ dns: 'web', port: 5000, addresses: ['10.0.0.5'] }] }))).toEqual({
      status: 'ok',
      inRotation: 1,
      upstreams: 1,
      discovery: [{ dns: 'web', port: 5000, addresses: ['10.0.0.5'] }],
      problems: [],
    });
  });

  it('reports a name that does not resolve as an empty entry with the resolver error, and a failed lookup that keeps its addresses', () => {
    const r = healthReport(
      list({
        inRotation: [],
        discovery: [
          { dns: 'web', port: 5000, addresses: [], error: 'ENOTFOUND: no address for web' },
          { dns: 'api', port: 80, addresses: ['10.0.0.7', '10.0.0.8'], error: 'ETIMEOUT: queryA ETIMEOUT api' },
        ],
      }),
    );
    expect(r.status).toBe('degraded');
    expect(r.discovery[0]).toEqual({ dns: 'web', port: 5000, addresses: [], error: 'ENOTFOUND: no address for web' });
    expect(r.problems).toEqual([
      'no upstream in rotation: requests get 503 (or panic routing)',
      'dns web:5000: no address (ENOTFOUND: no address for web); still looking it up',
      'dns api:80: last lookup failed (ETIMEOUT: queryA ETIMEOUT api); keeping its 2 known address(es)',
    ]);
  });
});
