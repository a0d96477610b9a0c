import { ClientConfigError, readClientConfig } from './client-config';

describe('readClientConfig', () => {
  it('has defaults for everything', () => {
    const c = readClientConfig({}, () => 'host-1');
    expect(c).toMatchObject({ port: 8081, version: 'v1', instance: 'host-1', latencyMs: 0, failRate: 0, startupDelayMs: 0 });
    expect(c.keepAliveTimeoutMs).toBeGreaterThan(5000);
  });

  it('reads the lab knobs', () => {
    const c = readClientConfig({ PORT: '8082', APP_VERSION: 'v2', INSTANCE_NAME: 'client-2', LATENCY_MS: '2000', FAIL_RATE: '0.5', STARTUP_DELAY_MS: '100' });
    expect(c).toMatchObject({ port: 8082, version: 'v2', instance: 'client-2', latencyMs: 2000, failRate: 0.5, startupDelayMs: 100 });
  });

  it('names every bad variable in one error', () => {
    try {
      readClientConfig({ PORT: 'x', FAIL_RATE: '2' });
      throw new Error('expected an error');
    } catch (err) {
      expect(err).toBeInstanceOf(ClientConfigError);
      expect((err as ClientConfigError).problems).toEqual([
        'PORT: expected an integer from 0 to 65535, got "x"',
        'FAIL_RATE: expected a number from 0 to 1, got "2"',
      ]);
    }
  });

  it('switches self-registration on with LB_REGISTER_URL + LB_REGISTRATION_TOKEN, announcing ANNOUNCE_URL or its own IPv4 address', () => {
    expect(readClientConfig({}).announce).toBeUndefined();
    const nics = () => ({ lo: [{ family: 'IPv4', internal: true, address: '127.0.0.1' }], eth0: [{ family: 'IPv4', internal: false, address: '172.18.0.5' }] }) as never;
    const c = readClientConfig({ PORT: '5000', LB_REGISTER_URL: 'http://lb:8090', LB_REGISTRATION_TOKEN: 'r' }, () => 'h', nics);
    expect(c.announce).toEqual({ balancerUrl: 'http://lb:8090', token: 'r', url: 'http://172.18.0.5:5000', drainWaitMs: 30000 });
    const d = readClientConfig({ LB_REGISTER_URL: 'http://lb:8090', LB_REGISTRATION_TOKEN: 'r', ANNOUNCE_URL: 'http://web-3:8081', ANNOUNCE_NAME: 'web-3', ANNOUNCE_DRAIN_MS: '5000' });
    expect(d.announce).toEqual({ balancerUrl: 'http://lb:8090', token: 'r', url: 'http://web-3:8081', name: 'web-3', drainWaitMs: 5000 });
  });

  it('names a half-configured or malformed self-registration', () => {
    const problems = (env: Record<string, string>) => {
      try {
        readClientConfig(env);
      } catch (err) {
        return (err as ClientConfigError).problems;
      }
      return [];
    };
    expect(problems({ LB_REGISTER_URL: 'http://lb:8090' })).toEqual([expect.stringMatching(/^LB_REGISTRATION_TOKEN: must be set with LB_REGISTER_URL/)]);
    expect(problems({ LB_REGISTRATION_TOKEN: 'r' })).toEqual([expect.stringMatching(/^LB_REGISTER_URL: must be set with LB_REGISTRATION_TOKEN/)]);
    expect(problems({ LB_REGISTER_URL: 'lb:8090', LB_REGISTRATION_TOKEN: 'r', ANNOUNCE_URL: 'ftp://x' })).toEqual([
      'LB_REGISTER_URL: expected an http:// or https:// URL, got "lb:8090"',
      'ANNOUNCE_URL: expected an http:// or https:// URL, got "ftp://x"',
    ]);
  });
});
