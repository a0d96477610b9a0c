#!/usr/bin/env node
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConsoleReporter, formatReport } from './cli/console-reporter';
import { EXIT } from './cli/exit-codes';
import { Interrupts } from './cli/interrupts';
import { type CliArgs, parseArgs, usage, wantsHelp } from './cli/parse-args';
import { runDeployCommand } from './cli/run-deploy-command';
import { formatStatus, labStatus } from './cli/status-command';
import { realClock } from './clock';
import { DEPLOY_DEFAULTS } from './deploy-defaults';
import { DeployError } from './lb-client/deploy-error';
import { HttpLbAdmin } from './lb-client/http-lb-admin';
import { composeTokenFile, resolveAdminToken } from './lb-client/resolve-admin-token';
import { execRunner } from './runtime/command-runner';
import { COMPOSE_PASSTHROUGH_ENV, ComposeRuntime } from './runtime/compose-runtime';
import { ComposeReplicasRuntime } from './runtime/compose-replicas-runtime';
import { readServiceSettings } from './runtime/service-settings';
import { LocalRuntime } from './runtime/local-runtime';
import { SWARM_PASSTHROUGH_ENV, SwarmRuntime } from './runtime/swarm-runtime';
import { SelfRegisteredLbAdmin } from './lb-client/self-registered-lb-admin';
import { LocalStateFile } from './runtime/local-state';
import type { Runtime } from './runtime/runtime';
import { isAlive } from './runtime/local-process';
import { DeployContext } from './strategies/deploy-context';
import { blueGreenRollback } from './strategies/blue-green-deploy';
import { openCliReceipt } from './receipt/cli-receipt';
import { RECEIPT_USAGE, type ReceiptArgs, takeReceiptArgs } from './receipt/receipt-args';

function fail(message: string, code = 1): never {
  process.stderr.write(`deploy: ${message}\n`);
  process.exit(code);
}

/** The repository's root (dist/main.js is packages/deployer/dist/): the swarm lab's state and build context. */
const REPO_ROOT = path.resolve(__dirname, '../../..');

function setupSwarm(args: CliArgs): { runtime: Runtime; lb: HttpLbAdmin } {
  const stack = args.stack ?? process.env.ZDL_STACK ?? DEPLOY_DEFAULTS.project;
  const unsupported = Object.keys(args.env).filter((k) => !(SWARM_PASSTHROUGH_ENV as readonly string[]).includes(k));
  if (unsupported.length > 0) throw new DeployError('DEPLOY_ERR_ARGS', `--env: ${unsupported.join(', ')} not passed to swarm tasks (supported: ${SWARM_PASSTHROUGH_ENV.join(', ')})`);
  if (args.surge) throw new DeployError('DEPLOY_ERR_ARGS', "--surge: not with --runtime swarm (Swarm's update starts each new task before it stops an old one already)");
  // npm run lab:swarm keeps the stack's admin token and published ports in .lab/swarm/<stack>/.
  const state = path.join(REPO_ROOT, '.lab', 'swarm', stack);
  const { token } = resolveAdminToken({ flag: args.token, env: process.env.LB_ADMIN_TOKEN, tokenFile: path.join(state, 'admin-token') });
  const ports = fs.existsSync(path.join(state, 'ports')) ? fs.readFileSync(path.join(state, 'ports'), 'utf8').trim().split('\n') : [];
  const adminUrl = args.adminUrl ?? (ports[1] ? `http://127.0.0.1:${ports[1]}` : DEPLOY_DEFAULTS.adminUrl);
  const runtime = new SwarmRuntime(
    {
      stack,
      service: args.service ?? 'client',
      // --image may carry the tag (parse-args made it the version): Swarm tags the repository with the version.
      image: (args.image ?? 'zdl/swarm-client').replace(/:[^:/@]+$/, ''),
      build: { context: REPO_ROOT, dockerfile: path.join(REPO_ROOT, 'Dockerfile.client'), nodeImage: process.env.NODE_IMAGE ?? 'zdl/node:20-local' },
    },
    execRunner,
    realClock,
  );
  return { runtime, lb: new SelfRegisteredLbAdmin(adminUrl, token, (n) => runtime.isServiceTask(n), realClock) };
}

