import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CommandRunner } from './command-runner';
import { ComposeRuntime, versionVar } from './compose-runtime';
import { readEnvFile } from './env-file';

/** A scripted docker CLI: records every call, answers ps/inspect from a small table. */
function fakeDocker() {
  const calls: string[] = [];
  const env: Record<string, string[]> = { id1: ['PORT=8081', 'APP_VERSION=v1'], id2: ['PORT=8082', 'APP_VERSION=v1'] };
  const run: CommandRunner = async (cmd, args, opts) => {
    const line = [cmd, ...args].join(' ');
    calls.push(opts?.env && Object.keys(opts.env).length ? `${line}  [${Object.entries(opts.env).map(([k, v]) => `${k}=${v}`).join(' ')}]` : line);
    if (args.includes('ps')) return args[args.length - 1] === 'client-1' ? 'id1\n' : 'id2\n';
    if (args[0] === 'inspect' && args[2] === '{{json .Config.Env}}') return JSON.stringify(env[args[3]]);
    if (args[0] === 'inspect' && args[2] === '{{.State.Running}}') return 'true\n';
    return '';
  };
  return { run, calls };
}

describe('ComposeRuntime (scripted docker CLI)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zdl-compose-'));
  const envFile = path.join(dir, '.env');
  const opts = { project: 'p1', composeFile: path.join(dir, 'docker-compose.yml'), envFile, services: ['client-1', 'client-2'] };

  it('lists the services as upstreams named like the balancer config', async () => {
    const { run } = fakeDocker();
    const list = await new ComposeRuntime(opts, run).list();
    expect(list).toEqual([
      { slot: 'client-1', name: 'client-1:8081', url: 'http://client-1:8081', version: 'v1' },
      { slot: 'client-2', name: 'client-2:8082', url: 'http://client-2:8082', version: 'v1' },
    ]);
  });

  it('recreates one service with its version kept in the env file, so a later compose up keeps it', async () => {
    fs.writeFileSync(envFile, '# lab settings\nLB_ADMIN_TOKEN=abc\n');
    const { run, calls } = fakeDocker();
    const rt = new ComposeRuntime(opts, run);
    await rt.prepare('v2');
    await rt.start('client-1', 'v2', { FAIL_RATE: '0.5' });
    expect(calls[0]).toBe(`docker compose -p p1 -f ${opts.composeFile} --env-file ${envFile} build client-1  [CLIENT_1_VERSION=v2]`);
    expect(calls[1]).toBe(`docker compose -p p1 -f ${opts.composeFile} --env-file ${envFile} up -d --no-deps --no-build --force-recreate client-1  [FAIL_RATE=0.5 CLIENT_1_VERSION=v2]`);
    expect(readEnvFile(envFile)).toEqual({ LB_ADMIN_TOKEN: 'abc', CLIENT_1_VERSION: 'v2' });
    expect(fs.readFileSync(envFile, 'utf8')).toMatch(/^# lab settings\n/);
    expect(versionVar('client-2')).toBe('CLIENT_2_VERSION');
  });

  it('starts a helper container beside a service on its network, and removes it', async () => {
    const { run, calls } = fakeDocker();
    const rt = new ComposeRuntime(opts, run);
    const origRun = run;
    const withNet: CommandRunner = async (cmd, args, o) => {
      if (args[0] === 'inspect' && args[2]?.includes('Networks')) return 'p1_lab \n';
      if (args[0] === 'inspect' && args[2] === '{{.Config.Image}}') return 'zdl/client:v1\n';
      return origRun(cmd, args, o);
    };
    const green = await new ComposeRuntime(opts, withNet).startBeside('client-1', 'v2', {}, 'green');
    expect(green).toEqual({ slot: 'client-1', name: 'client-1-green:8081', url: 'http://client-1-green:8081', version: 'v2' });
    expect(calls.find((c) => c.startsWith('docker run'))).toBe(
      'docker run -d --init --name p1-client-1-green --network p1_lab --network-alias client-1-green --label zdl.project=p1 --label zdl.slot=client-1 -e PORT=8081 -e APP_VERSION=v2 -e INSTANCE_NAME=client-1-green zdl/client:v2',
    );
    await rt.removeBeside(green);
    expect(calls.slice(-2)).toEqual(['docker stop -t 15 p1-client-1-green', 'docker rm -f p1-client-1-green']);
  });

  it('reports every slot, running or stopped (with its version from the env file), and finds helpers by label', async () => {
    fs.writeFileSync(envFile, 'CLIENT_2_VERSION=v3\n');
    const run: CommandRunner = async (_cmd, args) => {
      if (args[0] === 'compose' && args.includes('ps')) return args[args.length - 1] === 'client-1' ? 'id1\n' : 'id2\n';
      if (args[0] === 'ps') return args.includes('label=zdl.project=p1') ? 'h1\n' : '';
      if (args[2] === '{{.State.Running}}') return args[3] === 'id1' ? 'true\n' : 'false\n';
      if (args[2] === '{{json .Config.Env}}') {
        return JSON.stringify(args[3] === 'h1' ? ['PORT=8081', 'APP_VERSION=v3', 'INSTANCE_NAME=client-2-green'] : ['PORT=8081', 'APP_VERSION=v2']);
      }
      if (args[2] === '{{index .Config.Labels "zdl.slot"}}') return 'client-2\n';
      return '';
    };
    const rt = new ComposeRuntime(opts, run);
    expect(await rt.slots()).toEqual([
      { slot: 'client-1', version: 'v2', running: { slot: 'client-1', name: 'client-1:8081', url: 'http://client-1:8081', version: 'v2' } },
      { slot: 'client-2', version: 'v3' },
    ]);
    expect(await rt.helpers()).toEqual([{ slot: 'client-2', name: 'client-2-green:8081', url: 'http://client-2-green:8081', version: 'v3' }]);
  });
});
