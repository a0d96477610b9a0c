import { DeployError } from '../lb-client/deploy-error';
import { DEPLOY_DEFAULTS } from '../deploy-defaults';
import { OPTIONS, parseArgs, parseDuration, usage } from './parse-args';

const problems = (argv: string[]) => {
  try {
    parseArgs(argv, {});
  } catch (err) {
    expect(err).toBeInstanceOf(DeployError);
    expect((err as DeployError).code).toBe('DEPLOY_ERR_ARGS');
    return (err as Error).message.split('\n');
  }
  throw new Error('expected an error');
};

describe('deploy arguments', () => {
  it('has defaults for everything but the version', () => {
    expect(parseArgs(['--version', 'v2'], {})).toMatchObject({ strategy: 'rolling', runtime: 'compose', batchSize: 1, drainTimeoutMs: 30_000, healthTimeoutMs: 30_000, surge: false });
  });

  it('reads durations, env and strategy options', () => {
    const a = parseArgs(['--strategy=canary', '--version', 'v3', '--canary-steps', '5,25,100', '--step-duration', '2m', '--env', 'FAIL_RATE=0.5', '--max-error-rate', '0.05'], { LB_ADMIN_TOKEN: 'tok' });
    expect(a).toMatchObject({ strategy: 'canary', canarySteps: [5, 25, 100], stepDurationMs: 120_000, env: { FAIL_RATE: '0.5' }, maxErrorRate: 0.05, token: 'tok' });
    expect(parseDuration('--x', '500ms')).toBe(500);
    expect(parseDuration('--x', '30s')).toBe(30_000);
    expect(parseDuration('--x', '250')).toBe(250);
  });

  it('lists every problem at once, naming the argument', () => {
    expect(problems(['--versio', 'v2', '--batch-size', '0', '--runtime', 'k8s'])).toEqual([
      'unknown argument "--versio"',
      'unexpected argument "v2"',
      '--batch-size: expected an integer from 1 to 1000, got "0"',
      '--runtime: expected compose, local or swarm, got "k8s"',
      '--version: required (the version to deploy, e.g. --version v2)',
    ]);
  });

  it.each([
    [['--version', 'v 2'], '--version: "v 2" is not a valid version'],
    [['--version', 'v2', '--drain-timeout', '5x'], '--drain-timeout: expected a duration like 500ms, 30s or 2m, got "5x"'],
    [['--version', 'v2', '--env', 'NOEQUALS'], '--env: expected KEY=VALUE, got "NOEQUALS"'],
    [['--version', 'v2', '--strategy', 'canary', '--canary-steps', '50,10'], '--canary-steps: expected rising percentages'],
    [['--version', 'v2', '--surge', '--strategy', 'canary'], '--surge: only applies to --strategy rolling (this is canary)'],
    [['--version', 'v2', '--strategy', 'blue-green', '--rollback'], '--rollback: takes no --version'],
    [['--health-timeout'], '--health-timeout: needs a value'],
    [['--version', '--surge'], '--version: needs a value'],
    [['--surge=yes', '--version', 'v2'], '--surge: takes no value'],
    [['status', '--version', 'v2'], '--version: does not apply to "status"'],
    [['--recover', '--version', 'v2'], '--recover: takes no --version'],
    [['deploy', '--version', 'v2'], 'unexpected argument "deploy" (the only command is "status"'],
  ])('rejects %j', (argv, message) => {
    expect(problems(argv).some((p) => p.startsWith(message))).toBe(true);
  });

  it('knows the status command, --recover and --force', () => {
    expect(parseArgs(['status', '--json', '-', '--runtime', 'local'], {})).toMatchObject({ command: 'status', json: '-', runtime: 'local' });
    expect(parseArgs(['--recover', '--runtime', 'local'], {})).toMatchObject({ command: 'recover', version: '' });
    expect(parseArgs(['--version', 'v2', '--force'], {})).toMatchObject({ command: 'deploy', force: true });
    expect(parseArgs(['--strategy', 'blue-green', '--rollback'], {})).toMatchObject({ command: 'rollback' });
  });

  it('generates the help from the option definitions, with the defaults from their one home', () => {
    const text = usage();
    for (const name of Object.keys(OPTIONS)) expect(text).toContain(`--${name}`);
    expect(text).toMatch(new RegExp(`--canary-steps <list> +traffic shares in percent \\(default: ${DEPLOY_DEFAULTS.canarySteps.join(',')}\\)`));
    expect(text).toMatch(/--drain-timeout <t> +wait for in-flight requests before stopping \(default: 30s\)/);
    expect(text).toMatch(/Exit codes:\n  0  done\n  1  failed/);
    const a = parseArgs(['--version', 'v2'], {});
    expect(a).toMatchObject({ drainTimeoutMs: DEPLOY_DEFAULTS.drainTimeoutMs, canarySteps: DEPLOY_DEFAULTS.canarySteps, minRequests: DEPLOY_DEFAULTS.minRequests });
  });
});
