import cluster from 'node:cluster';
import fs from 'node:fs';
import { AdminTokenFileError, loadOrCreateAdminToken } from './admin/admin-token';
import { LbArgsError, lbUsage, parseLbArgs } from './cli/parse-lb-args';
import { runWorker } from './cluster/lb-worker';
import { ConfigError } from './config/config-error';
import { loadConfig } from './config/load-config';
import { installCrashGuard } from './crash-guard';
import { LAB_SWITCHES_ENV, LabSwitchError, parseLabSwitches } from './lab-switches';
import { LoadBalancer } from './lb-server';
import { createLogger, type LogLevel } from './logger';

function fail(message: string): never {
  process.stderr.write(`lb: ${message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseLbArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof LbArgsError) fail(`${err.message}\n${lbUsage()}`);
    throw err;
  }
  if (args.help) {
    process.stdout.write(lbUsage() + '\n');
    process.exit(0);
  }
  const log = createLogger((process.env.LOG_LEVEL as LogLevel) || 'info');
  let config;
  try {
    config = loadConfig(args.config ?? (process.env.LB_CONFIG || undefined));
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  installCrashGuard(log);
  // No LB_ADMIN_TOKEN but a token file: read it, or generate it at the first start (never logged).
  if (config.admin.enabled && !config.admin.token && config.admin.tokenFile) {
    try {
      const { token, created } = loadOrCreateAdminToken(config.admin.tokenFile);
      config = { ...config, admin: { ...config.admin, token } };
      log.info(created ? 'admin token generated' : 'admin token read', { file: config.admin.tokenFile });
    } catch (err) {
      if (err instanceof AdminTokenFileError) fail(err.message);
      throw err;
    }
  }
  if (config.admin.enabled && !config.admin.registrationToken && config.admin.registrationTokenFile) {
    const file = config.admin.registrationTokenFile;
    let token = '';
    try {
      token = fs.readFileSync(file, 'utf8').trim();
    } catch (err) {
      fail(`admin.registrationTokenFile: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (!token) fail(`admin.registrationTokenFile: ${file} is empty`);
    config = { ...config, admin: { ...config.admin, registrationToken: token } };
  }
  if (config.admin.token && config.admin.token === config.admin.registrationToken) {
    fail('the registration token must differ from the admin token (instances get the registration token; it must not open the admin API)');
  }
  let lab;
  try {
    lab = parseLabSwitches(process.env[LAB_SWITCHES_ENV]);
  } catch (err) {
    if (err instanceof LabSwitchError) fail(err.message);
    throw err;
  }
  if (lab.size > 0) {
    const off = [...lab].join(', ');
    log.warn(`LAB SWITCH: ${off} switched OFF (${LAB_SWITCHES_ENV}); this balancer WILL fail requests during deploys. For experiments only, never in production.`, { disabled: [...lab] });
    process.stderr.write(`lb: WARNING: lab switch ${LAB_SWITCHES_ENV}=${[...lab].join(',')}: ${off} OFF; requests will fail during deploys (experiment only)\n`);
  }
  const lb = new LoadBalancer(config, { log });
  try {
    await lb.start();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    fail(`cannot start: ${e.message}`);
  }
  const onSignal = (signal: NodeJS.Signals) => {
    log.info('signal received, shutting down', { signal });
    lb.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

// A cluster worker gets its config and routing state from the primary (see cluster/lb-worker.ts).
if (cluster.isWorker) runWorker((n) => createLogger((process.env.LOG_LEVEL as LogLevel) || 'info', undefined, `lb-worker-${n}`));
else main().catch((err) => {
  process.stderr.write(`lb: unexpected failure: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
