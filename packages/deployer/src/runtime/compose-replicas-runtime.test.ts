import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeClock } from '../test-support/fakes';
import type { CommandRunner } from './command-runner';
import { ComposeReplicasRuntime, type DiscoveryView, imageTag } from './compose-replicas-runtime';
import { readEnvFile } from './env-file';

interface C {
  id: string;
  image: string;
  number: number;
  ip: string;
  running: boolean;
}

/**
 * A scripted docker CLI for one compose service: answers ps / inspect from its container table,
 * scales up with the image the override file names (as compose would), stops and removes.
 * Docker's habit of handing a freed IP to the next container is kept.
 */
function fakeDocker(images: string[]) {
  const calls: string[] = [];
  const cs: C[] = images.map((image, i) => ({ id: `c${i + 1}`, image, number: i + 1, ip: `10.0.0.${i + 2}`, running: true }));
  let next = cs.length;
  const freeIp = () => {
    for (let k = 2; ; k++) if (!cs.some((c) => c.ip === `10.0.0.${k}`)) return `10.0.0.${k}`;
  };
  const run: CommandRunner = async (cmd, args) => {
    calls.push([cmd, ...args].join(' '));
    if (args[0] === 'compose') {
      const files = args.flatMap((a, i) => (args[i - 1] === '-f' ? [a] : []));
      if (args.includes('ps')) return cs.filter((c) => c.running || args.includes('-a')).map((c) => c.id).join('\n') + '\n';
      const scale = args.find((a) => a.startsWith('web='));
      if (args.includes('up') && scale) {
        const override = files[1] ? fs.readFileSync(files[1], 'utf8') : '';
        const image = JSON.parse(/image: (".*")/.exec(override)![1]) as string;
        const want = Number(scale.slice(4));
        while (cs.filter((c) => c.running).length < want) cs.push({ id: `c${++next}`, image, number: next, ip: freeIp(), running: true });
        return '';
      }
      return '';
    }
    if (args[0] === 'inspect') {
      return JSON.stringify(
        args.slice(1).map((id) => {
          const c = cs.find((x) => x.id === id)!;
          return { Id: c.id, State: { Running: c.running }, Config: { Image: c.image, Labels: { 'com.docker.compose.container-number': String(c.number) } }, NetworkSettings: { Networks: { p_default: { IPAddress: c.ip } } } };
        }),
      );
    }
    if (args[0] === 'rm') cs.splice(cs.findIndex((c) => c.id === args[2]), 1);
    if (args[0] === 'stop') cs.find((c) => c.id === args[3])!.running = false;
    return '';
  };
  return { run, calls, cs };
}

/** The balancer's discovery over the fake containers: every running one is a member and an upstream, plus scripted stale members. */
function fakeBalancer(cs: C[]) {
  const stale: string[] = [];
  const removed = new Set<string>();
  let reads = 0;
  const checks = { path: '/healthz' };
  const view = async (): Promise<DiscoveryView> => {
    reads++;
    const live = cs.filter((c) => c.running).map((c) => c.ip);
    return {
      upstreams: live.filter((ip) => !removed.has(ip)).map((ip) => ({ name: `web@${ip}:5000`, lastCheck: `GET ${checks.path} → 200` })),
      discovery: [{ dns: 'web', port: 5000, addresses: [...live, ...stale] }],
    };
  };
  return { view, stale, removed, checks, reads: () => reads };
}

function setup(images = ['zdl/example-web:v1', 'zdl/example-web:v1', 'zdl/example-web:v1']) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zdl-replicas-'));
  const docker = fakeDocker(images);
  const lb = fakeBalancer(docker.cs);
  const clock = new FakeClock();
  const o = {
    project: 'p',
    composeFile: path.join(dir, 'compose.yml'),
    envFile: path.join(dir, '.env'),
    service: 'web',
    port: 5000,
    dnsName: 'web',
    healthPath: '/healthz',
    target: { image: 'zdl/example-web:v2', version: 'v2' },
    stateDir: path.join(dir, '.lab', 'compose', 'p'),
    discoveryTimeoutMs: 5000,
  };
  fs.writeFileSync(o.envFile, 'LB_ADMIN_TOKEN=abc\n');
  const rt = new ComposeReplicasRuntime(o, docker.run, lb.view, clock);
  return { rt, docker, lb, clock, o };
}

