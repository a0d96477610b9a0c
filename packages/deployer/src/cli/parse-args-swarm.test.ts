import { DeployError } from '../lb-client/deploy-error';
import { parseArgs } from './parse-args';

describe('deploy arguments for --runtime swarm', () => {
  it('reads the stack, the service and the image repository', () => {
    expect(parseArgs(['--runtime', 'swarm', '--stack', 'lab2', '--service', 'web', '--image', 'registry.local:5000/team/web', '--version', 'v2'], {})).toMatchObject({
      runtime: 'swarm',
      stack: 'lab2',
      service: 'web',
      image: 'registry.local:5000/team/web',
    });
    expect(parseArgs(['status', '--runtime', 'swarm', '--stack', 'lab2'], {})).toMatchObject({ command: 'status', stack: 'lab2' });
  });

  it('takes the version from the image tag, as the compose runtime does', () => {
    expect(parseArgs(['--runtime', 'swarm', '--image', 'team/web:v3'], {})).toMatchObject({ runtime: 'swarm', image: 'team/web:v3', version: 'v3' });
    expect(parseArgs(['--runtime', 'swarm', '--image', 'team/web:v3', '--version', 'v3'], {})).toMatchObject({ version: 'v3' });
  });

  it('refuses a stack name Docker would refuse, a tag that disagrees with --version, a repository without any version, and --stack off swarm, naming each', () => {
    const problems = (argv: string[]): string[] => {
      try {
        parseArgs(argv, {});
      } catch (err) {
        expect((err as DeployError).code).toBe('DEPLOY_ERR_ARGS');
        return (err as Error).message.split('\n');
      }
      return [];
    };
    expect(problems(['--runtime', 'swarm', '--stack', 'Lab!', '--image', 'zdl/web:v1', '--version', 'v2'])).toEqual([
      '--stack: "Lab!" is not a stack name (lower-case letters, digits, - and _)',
      '--image: its tag "v1" and --version v2 disagree (swarm tags the image with the version)',
    ]);
    expect(problems(['--runtime', 'swarm', '--image', 'zdl/web'])).toEqual(['--version: required (the version to deploy, e.g. --version v2)']);
    expect(problems(['--stack', 'lab2', '--version', 'v2'])).toEqual(['--stack: only applies with --runtime swarm']);
  });
});
