import { BenchArgsError } from './bench-args';
import { parseDeployRateArgs } from './deploy-rate-args';

describe('parseDeployRateArgs', () => {
  it('has defaults: four settings, six rates, a baseline per rate, load via the container', () => {
    const a = parseDeployRateArgs([]);
    expect(a.settings).toEqual([
      { engine: 'http-proxy', workers: 1 },
      { engine: 'http-proxy', workers: 2 },
      { engine: 'undici', workers: 1 },
      { engine: 'undici', workers: 2 },
    ]);
    expect(a).toEqual(expect.objectContaining({ rates: [500, 1000, 1500, 2000, 2500, 3000], loadS: 16, p99Ms: 100, all: false, baseline: true, via: 'container' }));
    expect(a.dockerCpuShares).toBeUndefined();
  });

  it('reads flags and options, and sorts the rates', () => {
    const a = parseDeployRateArgs(['--settings', 'undici:2', '--rates', '2000,500', '--all', '--no-baseline', '--via', 'published', '--docker-cpu-shares', '8192']);
    expect(a).toEqual(expect.objectContaining({ settings: [{ engine: 'undici', workers: 2 }], rates: [500, 2000], all: true, baseline: false, via: 'published', dockerCpuShares: 8192 }));
  });

  it('names every bad argument at once', () => {
    let err: unknown;
    try {
      parseDeployRateArgs(['--via', 'nat', '--docker-cpu-shares', '1', '--load-s', '5', '--bogus', 'x']);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BenchArgsError);
    expect((err as Error).message.split('\n')).toEqual([
      '--via: expected container or published, got "nat"',
      '--docker-cpu-shares: expected an integer from 2 to 262144, got "1"',
      'unknown argument --bogus',
      '--load-s: expected a number ≥ 12 (the load must cover the deploy)',
    ]);
    expect(() => parseDeployRateArgs(['--rates'])).toThrow('--rates: needs a value');
  });
});
