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
});