describe('ComposeReplicasRuntime (scripted docker CLI and balancer)', () => {
  it('lists the replicas under the names the balancer discovers them by (svc@ip:port), version from the image tag', async () => {
    const { rt } = setup();
    expect(await rt.list()).toEqual([
      { slot: 'web-1', name: 'web@10.0.0.2:5000', url: 'http://10.0.0.2:5000', version: 'v1' },
      { slot: 'web-2', name: 'web@10.0.0.3:5000', url: 'http://10.0.0.3:5000', version: 'v1' },
      { slot: 'web-3', name: 'web@10.0.0.4:5000', url: 'http://10.0.0.4:5000', version: 'v1' },
    ]);
    expect(imageTag('registry:5000/org/web:2.1')).toBe('2.1');
    expect(imageTag('web')).toBe('latest');
  });

  it("scales up by the batch with the override's image (nothing recreated), then stops and removes the old ones; compose keeps the override", async () => {
    const { rt, docker, o } = setup();
    const old = await rt.list();
    const fresh = await rt.startBesideMany!(['web-1', 'web-2'], 'v2', {}, 'surge');
    const up = docker.calls.find((c) => c.includes(' up '))!;
    const override = path.join(o.stateDir, 'web.image.yml');
    expect(up).toBe(`docker compose -p p -f ${o.composeFile} -f ${override} --env-file ${o.envFile} up -d --no-deps --no-recreate --no-build --scale web=5 web`);
    expect(fs.readFileSync(override, 'utf8')).toMatch(/services:\n {2}"web":\n {4}image: "zdl\/example-web:v2"\n$/);
    expect(readEnvFile(o.envFile)).toEqual({ LB_ADMIN_TOKEN: 'abc', COMPOSE_FILE: `${o.composeFile}:${override}` });
    expect(fresh).toEqual([
      { slot: 'web-1', name: 'web@10.0.0.5:5000', url: 'http://10.0.0.5:5000', version: 'v2' },
      { slot: 'web-2', name: 'web@10.0.0.6:5000', url: 'http://10.0.0.6:5000', version: 'v2' },
    ]);
    expect((await rt.helpers()).map((h) => h.name)).toEqual(['web@10.0.0.5:5000', 'web@10.0.0.6:5000']);

    for (const [i, f] of fresh.entries()) {
      await rt.stop(old[i]);
      await rt.adopt!(f, old[i].slot);
    }
    expect(docker.calls.filter((c) => /^docker (stop|rm)/.test(c))).toEqual(['docker stop -t 15 c1', 'docker rm -f c1', 'docker stop -t 15 c2', 'docker rm -f c2']);
    expect(await rt.helpers()).toEqual([]);
    expect((await rt.slots()).map((s) => `${s.slot}=${s.version}@${s.running?.name}`)).toEqual(['web-1=v2@web@10.0.0.5:5000', 'web-2=v2@web@10.0.0.6:5000', 'web-3=v1@web@10.0.0.4:5000']);
  });

  it('waits for the balancer to forget a removed address before scaling up (Docker hands the freed IP to the next container)', async () => {
    const { rt, docker, lb, clock } = setup();
    lb.stale.push('10.0.0.9'); // a replica removed a moment ago: still a DNS member, no longer an upstream
    const until = clock.now() + 1000;
    const view = lb.view;
    let upAt = -1;
    // The stale member leaves after 1 s (the balancer's third lookup without it).
    const orig = docker.run;
    const runner: CommandRunner = async (cmd, args, opts) => {
      if (args.includes('up')) upAt = clock.now();
      return orig(cmd, args, opts);
    };
    const rt2 = new ComposeReplicasRuntime((rt as unknown as { o: never }).o, runner, async () => {
      if (clock.now() >= until) lb.stale.splice(0);
      return view();
    }, clock);
    await rt2.startBeside('web-1', 'v2');
    expect(upAt).toBeGreaterThanOrEqual(1000);
  });

  it('a deployer killed during a scale-up: every container outside the record is a helper, removed by the repair', async () => {
    const { rt, docker, o } = setup();
    await rt.list();
    const rec = path.join(o.stateDir, 'web.replicas.json');
    const r = JSON.parse(fs.readFileSync(rec, 'utf8'));
    r.pending = { role: 'green', since: 'then' };
    fs.writeFileSync(rec, JSON.stringify(r));
    docker.cs.push({ id: 'c9', image: 'zdl/example-web:v2', number: 9, ip: '10.0.0.9', running: true });
    const helpers = await rt.helpers();
    expect(helpers).toEqual([{ slot: 'web', name: 'web@10.0.0.9:5000', url: 'http://10.0.0.9:5000', version: 'v2' }]);
    expect((await rt.slots()).map((s) => s.slot)).toEqual(['web-1', 'web-2', 'web-3']);
    await rt.removeBeside(helpers[0]);
    expect(docker.cs.map((c) => c.id)).toEqual(['c1', 'c2', 'c3']);
    expect(JSON.parse(fs.readFileSync(rec, 'utf8')).pending).toBeUndefined();
  });

  it('a slot emptied by a dead deployer stays in the record until refilled (start: one more replica in that slot)', async () => {
    const { rt, docker } = setup();
    const [first] = await rt.list();
    await rt.stop(first);
    expect((await rt.slots()).map((s) => `${s.slot}:${s.running ? 'running' : 'empty'}`)).toEqual(['web-1:empty', 'web-2:running', 'web-3:running']);
    const refilled = await rt.start('web-1', 'v1');
    expect(refilled).toEqual({ slot: 'web-1', name: 'web@10.0.0.2:5000', url: 'http://10.0.0.2:5000', version: 'v1' });
    expect(docker.calls.find((c) => c.includes(' up '))).toMatch(/--scale web=3 web$/);
  });

  it('refuses, before changing anything, a balancer that checks another path than the service\'s health path', async () => {
    const { rt, lb } = setup();
    lb.checks.path = '/ping';
    await expect(rt.list()).rejects.toThrow(
      "the balancer checks /ping on web (last check: GET /ping → 200) but its health path is /healthz (--health-path or the label zdl.health-path): set the balancer's healthCheck.path to it",
    );
    lb.checks.path = '/healthz';
    expect(await rt.list()).toHaveLength(3);
  });

  it('says clearly when the balancer has no {dns, port} entry for the service, or the image is missing', async () => {
    const { rt, o, docker } = setup();
    const noEntry = new ComposeReplicasRuntime({ ...o, port: 8080 }, docker.run, fakeBalancer(docker.cs).view, new FakeClock());
    await expect(noEntry.startBeside('web-1', 'v2')).rejects.toThrow('the balancer has no upstream entry {dns: web, port: 8080} (its DNS entries: {dns: web, port: 5000})');
    const missing: CommandRunner = async (cmd, args, opts) => {
      if (args[0] === 'image') throw new Error('No such image');
      return docker.run(cmd, args, opts);
    };
    await expect(new ComposeReplicasRuntime(o, missing, fakeBalancer(docker.cs).view, new FakeClock()).prepare('v2')).rejects.toThrow(
      'image zdl/example-web:v2 not found on this Docker engine: build or pull it first (--image)',
    );
    await expect(rt.prepare('v9')).rejects.toThrow('no image known for version v9 of web (give --image)');
  });
});
