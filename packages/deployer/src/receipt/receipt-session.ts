import { LoadChecker, summarize } from '@zdl/loadcheck';
import type { Clock } from '../clock';
import type { DeployReport, Reporter } from '../deploy-report';
import type { UpstreamStatus } from '../lb-client/lb-admin';
import type { Runtime } from '../runtime/runtime';
import { buildReceipt, type ProbeResult, type Receipt } from './build-receipt';
import { composeReporters } from './compose-reporters';
import { ReceiptRecorder } from './receipt-recorder';
import { type PostTimeline, TimelineReporter } from './timeline-reporter';
import { receiptId, writeReceipt } from './write-receipt';

/** The balancer as the session needs it (HttpLbAdmin). */
export interface SessionBalancer {
  readonly baseUrl: string;
  list(): Promise<UpstreamStatus[]>;
  metrics(): Promise<string>;
  patch(name: string, change: { version?: string }): Promise<unknown>;
  postTimeline: PostTimeline;
}

export interface ReceiptSessionOptions {
  lb: SessionBalancer;
  runtime: Runtime;
  clock: Clock;
  strategy: string;
  version: string;
  /** Parent folder for the receipt; null writes none (the timeline is still posted). */
  receiptDir: string | null;
  /** Drive the load checker at this rate through `probeUrl` during the deploy. */
  probe?: { rate: number; url: string };
}

/**
 * Everything around one deploy that is for people: tells the balancer each instance's version,
 * posts the steps to the dashboard's timeline, records the balancer's counters, optionally drives
 * a probe, and at the end writes the receipt. Nothing here can fail the deploy itself.
 */
export class ReceiptSession {
  readonly reporter: Reporter;
  readonly id: string;
  private readonly timeline: TimelineReporter;
  private readonly recorder: ReceiptRecorder;
  private probe?: LoadChecker;

  private constructor(private readonly o: ReceiptSessionOptions) {
    this.id = receiptId(new Date(o.clock.now()), o.strategy, o.version);
    this.timeline = new TimelineReporter(o.lb.postTimeline, this.id);
    this.recorder = new ReceiptRecorder(o.lb, o.clock);
    this.reporter = composeReporters(this.timeline, this.recorder);
  }

  static async start(o: ReceiptSessionOptions): Promise<ReceiptSession> {
    const s = new ReceiptSession(o);
    const instances = await o.runtime.list().catch(() => []);
    // The deployer knows what each instance runs; the balancer shows it (dashboard, receipt).
    await Promise.all(instances.map((i) => o.lb.patch(i.name, { version: i.version }).catch(() => undefined)));
    if (o.probe) {
      s.probe = new LoadChecker({ url: `${o.probe.url}/api`, rate: o.probe.rate });
      s.probe.start();
    }
    await s.recorder.start();
    s.timeline.begin({ strategy: o.strategy, from: [...new Set(instances.map((i) => i.version))].join(', ') || undefined, to: o.version });
    return s;
  }

  /** Ends the timeline and writes the receipt; returns it and its folder (undefined with --no-receipt). */
  async finish(report: DeployReport): Promise<{ receipt: Receipt; dir?: string }> {
    let probe: ProbeResult | undefined;
    if (this.probe && this.o.probe) {
      const s = summarize(await this.probe.stop());
      probe = { url: `${this.o.probe.url}/api`, rate: this.o.probe.rate, sent: s.sent, succeeded: s.succeeded, failed: s.failed, failedByCause: s.failedByCause, p50Ms: s.p50Ms, p99Ms: s.p99Ms, maxMs: s.maxMs, byVersion: s.byVersion };
    }
    const recording = await this.recorder.stop();
    const failed = report.error ? `FAILED (${report.error.code}): ${report.error.message}` : report.ok ? 'done' : 'FAILED';
    await this.timeline.end(report.ok, `${report.strategy} deploy of ${report.version}: ${failed}`);
    const receipt = buildReceipt({ id: this.id, report, recording, adminUrl: this.o.lb.baseUrl, probe, timelinePostsFailed: this.timeline.failedPosts });
    const dir = this.o.receiptDir ? writeReceipt(this.o.receiptDir, receipt) : undefined;
    return { receipt, dir };
  }

  /** The deploy ended without a report (crash, signal): stop the probe and the heartbeat. */
  abandon(): void {
    this.timeline.close();
    void this.probe?.stop();
  }
}
