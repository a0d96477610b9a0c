import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { execRunner } from '../packages/deployer/src/runtime/command-runner';
import { ComposeRuntime } from '../packages/deployer/src/runtime/compose-runtime';
import { isFailure, LoadChecker } from '../packages/loadcheck/src';
import { HttpLbAdmin } from '../packages/deployer/src/lb-client/http-lb-admin';
import { type KillPoint, runDeployer } from '../packages/deployer/src/test-support/deployer-process';
import { ComposeLab, ROOT } from './support/compose-lab';

// The deployer SIGKILLed once per strategy on compose (real containers) under 200 GET/s + 20 POST/s,
// then the same command run again: 0 failed, every slot in rotation on the new version, no helper
// container left, the lock free. (Every step, and SIGINT, are covered on the local runtime by
// npm test; this shows the compose runtime's part: stopped services, labelled helpers.)
jest.setTimeout(900_000);

describe('a deployer killed mid-deploy on compose loses nothing', () => {
  let lab: ComposeLab;
  let lb: HttpLbAdmin;
  let loads: LoadChecker[];

  beforeAll(async () => {
    lab = await ComposeLab.up();
    lb = new HttpLbAdmin(lab.adminUrl, lab.token);
    loads = [
      new LoadChecker({ url: `${lab.lbUrl}/api`, rate: 200 }),
      new LoadChecker({ url: `${lab.lbUrl}/api`, rate: 20, method: 'POST', body: { order: 1 } }),
    ];
    loads.forEach((l) => l.start());
  });

  afterAll(async () => {
    await Promise.all((loads ?? []).map((l) => l.stop()));
    await lab?.down();
  });

  const cases: [string, string[], KillPoint][] = [
    // The case: killed with client-1 done and client-2 drained and deregistered.
    ['rolling, at client-2 stop', ['--strategy', 'rolling', '--version', 'v2'], { step: 'stop', nth: 2, signal: 'SIGKILL' }],
    ['blue/green, at the swap', ['--strategy', 'blue-green', '--version', 'v3'], { step: 'switch', signal: 'SIGKILL' }],
    ['canary, at the 50% step', ['--strategy', 'canary', '--version', 'v4', '--canary-steps', '10,50,100', '--step-duration', '2s', '--analysis-interval', '500ms'], { step: 'canary-step', nth: 2, signal: 'SIGKILL' }],
  ];

  it.each(cases)('%s: the next command repairs and deploys; 0 failed', async (_name, args, kill) => {
    const common = ['--project', lab.project, '--env-file', lab.envFile, '--admin-url', lab.adminUrl, '--token', lab.token];
    const first = await runDeployer([...common, ...args], kill, 600_000);
    expect(first.killed).toBe(true);
    expect(first.signal).toBe('SIGKILL');
    const again = await runDeployer([...common, ...args], undefined, 600_000);
    console.log(again.output);
    expect(again.code).toBe(0);
    expect(again.output).toContain('found an unfinished');
    const version = args[args.indexOf('--version') + 1];
    const ups = await lb.list();
    expect(ups.map((u) => `${u.name} ${u.state} ${u.group}`)).toEqual(['client-1:8081 healthy default', 'client-2:8082 healthy default']);
    expect(await lb.getSplit()).toBeNull();
    expect((await lb.deployState()).lock).toBeNull();
    // Helper containers carry the project's label: none is left.
    expect(execFileSync('docker', ['ps', '-aq', '--filter', `label=zdl.project=${lab.project}`], { encoding: 'utf8' }).trim()).toBe('');
    const slots = await new ComposeRuntime({ project: lab.project, composeFile: path.join(ROOT, 'docker-compose.yml'), envFile: lab.envFile, services: ['client-1', 'client-2'] }, execRunner).slots();
    expect(slots.map((x) => `${x.slot} ${x.running?.version}`)).toEqual([`client-1 ${version}`, `client-2 ${version}`]);
    const failed = loads.flatMap((l) => l.outcomes).filter(isFailure);
    if (failed.length > 0) {
      const at = failed.map((o) => o.sentAt);
      console.log(`${failed.length} failed, sent between ${Math.min(...at).toFixed(0)} and ${Math.max(...at).toFixed(0)} ms after the load began (${new Date(loads[0].startedAtEpoch).toISOString()})\n${await lab.compose('logs', '--timestamps', '--tail', '300', 'lb')}`);
    }
    expect(failed.length).toBe(0);
  });
});
