/** One request's result, as the load checker records it. */
export interface Outcome {
  /** Milliseconds since the run started, when the request was sent. */
  sentAt: number;
  latencyMs: number;
  /** HTTP status, or 0 when no response arrived. */
  status: number;
  /** Error code when no response arrived (ECONNRESET, TIMEOUT, ...). */
  error?: string;
  version?: string;
  instance?: string;
  /** The `code` of a JSON error body (the balancer's LB_UPSTREAM_RESET, LB_NO_UPSTREAM...): why it failed. */
  code?: string;
  method: string;
  /** The sticky user key the request carried, if any. */
  user?: string;
  /** The response headers named in LoadCheckerOptions.recordHeaders that the response carried. */
  headers?: Record<string, string>;
}

export const isFailure = (o: Outcome): boolean => o.status === 0 || o.status >= 500;
