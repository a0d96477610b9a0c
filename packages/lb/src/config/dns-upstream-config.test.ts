import { ConfigError } from './config-error';
import { loadConfig } from './load-config';
import { validateConfig } from './validate-config';

const problems = (raw: unknown): string[] => {
  try {
    validateConfig(raw, 'test');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('{dns, port} upstream entries in the config', () => {
  it('splits URL entries (the pool) from DNS entries (discovery), with group and weight; discovery defaults to the health interval and N=3', () => {
    const c = validateConfig({ upstreams: ['http://127.0.0.1:8081', { dns: 'web', port: 5000, group: 'blue', weight: 2 }], healthCheck: { intervalMs: 700, timeoutMs: 100 } }, 'test');
    expect(c.upstreams.map((u) => u.url)).toEqual(['http://127.0.0.1:8081']);
    expect(c.dnsUpstreams).toEqual([{ dns: 'web', port: 5000, group: 'blue', weight: 2 }]);
    expect(c.discovery).toEqual({ intervalMs: 700, missingLookups: 3 });
    expect(c.registration).toEqual({ leaseMs: 3000, heartbeatMs: 1000, maxRegistrations: 256 });
  });

  it('names each bad field of a DNS entry', () => {
    expect(problems({ upstreams: [{ dns: 'bad name', port: 70000, url: 'http://x:1' }] })).toEqual([
      'upstreams[0].dns: must be a DNS name (labels of letters, digits, - and _, separated by dots)',
      'upstreams[0].port: expected an integer from 1 to 65535, got 70000',
      'upstreams[0].url: unknown key (expected one of: dns, port, group, weight)',
    ]);
    expect(problems({ upstreams: [{ dns: 'web' }] })).toEqual(['upstreams[0].port: expected an integer from 1 to 65535, got undefined']);
    expect(problems({ upstreams: [{ dns: 'web', port: 80 }, { dns: 'WEB', port: 80 }] })).toEqual(['upstreams[1].dns: duplicate of upstreams[0] (WEB port 80)']);
    expect(problems({ discovery: { missingLookups: 0 }, registration: { leaseMs: 1000, heartbeatMs: 1000 } })).toEqual([
      'discovery.missingLookups: expected an integer from 1 to 100, got 0',
      'registration.heartbeatMs: must be less than registration.leaseMs (1000), got 1000',
    ]);
  });

  it('keeps URL entries checked as before (duplicates across a DNS entry in between)', () => {
    expect(problems({ upstreams: ['http://127.0.0.1:1', { dns: 'web', port: 1 }, 'http://127.0.0.1:1'] })).toEqual(['upstreams[2].url: duplicate of upstreams[0] (http://127.0.0.1:1)']);
    expect(problems({ upstreams: [{ port: 1 }] })).toEqual(['upstreams[0].url: missing', 'upstreams[0].port: unknown key (expected one of: url, name, group, weight; or dns, port, group, weight)']);
  });
});

describe('the registration token', () => {
  it('comes from the environment beside the admin token, never from the file, and must differ from it', () => {
    const c = validateConfig({ adminToken: 'a', registrationToken: 'r' }, 'test');
    expect([c.admin.token, c.admin.registrationToken]).toEqual(['a', 'r']);
    expect(problems({ adminToken: 'same', registrationToken: 'same' })).toEqual([
      'LB_REGISTRATION_TOKEN: must differ from LB_ADMIN_TOKEN (instances get the registration token; it must not open the admin API)',
    ]);
  });
});

describe('LB_REGISTRATION_TOKEN', () => {
  it('is read from the environment; a registrationToken key in the file is refused', () => {
    expect(loadConfig(undefined, { LB_REGISTRATION_TOKEN: 'r' }).admin.registrationToken).toBe('r');
    expect(loadConfig(undefined, {}).admin.registrationToken).toBeUndefined();
    expect(() => loadConfig('lb.yaml', {}, () => 'registrationToken: r\n')).toThrow(/registrationToken: unknown key/);
  });
});
