import { ClientConfigError, readClientConfig } from './client-config';

describe('LAB_EXIT_ON_SIGTERM (lab only: no graceful shutdown)', () => {
  it('is off by default', () => {
    expect(readClientConfig({}, () => 'h').labExitOnSigterm).toBe(false);
  });

  it('reads 1/true and 0/false', () => {
    expect(readClientConfig({ LAB_EXIT_ON_SIGTERM: '1' }).labExitOnSigterm).toBe(true);
    expect(readClientConfig({ LAB_EXIT_ON_SIGTERM: 'true' }).labExitOnSigterm).toBe(true);
    expect(readClientConfig({ LAB_EXIT_ON_SIGTERM: '0' }).labExitOnSigterm).toBe(false);
  });

  it('rejects anything else, naming the variable', () => {
    expect(() => readClientConfig({ LAB_EXIT_ON_SIGTERM: 'yes' })).toThrow(ClientConfigError);
    expect(() => readClientConfig({ LAB_EXIT_ON_SIGTERM: 'yes' })).toThrow('LAB_EXIT_ON_SIGTERM: expected 1/true or 0/false, got "yes"');
  });
});
