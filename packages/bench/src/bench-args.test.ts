import { BenchArgsError, parseBenchArgs, USAGE } from './bench-args';

describe('parseBenchArgs', () => {
  it('gives full-mode defaults, and quick-mode ones with --quick', () => {
    const full = parseBenchArgs([]);
    expect(full).toMatchObject({ quick: false, rounds: 5, durationS: 7, soakS: 300, extras: true, deploySizes: [2, 10] });
    expect(parseBenchArgs(['--quick'])).toMatchObject({ quick: true, rounds: 1, durationS: 2, soakS: 0, extras: false, deploySizes: [2] });
  });

  it('reads values, repeated --lb and the no- switches', () => {
    const a = parseBenchArgs(['--rounds', '3', '--targets', 'lb, nginx', '--lb', 'a=x.js', '--lb', 'b=y.js', '--no-deploy', '--generator', 'wrk']);
    expect(a).toMatchObject({ rounds: 3, targets: ['lb', 'nginx'], deploy: false, generator: 'wrk' });
    expect(a !== 'help' && a.variants.map((v) => v.name)).toEqual(['a', 'b']);
  });

  it('lists every bad value at once', () => {
    expect(() => parseBenchArgs(['--rounds', 'x', '--generator', 'ab', '--lb', 'nope'])).toThrow(BenchArgsError);
    try {
      parseBenchArgs(['--rounds', 'x', '--generator', 'ab', '--lb', 'nope']);
    } catch (err) {
      expect((err as Error).message.split('\n')).toEqual([
        '--rounds: expected a number ≥ 1, got "x"',
        '--generator: expected wrk or autocannon, got "ab"',
        '--lb: expected name=path/to/main.js, got "nope"',
      ]);
    }
  });

  it('refuses unknown options and a missing value', () => {
    expect(() => parseBenchArgs(['--colour'])).toThrow(/Unknown option '--colour'/);
    expect(() => parseBenchArgs(['--rate'])).toThrow(/argument missing/);
  });

  it('answers --help, whose text lists every option', () => {
    expect(parseBenchArgs(['--help'])).toBe('help');
    for (const o of ['--quick', '--rounds <n>', '--soak-rate <n>', '--lb <name=main.js>', '--no-detect', '--out <dir>']) expect(USAGE).toContain(o);
  });
});
