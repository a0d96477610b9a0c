#!/usr/bin/env node
import fs from 'node:fs';
import path from 'node:path';
import { ConsoleReporter, formatReport } from './cli/console-reporter';
import { type CliArgs, parseArgs, USAGE } from './cli/parse-args';
import { realClock } from './clock';
import { DeployError } from './lb-client/deploy-error';
import { HttpLbAdmin } from './lb-client/http-lb-admin';
import { composeTokenFile, resolveAdminToken } from './lb-client/resolve-admin-token';
import { execRunner } from './runtime/command-runner';
import { COMPOSE_PASSTHROUGH_ENV, ComposeRuntime } from './runtime/compose-runtime';
import { LocalRuntime } from './runtime/local-runtime';
import { LocalStateFile } from './runtime/local-state';
import type { Runtime } from './runtime/runtime';
import { DeployContext } from './strategies/deploy-context';
import { blueGreenDeploy, blueGreenRollback } from './strategies/blue-green-deploy';
import { canaryDeploy } from './strategies/canary-deploy';
import { rollingDeploy } from './strategies/rolling-deploy';
import { openCliReceipt } from './receipt/cli-receipt';
import { RECEIPT_USAGE, type ReceiptArgs, takeReceiptArgs } from './receipt/receipt-args';

function fail(message: string, code = 1): never {
  process.stderr.write(`deploy: ${message}\n`);
  process.exit(code);
}

function setup(args: CliArgs): { runtime: Runtime; lb: HttpLbAdmin } {
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
  if (unsupported.length > 0) {
    throw new DeployError('DEPLOY_ERR_ARGS', `--env: ${unsupported.join(', ')} not passed to compose containers (supported: ${COMPOSE_PASSTHROUGH_ENV.join(', ')})`);
  }
  const { token } = resolveAdminToken({ flag: args.token, env: process.env.LB_ADMIN_TOKEN, envFile, tokenFile: composeTokenFile(path.dirname(composeFile), args.project ?? process.env.COMPOSE_PROJECT_NAME ?? 'zdl') });
  const runtime = new ComposeRuntime(
    { project: args.project ?? process.env.COMPOSE_PROJECT_NAME ?? 'zdl', composeFile, envFile, services: args.services },
    execRunner,
  );
  return { runtime, lb: new HttpLbAdmin(args.adminUrl ?? 'http://127.0.0.1:8090', token) };
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n${RECEIPT_USAGE}\n`);
    process.exit(0);
  }
  let args: CliArgs;
  let receiptArgs: ReceiptArgs;
  try {
    const taken = takeReceiptArgs(process.argv.slice(2));
    receiptArgs = taken.receipt;
    args = parseArgs(taken.rest);
  } catch (err) {
    if (err instanceof DeployError) fail(`${err.message}\n\n${USAGE}`, 2);
    throw err;
  }
  let runtime: Runtime;
  let lb: HttpLbAdmin;
  try {
    ({ runtime, lb } = setup(args));
    // Nothing changes before we know the balancer answers and accepts our token.
    await lb.list();
  } catch (err) {
    if (err instanceof DeployError) fail(`${err.message}\nnothing was changed`, err.code === 'DEPLOY_ERR_ARGS' ? 2 : 1);
    throw err;
  }
  const reporter = new ConsoleReporter();
  if (!args.rollback) {
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
  const receipt = args.rollback ? undefined : await openCliReceipt({ ...args, runtimeKind: args.runtime, stateFile: args.state, receipt: receiptArgs, lb, runtime, clock: realClock, console: reporter });
  const ctx = new DeployContext(lb, runtime, realClock, receipt?.reporter ?? reporter);
  if (args.rollback) {
    try {
      reporter.message(await blueGreenRollback(ctx));
      process.exit(0);
    } catch (err) {
      fail((err as Error).message);
    }
  }
  const base = {
    version: args.version,
    batchSize: args.batchSize,
    drainTimeoutMs: args.drainTimeoutMs,
    healthTimeoutMs: args.healthTimeoutMs,
    pauseMs: args.pauseMs,
    surge: args.surge,
    env: args.env,
  };
  const report =
    args.strategy === 'blue-green'
      ? await blueGreenDeploy(ctx, { ...base, keepBlueMs: args.keepBlueMs })
      : args.strategy === 'canary'
        ? await canaryDeploy(ctx, {
            ...base,
            steps: args.canarySteps,
            stepDurationMs: args.stepDurationMs,
            stepRequests: args.stepRequests,
            analysisIntervalMs: args.analysisIntervalMs,
            canaryInstances: args.canaryInstances,
            thresholds: { maxErrorRateIncrease: args.maxErrorRate, maxP99Ratio: args.maxP99Ratio, p99SlackMs: args.p99SlackMs, minRequests: args.minRequests },
          })
        : await rollingDeploy(ctx, base);
  process.stdout.write(formatReport(report) + '\n');
  await receipt?.close(report);
  if (args.json) {
    const text = JSON.stringify(report, null, 2) + '\n';
    if (args.json === '-') process.stdout.write(text);
    else fs.writeFileSync(args.json, text);
  }
  process.exit(report.ok ? 0 : 1);
}

main().catch((err) => fail(`unexpected failure: ${err instanceof Error ? err.message : String(err)}`));