async function setup(args: CliArgs): Promise<{ runtime: Runtime; lb: HttpLbAdmin }> {
  if (args.runtime === 'swarm') return setupSwarm(args);
  if (args.runtime === 'local') {
    const state = new LocalStateFile(path.resolve(args.state));
    if (!state.exists()) throw new DeployError('DEPLOY_ERR_PRECONDITION', `no local lab found (${args.state}); start one with "npm run lab:local"`);
    const s = state.read();
    return { runtime: new LocalRuntime(state), lb: new HttpLbAdmin(args.adminUrl ?? `http://127.0.0.1:${s.lb.adminPort}`, args.token ?? s.adminToken) };
  }
  const composeFile = path.resolve(args.composeFile);
  if (!fs.existsSync(composeFile)) throw new DeployError('DEPLOY_ERR_ARGS', `--compose-file: ${args.composeFile} not found`);
  const envFile = path.resolve(args.envFile ?? path.join(path.dirname(composeFile), '.env'));
  const unsupported = Object.keys(args.env).filter((k) => !(COMPOSE_PASSTHROUGH_ENV as readonly string[]).includes(k));
  if (args.service) return setupReplicas(args, composeFile, envFile);
  if (unsupported.length > 0) {
    throw new DeployError('DEPLOY_ERR_ARGS', `--env: ${unsupported.join(', ')} not passed to compose containers (supported: ${COMPOSE_PASSTHROUGH_ENV.join(', ')})`);
  }
  // --token, LB_ADMIN_TOKEN, the env file, then the token file the balancer generated (see the README).
  const project = args.project ?? process.env.COMPOSE_PROJECT_NAME ?? DEPLOY_DEFAULTS.project;
  const { token } = resolveAdminToken({ flag: args.token, env: process.env.LB_ADMIN_TOKEN, envFile, tokenFile: composeTokenFile(path.dirname(composeFile), project) });
  const runtime = new ComposeRuntime(
    { project, composeFile, envFile, services: args.services },
    execRunner,
  );
  return { runtime, lb: new HttpLbAdmin(args.adminUrl ?? DEPLOY_DEFAULTS.adminUrl, token) };
}

