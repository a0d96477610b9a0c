import { BenchArgsError } from './bench-args';
import { parseMembershipArgs } from './membership-args';

describe('parseMembershipArgs', () => {
  it('has defaults: 500 upstreams against 2, 3 rounds of 5 s, 100 registrations, 10 probes', () => {
    expect(parseMembershipArgs([])).toEqual(expect.objectContaining({ upstreams: 500, rounds: 3, durationS: 5, registrations: 100, probes: 10, probeRate: 500, connections: 50 }));
    expect(parseMembershipArgs(['--quick'])).toEqual(expect.objectContaining({ rounds: 1, durationS: 2, probes: 5 }));
    expect(parseMembershipArgs(['--upstreams', '50', '--generator', 'autocannon'])).toEqual(expect.objectContaining({ upstreams: 50, generator: 'autocannon' }));
    expect(parseMembershipArgs(['-h'])).toBe('help');
  });

  it('names every bad argument at once', () => {
    let err: unknown;
    try {
      parseMembershipArgs(['--upstreams', '2', '--rounds', 'x', '--generator', 'ab']);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BenchArgsError);
    expect((err as Error).message.split('\n')).toEqual([
      '--upstreams: expected an integer 3..4000, got "2"',
      '--rounds: expected an integer 1..20, got "x"',
      '--generator: expected wrk or autocannon, got "ab"',
    ]);
    expect(() => parseMembershipArgs(['--nope'])).toThrow(BenchArgsError);
  });
});
