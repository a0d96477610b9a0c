import { ExperimentLoad } from './experiment-load';
import { tally, type FailureTally } from './failure-causes';

export interface MeasureOptions {
  /** GET rate (POSTs are a tenth of it; 2 s GETs and 2 s POSTs are always 5/s each). */
  rate: number;
  /** Load before the deploy begins, so connections are pooled and 2 s requests are in flight. */
  warmupMs: number;
  /** Load after the deploy ends, so requests sent to the new instances are counted too. */
  tailMs: number;
}

export const DEFAULT_MEASURE: MeasureOptions = { rate: 200, warmupMs: 2500, tailMs: 1500 };

export interface DeployOutcome {
  ok: boolean;
  durationMs: number;
  error?: string;
}

export interface RunResult {
  tally: FailureTally;
  deploy: DeployOutcome;
  /** Requests the balancer retried on another upstream (from its log), when the runtime can read it. */
  retries?: number;
  /**
   * Times the balancer took an instance out because its health check timed out (from its log): on an
   * overloaded machine, the instance left carrying all the traffic can miss its 500 ms pings.
   */
  pingTimeouts?: number;
}

/** Drives the load, runs `deploy` under it, and tallies what the load checker saw. */
export async function measureDeploy(lbUrl: string, o: MeasureOptions, deploy: () => Promise<DeployOutcome>): Promise<Omit<RunResult, 'retries'>> {
  const load = new ExperimentLoad(lbUrl, o.rate);
  load.start();
  await sleep(o.warmupMs);
  // A deploy that throws is a result of the row too (nothing else here can throw).
  const outcome = await deploy().catch((err: Error): DeployOutcome => ({ ok: false, durationMs: 0, error: err.message }));
  await sleep(o.tailMs);
  return { tally: tally(await load.stop()), deploy: outcome };
}

/** What the balancer's log (JSON lines) says about a run: retries, and instances taken out for ping timeouts. */
export function readLbLog(log: string): { retries: number; pingTimeouts: number } {
  let retries = 0;
  let pingTimeouts = 0;
  for (const line of log.split('\n')) {
    if (line.includes('"msg":"retrying on next upstream"')) retries++;
    else if (line.includes('"msg":"upstream state"') && line.includes('"to":"unhealthy"') && /"reason":"GET [^"]* timed out/.test(line)) pingTimeouts++;
  }
  return { retries, pingTimeouts };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
