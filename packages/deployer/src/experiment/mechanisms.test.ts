import { experimentRows, selectRows } from './experiment-rows';
import { knobsFor, MECHANISMS } from './mechanisms';

describe('the experiment rows and their lab switches', () => {
  it('everything on sets no knob at all: the lab runs with its defaults', () => {
    expect(knobsFor(new Set(MECHANISMS))).toEqual({ lbEnv: {}, clientEnv: {}, deploy: {} });
  });

  it('everything off sets every knob', () => {
    expect(knobsFor(new Set())).toEqual({
      lbEnv: { LB_LAB_DISABLE: 'retry,health-gate' },
      clientEnv: { KEEP_ALIVE_TIMEOUT_MS: '2000', LAB_EXIT_ON_SIGTERM: '1' },
      deploy: { noDrain: true },
    });
  });

  it('has all on, all off, each off alone and each on alone; the naive row only on compose', () => {
    const local = experimentRows('local').map((r) => r.id);
    expect(local).toHaveLength(2 + 2 * MECHANISMS.length);
    expect(local).toContain('without-drain');
    expect(local).toContain('only-graceful');
    expect(local).not.toContain('naive');
    expect(experimentRows('compose').map((r) => r.id)).toContain('naive');
    expect(() => selectRows('local', 'all-on,naive')).toThrow('--rows: unknown row "naive" for the local runtime');
    expect(selectRows('compose', 'naive,all-on').map((r) => r.id)).toEqual(['naive', 'all-on']);
  });
});
