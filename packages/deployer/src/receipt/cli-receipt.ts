import fs from 'node:fs';
import path from 'node:path';
import type { Clock } from '../clock';
import type { DeployReport, Reporter } from '../deploy-report';
import type { HttpLbAdmin } from '../lb-client/http-lb-admin';
import { LocalStateFile } from '../runtime/local-state';
import type { Runtime } from '../runtime/runtime';
import { composeReporters } from './compose-reporters';
import type { ReceiptArgs } from './receipt-args';
import { ReceiptSession } from './receipt-session';

/** The balancer's traffic URL for --probe: the local lab's port, or compose's published 8080. */
function probeUrl(receipt: ReceiptArgs, runtime: string, stateFile: string): string {
  if (receipt.probeUrl) return receipt.probeUrl;
  if (runtime === 'local' && fs.existsSync(stateFile)) return `http://127.0.0.1:${new LocalStateFile(stateFile).read().lb.port}`;
  return 'http://127.0.0.1:8080';
}

/**
 * The CLI's hook: starts the receipt session (timeline, recorder, probe) and gives back the
 * reporter to deploy with and what to do with the report. Prints the dashboard's login URL first.
 */
export async function openCliReceipt(o: {
  strategy: string;
  version: string;
  runtimeKind: string;
  stateFile: string;
  receipt: ReceiptArgs;
  lb: HttpLbAdmin;
  runtime: Runtime;
  clock: Clock;
  console: Reporter;
}): Promise<{ reporter: Reporter; close(report: DeployReport): Promise<void> }> {
  const session = await ReceiptSession.start({
    lb: o.lb,
    runtime: o.runtime,
    clock: o.clock,
    strategy: o.strategy,
    version: o.version,
    receiptDir: o.receipt.receiptDir,
    ...(o.receipt.probeRate > 0 ? { probe: { rate: o.receipt.probeRate, url: probeUrl(o.receipt, o.runtimeKind, path.resolve(o.stateFile)) } } : {}),
  });
  o.console.message(`watch it live: ${o.lb.dashboardLoginUrl()}`);
  return {
    reporter: composeReporters(o.console, session.reporter),
    async close(report) {
      try {
        const { receipt, dir } = await session.finish(report);
        const r = receipt.requests;
        const probe = receipt.probe ? `; probe: ${receipt.probe.failed} failed of ${receipt.probe.sent}, p99 ${receipt.probe.p99Ms.toFixed(1)} ms` : '';
        o.console.message(`balancer during the deploy: ${r.total} requests, ${r.failed} failed (${r.balancer5xx} balancer 5xx, ${r.upstream5xx} upstream 5xx), ${r.retries} retried, ${r.clientAborts} client aborts${probe}`);
        if (dir) o.console.message(`receipt: ${path.join(dir, 'receipt.html')}`);
      } catch (err) {
        session.abandon();
        o.console.message(`receipt: not written (${(err as Error).message})`);
      }
    },
  };
}
