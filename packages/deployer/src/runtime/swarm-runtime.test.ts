import { FakeClock } from '../test-support/fakes';
import type { CommandRunner } from './command-runner';
import { SwarmRuntime } from './swarm-runtime';

interface Task {
  id: string;
  service: string;
  slot: number;
  desired: string;
  current: string;
  ip: string;
  env: string[];
  image: string;
}

/**
 * A scripted docker CLI for one stack: records every call and keeps a tiny model of the service
 * (its spec and its tasks) so that an update really replaces the tasks it answers about.
 */
function fakeSwarm() {
  const calls: string[] = [];
  const images = new Set(['zdl/swarm-client:v1']);
  const spec = { image: 'zdl/swarm-client:v1', env: ['PORT=8081', 'APP_VERSION=v1', 'ANNOUNCE_NAME={{.Task.Name}}'], replicas: 2 };
  const helpers = new Map<string, { labels: Record<string, string>; env: string[] }>();
  let n = 0;
  const task = (service: string, slot: number, env: string[]): Task => ({ id: `t${++n}`, service, slot, desired: 'Running', current: 'Running 1 second ago', ip: `10.0.9.${n}`, env, image: spec.image });
  const tasks: Task[] = [task('s1_client', 1, spec.env), task('s1_client', 2, spec.env), { ...task('s1_client', 1, spec.env), desired: 'Shutdown', current: 'Shutdown 1 minute ago' }];
  const arg = (args: string[], flag: string) => args[args.indexOf(flag) + 1];
  const run: CommandRunner = async (cmd, args) => {
    calls.push([cmd, ...args].join(' '));
    const last = args[args.length - 1];
    if (args[0] === 'service' && args[1] === 'ps') {
      return tasks.filter((t) => t.service === args[2]).map((t) => `${t.id}|${t.service}.${t.slot}|${t.desired}|${t.current}||${t.image}`).join('\n');
    }
    if (args[0] === 'inspect') {
      const t = tasks.find((x) => x.id === last)!;
      return `${JSON.stringify(t.env)}|s1_lab=${t.ip}/24, ingress=10.255.0.9/16, `;
    }
    if (args[0] === 'service' && args[1] === 'inspect') {
      if (args[3].includes('UpdateStatus')) return '{"State":"completed","StartedAt":"2026-12-03T00:00:00Z","Message":"update completed"}';
      if (args[3].includes('zdl.slot')) return `${helpers.get(last)!.labels['zdl.slot']}|${JSON.stringify(helpers.get(last)!.env)}`;
      return `${spec.image}|${JSON.stringify(spec.env)}|${spec.replicas}`;
    }
    if (args[0] === 'image' && args[1] === 'inspect') {
      if (!images.has(last)) throw new Error('No such image');
      return 'sha256:x';
    }
    if (args[0] === 'build') images.add(arg(args, '-t'));
    if (args[0] === 'service' && args[1] === 'update' && args.includes('--detach=false')) {
      spec.image = arg(args, '--image');
      const env = new Map(spec.env.map((kv) => [kv.split('=')[0], kv]));
      args.forEach((a, i) => {
        if (a === '--env-add') env.set(args[i + 1].split('=')[0], args[i + 1]);
        if (a === '--env-rm') env.delete(args[i + 1]);
      });
      spec.env = [...env.values()];
      for (const t of tasks.filter((x) => x.service === 's1_client' && x.desired === 'Running')) Object.assign(t, { desired: 'Shutdown', current: 'Shutdown 0 seconds ago' });
      tasks.unshift(task('s1_client', 2, spec.env), task('s1_client', 1, spec.env));
    }
    if (args[0] === 'service' && args[1] === 'create') {
      const name = arg(args, '--name');
      const labels: Record<string, string> = {};
      const env: string[] = [];
      args.forEach((a, i) => {
        if (a === '--label') labels[args[i + 1].split('=')[0]] = args[i + 1].split('=').slice(1).join('=');
        if (a === '--env') env.push(args[i + 1]);
      });
      helpers.set(name, { labels, env });
      tasks.unshift(task(name, 1, env));
    }
    if (args[0] === 'service' && args[1] === 'rm') {
      if (!helpers.delete(args[2])) throw new Error(`service ${args[2]} not found`);
    }
    if (args[0] === 'service' && args[1] === 'ls') return [...helpers.keys()].join('\n');
    return '';
  };
  return { run, calls, tasks, spec };
}

const options = { stack: 's1', service: 'client', image: 'zdl/swarm-client', build: { context: '/repo', dockerfile: '/repo/Dockerfile.client', nodeImage: 'zdl/node:20-local' } };

