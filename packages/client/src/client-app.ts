import express, { type Express } from 'express';
import type { ClientConfig } from './client-config';

/** What the app needs to know about its own lifecycle; owned by the server around it. */
export interface Lifecycle {
  readonly shuttingDown: boolean;
  /** Called for every request except /ping, so the drain can tell when traffic has stopped. */
  noteRequest(): void;
}

export interface ClientAppDeps {
  now?: () => number;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** The `/events` Server-Sent Events handler (LongLivedEndpoints.events); 404 without one. */
  events?: (req: express.Request, res: express.Response) => void;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The demo service: /ping for the balancer's health checks and /api, which says who answered.
 * LATENCY_MS, FAIL_RATE and STARTUP_DELAY_MS turn it into a slow, broken or slow-booting version.
 */
export function createClientApp(config: ClientConfig, lifecycle: Lifecycle, deps: ClientAppDeps = {}): Express {
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const sleep = deps.sleep ?? defaultSleep;
  const startedAt = now();
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/ping', (_req, res) => {
    res.set('cache-control', 'no-store');
    if (lifecycle.shuttingDown) {
      res.status(503).json({ status: 'shutting-down', instance: config.instance });
    } else if (now() - startedAt < config.startupDelayMs) {
      res.status(503).json({ status: 'starting', instance: config.instance });
    } else {
      res.json({ status: 'ok', instance: config.instance, version: config.version });
    }
  });

  app.use((_req, _res, next) => {
    lifecycle.noteRequest();
    next();
  });

  const api = async (req: express.Request, res: express.Response) => {
    // ?delayMs= makes one request slow (long requests in flight during a deploy); LATENCY_MS makes all slow.
    const delay = config.latencyMs + requestDelay(req.query.delayMs);
    if (delay > 0) await sleep(delay);
    const body = {
      version: config.version,
      instance: config.instance,
      time: new Date(now()).toISOString(),
      method: req.method,
      path: req.originalUrl,
      ...(req.body !== undefined ? { received: req.body } : {}),
    };
    if (config.failRate > 0 && random() < config.failRate) {
      res.status(500).json({ error: 'injected failure (FAIL_RATE)', version: config.version, instance: config.instance });
      return;
    }
    res.json(body);
  };
  if (deps.events) app.get('/events', deps.events);

  // The same answer for every method, so POSTs with JSON bodies can be proxied and checked too.
  app.all(['/api', '/api/*rest'], express.json({ limit: '1mb' }), (req, res, next) => {
    api(req, res).catch(next);
  });

  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  return app;
}

const MAX_REQUEST_DELAY_MS = 60_000;

function requestDelay(raw: unknown): number {
  const n = Number(raw);
  return Number.isFinite(n) && n > 0 ? Math.min(n, MAX_REQUEST_DELAY_MS) : 0;
}
