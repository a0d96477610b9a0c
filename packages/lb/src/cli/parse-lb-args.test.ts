import { LB_OPTIONS, LbArgsError, lbUsage, parseLbArgs } from './parse-lb-args';

const problemsOf = (argv: string[]): readonly string[] => {
  try {
    parseLbArgs(argv);
  } catch (err) {
    if (err instanceof LbArgsError) return err.problems;
    throw err;
  }
  throw new Error('expected an LbArgsError');
};

describe('parseLbArgs', () => {
  it('reads --config in every spelling, and nothing', () => {
    expect(parseLbArgs([])).toEqual({ help: false });
    expect(parseLbArgs(['--config', 'a.yaml'])).toEqual({ help: false, config: 'a.yaml' });
    expect(parseLbArgs(['--config=a.yaml'])).toEqual({ help: false, config: 'a.yaml' });
    expect(parseLbArgs(['-c', 'a.yaml'])).toEqual({ help: false, config: 'a.yaml' });
    expect(parseLbArgs(['-h'])).toEqual({ help: true });
    expect(parseLbArgs(['--config', 'a.yaml', '--help'])).toEqual({ help: true });
  });

  it('lists every problem at once, in words that name the argument', () => {
    expect(problemsOf(['--bogus', 'extra', '--config'])).toEqual(['unknown argument "--bogus"', 'unexpected argument "extra"', '--config needs a file path']);
    expect(problemsOf(['--config', '--help'])).toEqual(['--config needs a file path']);
    expect(problemsOf(['--config='])).toEqual(['--config needs a file path']);
    expect(problemsOf(['--help=yes'])).toEqual(['--help: takes no value']);
    expect(problemsOf(['-c', 'a', '-c', 'b'])).toEqual(['-c: given twice']);
  });

  it('generates the help from the option table, so every option is in it', () => {
    const usage = lbUsage();
    for (const [name, def] of Object.entries(LB_OPTIONS)) {
      expect(usage).toContain(`--${name}`);
      expect(usage).toContain(def.help);
    }
    expect(usage).toContain('-c, --config <file.yaml>');
    expect(usage).toContain('LB_ADMIN_TOKEN_FILE');
  });
});
