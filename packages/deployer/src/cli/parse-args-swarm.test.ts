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

  it('refuses a stack name Docker would refuse and an image with a tag (the tag is the version), naming each', () => {
    let message = '';
    try {
      parseArgs(['--runtime', 'swarm', '--stack', 'Lab!', '--image', 'zdl/web:v1', '--version', 'v2'], {});
    } catch (err) {
      expect((err as DeployError).code).toBe('DEPLOY_ERR_ARGS');
      message = (err as Error).message;
    }
    expect(message.split('\n')).toEqual([
      '--stack: "Lab!" is not a stack name (lower-case letters, digits, - and _)',
      '--image: "zdl/web:v1" is not an image repository without a tag (the tag is the version)',
    ]);
  });
});