describe('SwarmRuntime (scripted docker CLI)', () => {
  it('lists the running task of each slot under the name it registers itself with (its task name) and its overlay address', async () => {
    const { run } = fakeSwarm();
    const rt = new SwarmRuntime(options, run, new FakeClock());
    expect((await rt.tasks()).map((t) => `${t.id} ${t.slotNo} ${t.desired} ${t.current} ${t.version}`)).toEqual(['t1 1 running running v1', 't2 2 running running v1', 't3 1 shutdown shutdown v1']);
    expect(await rt.list()).toEqual([
      { slot: 'client.1', name: 's1_client.1.t1', url: 'http://10.0.9.1:8081', version: 'v1' },
      { slot: 'client.2', name: 's1_client.2.t2', url: 'http://10.0.9.2:8081', version: 'v1' },
    ]);
  });

  it('starts Swarm\'s own rolling update: start-first, the batch size as parallelism, failure action rollback, knobs not given removed', async () => {
    const { run, calls } = fakeSwarm();
    await new SwarmRuntime(options, run, new FakeClock()).startRollingUpdate('v2', { FAIL_RATE: '0.5' }, { parallelism: 2, delayMs: 1000, monitorMs: 5000 });
    expect(calls).toEqual([
      'docker service update --detach --quiet --no-resolve-image --image zdl/swarm-client:v2 --env-add APP_VERSION=v2 --env-add FAIL_RATE=0.5 --env-rm LATENCY_MS --env-rm STARTUP_DELAY_MS ' +
        '--update-order start-first --update-parallelism 2 --update-delay 1s --update-monitor 5s --update-failure-action rollback --update-max-failure-ratio 0 ' +
        '--rollback-order start-first --rollback-parallelism 2 --rollback-monitor 5s --stop-grace-period 30s s1_client',
    ]);
  });

  it('builds the image of a new version only when it is missing', async () => {
    const { run, calls } = fakeSwarm();
    const rt = new SwarmRuntime(options, run, new FakeClock());
    await rt.prepare('v1');
    await rt.prepare('v2');
    await rt.prepare('v2');
    expect(calls.filter((c) => c.includes(' build '))).toEqual(['docker build -q -f /repo/Dockerfile.client --build-arg NODE_IMAGE=zdl/node:20-local -t zdl/swarm-client:v2 /repo']);
  });

  it('stop() of a service task runs nothing (Swarm would replace it); start() moves the whole service once, start-first, and returns the slot\'s new task', async () => {
    const { run, calls } = fakeSwarm();
    const rt = new SwarmRuntime(options, run, new FakeClock());
    const [one, two] = await rt.list();
    calls.length = 0;
    await rt.stop(one);
    expect(calls).toEqual([]);
    const fresh1 = await rt.start('client.1', 'v2');
    await rt.stop(two);
    const fresh2 = await rt.start('client.2', 'v2');
    const updates = calls.filter((c) => c.startsWith('docker service update'));
    expect(updates).toEqual([
      'docker service update --detach=false --quiet --no-resolve-image --image zdl/swarm-client:v2 --env-add APP_VERSION=v2 --env-rm LATENCY_MS --env-rm FAIL_RATE --env-rm STARTUP_DELAY_MS ' +
        '--update-order start-first --update-parallelism 0 --update-failure-action pause --stop-grace-period 30s s1_client',
      'docker service update --detach --quiet --update-parallelism 1 --update-failure-action rollback s1_client',
    ]);
    expect([fresh1, fresh2].map((i) => `${i.slot} ${i.version} ${i.name}`)).toEqual(['client.1 v2 s1_client.1.t5', 'client.2 v2 s1_client.2.t4']);
  });

  it('a helper is a one-replica service beside the stack\'s (labelled for clean-up, on the overlay, by DNS name), found again by helpers() and removed by removeBeside()', async () => {
    const { run, calls } = fakeSwarm();
    const rt = new SwarmRuntime(options, run, new FakeClock());
    const green = await rt.startBeside('client.2', 'v2', { LATENCY_MS: '5' }, 'green');
    expect(green).toEqual({ slot: 'client.2', name: 's1-client-green-2', url: 'http://s1-client-green-2:8081', version: 'v2' });
    const create = calls.find((c) => c.startsWith('docker service create'))!;
    expect(create).toContain('--name s1-client-green-2 --label com.docker.stack.namespace=s1 --label zdl.helper-of=s1_client --label zdl.slot=client.2 --label zdl.role=green');
    expect(create).toContain('--network s1_lab --endpoint-mode dnsrr --replicas 1 --init --stop-grace-period 30s');
    expect(create).toMatch(/--env PORT=8081 --env APP_VERSION=v2 --env INSTANCE_NAME=s1-client-green-2 --env LATENCY_MS=5 zdl\/swarm-client:v2$/);
    expect(await rt.helpers()).toEqual([green]);
    await rt.removeBeside(green);
    expect(calls[calls.length - 1]).toBe('docker service rm s1-client-green-2');
    expect(await rt.helpers()).toEqual([]);
    // Already gone (a deployer that died after the rm): not an error.
    await expect(rt.removeBeside(green)).resolves.toBeUndefined();
  });

  it('slots() has one entry per replica, with the running task or, for an empty slot, the service\'s version', async () => {
    const s = fakeSwarm();
    s.tasks[1].current = 'Starting 1 second ago';
    const slots = await new SwarmRuntime(options, s.run, new FakeClock()).slots();
    expect(slots.map((v) => `${v.slot} ${v.version} ${v.running?.name ?? '-'}`)).toEqual(['client.1 v1 s1_client.1.t1', 'client.2 v1 -']);
  });

  it('check(): refuses an engine that is no swarm manager and a service that does not exist, before anything changes', async () => {
    const answers: Record<string, string | Error> = { info: 'inactive/false' };
    const run: CommandRunner = async (_cmd, args) => {
      const a = answers[args[0]] ?? (args[1] === 'inspect' ? answers.inspect : '');
      if (a instanceof Error) throw a;
      return a ?? '';
    };
    const rt = new SwarmRuntime(options, run, new FakeClock());
    await expect(rt.check()).rejects.toThrow('this Docker engine is not a swarm manager (inactive/false); start the lab with "npm run lab:swarm"');
    answers.info = 'active/true';
    answers.inspect = new Error('no such service');
    await expect(rt.check()).rejects.toThrow('no service s1_client in this swarm (--stack s1 --service client; "docker service ls" lists them)');
  });

  it('a slot that is not the service\'s is a clear error', async () => {
    const { run } = fakeSwarm();
    await expect(new SwarmRuntime(options, run, new FakeClock()).start('web.x', 'v2')).rejects.toThrow('"web.x" is no slot of s1_client (expected client.<n>)');
  });
});
