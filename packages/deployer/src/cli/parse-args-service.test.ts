import { DeployError } from '../lb-client/deploy-error';
import { parseArgs } from './parse-args';

const problems = (argv: string[]) => {
  try {
    parseArgs(argv, {});
  } catch (err) {
    expect((err as DeployError).code).toBe('DEPLOY_ERR_ARGS');
    return (err as Error).message.split('\n');
  }
  throw new Error('expected an error');
};

describe('deploy arguments for any compose service (--service, --image, --port, --health-path)', () => {
  it('takes the version from the image tag unless --version is given', () => {
    expect(parseArgs(['--service', 'web', '--image', 'registry.local:5000/org/web:2.1', '--port', '5000', '--health-path', '/healthz', '--batch-size', '2'], {})).toMatchObject({
      service: 'web',
      image: 'registry.local:5000/org/web:2.1',
      version: '2.1',
      port: 5000,
      healthPath: '/healthz',
      batchSize: 2,
    });
    expect(parseArgs(['--service', 'web', '--image', 'org/web:sha-1', '--version', 'release-7', '--strategy', 'canary'], {})).toMatchObject({ version: 'release-7', strategy: 'canary' });
  });

  it('names every bad argument, and changes nothing', () => {
    expect(problems(['--service', 'web'])).toEqual(expect.arrayContaining(['--image: required with --service (the image to deploy, e.g. --image myorg/web:2.1)']));
    expect(problems(['--image', 'org/web:2'])).toEqual(['--image: only applies with --service <compose service>']);
    expect(problems(['--service', 'web', '--image', 'org/web'])).toEqual(expect.arrayContaining(['--image: "org/web" has no usable tag; give --version']));
    expect(problems(['--service', 'web', '--image', 'org/web:2', '--port', '70000', '--health-path', 'healthz'])).toEqual([
      '--port: expected an integer from 1 to 65535, got "70000"',
      '--health-path: expected a path starting with /, got "healthz"',
    ]);
    expect(problems(['--service', 'we b', '--image', 'Org/Web:2'])).toEqual([
      '--service: "we b" is not a service name',
      '--image: "Org/Web:2" is not an image reference like myorg/web:2.1',
      '--version: required (the version to deploy, e.g. --version v2)',
    ]);
  });
});
