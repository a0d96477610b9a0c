import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatSummary, LoadChecker, summarize } from '@zdl/loadcheck';
import { ConsoleReporter, formatReport } from './cli/console-reporter';
import { realClock } from './clock';
import { HttpLbAdmin } from './lb-client/http-lb-admin';
import { LocalLab } from './local-lab';
import { DEFAULT_DEPLOY_OPTIONS, DeployContext } from './strategies/deploy-context';
import { DEFAULT_THRESHOLDS } from './analysis/canary-analysis';
import { DEPLOY_DEFAULTS } from './deploy-defaults';
import type { DeployReport } from './deploy-report';
import { blueGreenDeploy } from './strategies/blue-green-deploy';
import { canaryDeploy } from './strategies/canary-deploy';
import { rollingDeploy } from './strategies/rolling-deploy';
import { composeReporters } from './receipt/compose-reporters';
import { DEFAULT_RECEIPT_DIR } from './receipt/receipt-args';
import { ReceiptSession } from './receipt/receipt-session';
import { lingerSeconds, waitForEnterOrTimeout } from './receipt/linger';

type Strategy = 'rolling' | 'blue-green' | 'canary';

function parseStrategy(argv: string[]): Strategy {
  let strategy: Strategy = 'rolling';
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    if (flag !== '--strategy') {
      process.stderr.write(`demo: unknown argument "${argv[i]}"\nusage: npm run demo [-- --strategy rolling|blue-green|canary]\n`);
      process.exit(2);
    }
    const v = inline ?? argv[++i];
    if (v !== 'rolling' && v !== 'blue-green' && v !== 'canary') {
      process.stderr.write(`demo: --strategy: expected rolling, blue-green or canary, got "${v ?? ''}"\n`);
      process.exit(2);
    }
    strategy = v;
  }
  return strategy;
}

/**
 * npm run demo [-- --strategy rolling|blue-green|canary]: the whole story without Docker. Starts the balancer and two instances as local
 * processes, drives load (GETs, POSTs with JSON bodies, 2 s requests), deploys v1 → v2, prints what the
 * load saw, stops everything, and exits 0 only if not one request failed.
 */
async function main(): Promise<void> {
  const strategy = parseStrategy(process.argv.slice(2));
  const rate = Number(process.env.DEMO_RATE ?? 200);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zdl-demo-'));
  const lab = new LocalLab({ dir });
  const say = (s: string) => process.stdout.write(s + '\n');
  let exitCode = 1;
  const onSignal = () => void lab.stop().then(() => process.exit(130));
  // A closed stdout (demo | head) must not crash the demo and leave the lab running.
  process.stdout.on('error', () => {});
  process.once('exit', () => lab.killAllSync());
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    say('starting the balancer and two instances of v1 (local processes)...');
    await lab.start();
    const lb = new HttpLbAdmin(lab.adminUrl, lab.state.adminToken);
    while ((await lb.list()).some((u) => u.state !== 'healthy')) await realClock.sleep(50);
    say(`balancer on ${lab.lbUrl}, admin API on ${lab.adminUrl} (logs in ${dir}/logs)`);
    say(`dashboard (open it now to watch the deploy): ${lb.dashboardLoginUrl()}`);
    const loads = {
      'GET /api': new LoadChecker({ url: `${lab.lbUrl}/api`, rate }),
      'POST /api (JSON)': new LoadChecker({ url: `${lab.lbUrl}/api`, rate: Math.max(1, rate / 10), method: 'POST', body: { order: 1 } }),
      'GET /api?delayMs=2000': new LoadChecker({ url: `${lab.lbUrl}/api?delayMs=2000`, rate: 5 }),
    };
    Object.values(loads).forEach((l) => l.start());
    say(`load: ${rate} GET/s, ${Math.max(1, rate / 10)} POST/s, 5 slow (2 s) GET/s over keep-alive connections`);
    await realClock.sleep(2000);
    say(`${strategy} deploy of v2:`);
    const session = await ReceiptSession.start({
      lb,
      runtime: lab.runtime(),
      clock: realClock,
      strategy,
      version: 'v2',
      receiptDir: path.resolve(process.env.DEMO_RECEIPT_DIR ?? DEFAULT_RECEIPT_DIR),
      probe: { rate: 20, url: lab.lbUrl },
    });
    const ctx = new DeployContext(lb, lab.runtime(), realClock, composeReporters(new ConsoleReporter(), session.reporter));
    const options = { ...DEFAULT_DEPLOY_OPTIONS, version: 'v2' };
    let report: DeployReport;
    if (strategy === 'blue-green') report = await blueGreenDeploy(ctx, { ...options, keepBlueMs: DEPLOY_DEFAULTS.keepBlueMs });
    else if (strategy === 'canary') {
      report = await canaryDeploy(ctx, {
        ...options,
        steps: [...DEPLOY_DEFAULTS.canarySteps],
        // Shorter than the default step (30 s) so the demo ends in seconds.
        stepDurationMs: 4000,
        stepRequests: DEPLOY_DEFAULTS.stepRequests,
        analysisIntervalMs: DEPLOY_DEFAULTS.analysisIntervalMs,
        thresholds: DEFAULT_THRESHOLDS,
        canaryInstances: DEPLOY_DEFAULTS.canaryInstances,
      });
    } else report = await rollingDeploy(ctx, options);
    say(formatReport(report));
    await realClock.sleep(2000);
    const { dir: receiptDir } = await session.finish(report);
    let failed = 0;
    for (const [name, l] of Object.entries(loads)) {
      const s = summarize(await l.stop());
      failed += s.failed;
      say(`\n${name}\n${formatSummary(s).replace(/^/gm, '  ')}`);
    }
    say(failed === 0 && report.ok ? '\nzero failed requests during the deploy' : `\n${failed} failed request(s); deploy ${report.ok ? 'done' : 'FAILED'}`);
    exitCode = failed === 0 && report.ok ? 0 : 1;
    if (receiptDir) say(`\nreceipt: ${path.join(receiptDir, 'receipt.html')}`);
    say(`dashboard: ${lb.dashboardLoginUrl()}`);
    // In a terminal, keep the lab up a little so the dashboard can be looked at; never in CI or a pipe.
    const linger = lingerSeconds(process.env, process.stdout.isTTY === true && process.stdin.isTTY === true);
    if (linger > 0) {
      say(`the lab stays up for ${linger} s (Enter stops it now)...`);
      await waitForEnterOrTimeout(linger * 1000);
    }
  } finally {
    await lab.stop();
  }
  process.exit(exitCode);
}

main().catch((err) => {
  process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