/** Any compose service with N replicas, discovered by the balancer through DNS (compose-replicas-runtime.ts). */
async function setupReplicas(args: CliArgs, composeFile: string, envFile: string): Promise<{ runtime: Runtime; lb: HttpLbAdmin }> {
  const given = args.project ?? process.env.COMPOSE_PROJECT_NAME;
  const dir = path.dirname(composeFile);
  const settings = await readServiceSettings(execRunner, [...(given ? ['-p', given] : []), '-f', composeFile, ...(fs.existsSync(envFile) ? ['--env-file', envFile] : [])], dir, args.service!, args);
  // Without -p, the project compose itself would use (the file's `name:`, else its folder's name).
  const project = given ?? settings.project;
  // The balancer's token file lives in the .lab folder beside the compose file, one folder per project.
  const { token } = resolveAdminToken({ flag: args.token, env: process.env.LB_ADMIN_TOKEN, envFile, tokenFile: composeTokenFile(dir, project) });
  const lb = new HttpLbAdmin(args.adminUrl ?? DEPLOY_DEFAULTS.adminUrl, token);
  const runtime = new ComposeReplicasRuntime(
    {
      project,
      composeFile,
      envFile,
      service: args.service!,
      port: settings.port,
      dnsName: settings.dnsName,
      healthPath: settings.healthPath,
      stateDir: path.join(dir, '.lab', 'compose', project),
      ...(args.image ? { target: { image: args.image, version: args.version } } : {}),
    },
    execRunner,
    () => lb.discoveryView(),
    realClock,
  );
  return { runtime, lb };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (wantsHelp(argv)) {
    process.stdout.write(`${usage()}\n${RECEIPT_USAGE}\n`);
    process.exit(EXIT.DONE);
  }
  let args: CliArgs;
  let receiptArgs: ReceiptArgs;
  try {
    // The receipt's options (--receipt, --no-receipt, --probe, --probe-url) are its own; the rest is the deploy's.
    const taken = takeReceiptArgs(argv);
    receiptArgs = taken.receipt;
    args = parseArgs(taken.rest);
  } catch (err) {
    if (err instanceof DeployError) fail(`${err.message}\nnothing was changed; "npm run deploy -- --help" lists every option`, EXIT.USAGE);
    throw err;
  }
  // With --json -, stdout carries only the JSON; everything for people goes to stderr.
  const jsonToStdout = args.json === '-';
  const progress = (line: string) => void (jsonToStdout ? process.stderr : process.stdout).write(line + '\n');
  const writeJson = (value: unknown) => {
    const text = JSON.stringify(value, null, 2) + '\n';
    if (jsonToStdout) process.stdout.write(text);
    else if (args.json) fs.writeFileSync(args.json, text);
  };
  let runtime: Runtime;
  let lb: HttpLbAdmin;
  try {
    ({ runtime, lb } = await setup(args));
    if (runtime instanceof SwarmRuntime) await runtime.check();
    // Nothing changes before we know the balancer answers and accepts our token.
    await lb.list();
  } catch (err) {
    if (err instanceof DeployError) fail(`${err.message}\nnothing was changed`, err.code === 'DEPLOY_ERR_ARGS' ? EXIT.USAGE : EXIT.FAILED_CONSISTENT);
    throw err;
  }

  if (args.command === 'status') {
    const s = await labStatus(lb, runtime, { name: os.hostname(), isAlive });
    if (args.json) writeJson(s);
    if (!jsonToStdout) progress(formatStatus(s));
    process.exit(EXIT.DONE);
  }

  const reporter = new ConsoleReporter(progress);
  if (args.command === 'rollback') {
    // An operator's instant swap during a blue/green keep-blue window: the waiting deploy holds the
    // lock and notices; this call is recorded by the balancer as a change outside the deploy.
    try {
      reporter.message(await blueGreenRollback(new DeployContext(lb, runtime, realClock, reporter)));
      process.exit(EXIT.DONE);
    } catch (err) {
      fail((err as Error).message, EXIT.FAILED_CONSISTENT);
    }
  }

  if (args.command === 'deploy') {
    const detail =
      args.strategy === 'rolling'
        ? `batch ${args.batchSize}${args.surge ? ', surge' : ''}`
        : args.strategy === 'canary'
          ? `steps ${args.canarySteps.join('% → ')}%, ${args.stepDurationMs} ms each`
          : `keep blue ${args.keepBlueMs} ms`;
    reporter.message(
      `${args.strategy} deploy of ${args.version} on ${args.runtime} (${detail}, drain timeout ${args.drainTimeoutMs} ms, health timeout ${args.healthTimeoutMs} ms) via ${lb.baseUrl}`,
    );
  }
  // A deploy writes a receipt and shows on the dashboard; status, recover and rollback do not.
  const receipt =
    args.command === 'deploy'
      ? await openCliReceipt({ strategy: args.strategy, version: args.version, runtimeKind: args.runtime, stateFile: args.state, receipt: receiptArgs, lb, runtime, clock: realClock, console: reporter })
      : undefined;
  const interrupts = new Interrupts((l) => reporter.message(l));
  interrupts.start();
  const result = await runDeployCommand({
    args,
    lb,
    runtime,
    clock: realClock,
    reporter: receipt?.reporter ?? reporter,
    holder: { host: os.hostname(), pid: process.pid, user: userName() },
    isAlive,
    interrupts,
  });
  if (result.report) {
    progress(formatReport(result.report));
    await receipt?.close(result.report);
  } else if (result.repair) {
    for (const p of result.repair.problems) progress(`  ! ${p}`);
  }
  progress(`${args.command === 'recover' ? 'recover' : 'deploy'}: ${result.summary} (exit ${result.exitCode})`);
  if (args.json) writeJson({ command: args.command, exitCode: result.exitCode, summary: result.summary, found: result.found ?? null, ...(result.report ?? {}), repair: result.report?.repair ?? result.repair ?? null });
  interrupts.stop();
  process.exit(result.exitCode);
}

function userName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

main().catch((err) => fail(`unexpected failure: ${err instanceof Error ? err.message : String(err)}`, EXIT.NEEDS_OPERATOR));
