import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { realTimers } from '../health/health-checker';
import { readCookie } from '../proxy/read-cookie';
import { DashboardHub } from './dashboard-hub';
import type { DashboardSource } from './dashboard-source';
import { type TimelineEvent, timelineEventProblems } from './deploy-timeline';

export { lbDashboardSource } from './dashboard-source';

export const DASHBOARD_COOKIE = 'zdl_dashboard';
/** The page and its script, served as they are (packages/lb/dashboard, beside dist/ and src/). */
export const DEFAULT_ASSETS_DIR = path.join(__dirname, '..', '..', 'dashboard');
const ASSETS: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};
const SESSION_HOURS = 12;

export interface DashboardRouterOptions {
  hub?: DashboardHub;
  assetsDir?: string;
}

/**
 * The dashboard on the admin port (mounted at /dashboard, before the admin API's bearer check):
 *
 *   GET  /dashboard?token=T    login: sets an HttpOnly, SameSite=Strict cookie, redirects without the token
 *   GET  /dashboard            the page (cookie or bearer token)
 *   GET  /dashboard/app.js|css its static files (cookie or bearer)
 *   GET  /dashboard/events     the Server-Sent Events stream (cookie or bearer; at most maxClients)
 *   GET  /dashboard/state      the same state as JSON, with the chart's history (cookie or bearer)
 *   POST /dashboard/timeline   a deploy step from the deployer (bearer only: a cookie never
 *                              authorizes a write, so a page cannot be made to post)
 *
 * Nothing here changes routing.
 */
export function createDashboardRouter(source: DashboardSource, token: string | undefined, options: DashboardRouterOptions = {}): Router {
  const hub = options.hub ?? new DashboardHub(source, realTimers);
  const assetsDir = options.assetsDir ?? DEFAULT_ASSETS_DIR;
  const bearer = token ? Buffer.from(`Bearer ${token}`) : undefined;
  // The cookie holds a value derived from the token, not the token: reading a cookie jar does not
  // give away the admin token (which can change routing).
  const session = token ? crypto.createHmac('sha256', token).update('zdl-dashboard-session-v1').digest('base64url') : undefined;
  const router = express.Router();

  const hasBearer = (req: Request) => !!bearer && safeEqual(Buffer.from(req.headers.authorization ?? ''), bearer);
  const hasCookie = (req: Request) => {
    const c = readCookie(req.headers.cookie, DASHBOARD_COOKIE);
    return !!session && c !== undefined && safeEqual(Buffer.from(c), Buffer.from(session));
  };
  const reader = (req: Request, res: Response, next: NextFunction) => {
    if (hasCookie(req) || hasBearer(req)) return next();
    refuse(res, !!token);
  };

  router.use((req, res, next) => {
    res.set({
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      // The login URL carries the token: never send it on as a Referer.
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    });
    if (req.method === 'POST' && req.path === '/timeline') return next();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.status(405).set('allow', 'GET').json({ error: 'the dashboard is read-only', code: 'LB_DASHBOARD_READ_ONLY' });
      return;
    }
    next();
  });

  router.get('/', (req, res, next) => {
    const given = req.query.token;
    if (given === undefined) return next();
    if (typeof given !== 'string' || !token || !safeEqual(Buffer.from(given), Buffer.from(token))) {
      refuse(res, !!token);
      return;
    }
    res.cookie(DASHBOARD_COOKIE, session, { httpOnly: true, sameSite: 'strict', path: req.baseUrl || '/', maxAge: SESSION_HOURS * 3600_000 });
    res.redirect(303, req.baseUrl || '/');
  });

  router.get('/', reader, (_req, res) => sendAsset(res, assetsDir, 'index.html', 'text/html; charset=utf-8'));

  router.get('/events', reader, (req, res) => {
    // A HEAD is not a client: it must not take one of the places.
    if (req.method === 'HEAD') {
      res.status(200).type('text/event-stream').end();
      return;
    }
    res.status(200).set({ 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    res.write('retry: 2000\n\n');
    const handle = hub.addClient({
      write: (chunk) => res.write(chunk),
      onDrain: (cb) => res.on('drain', cb),
      close: () => res.destroy(),
    });
    if (!handle) {
      // Headers are sent (an EventSource only reads events): say why, then close.
      res.end(`event: full\ndata: ${JSON.stringify({ error: 'too many dashboard clients', code: 'LB_DASHBOARD_FULL' })}\n\n`);
      return;
    }
    req.on('close', () => handle.remove());
  });

  router.get('/state', reader, (_req, res) => {
    res.json(hub.snapshot());
  });

  router.get('/:file', reader, (req, res) => {
    const file = String(req.params.file);
    const type = ASSETS[file];
    if (!type) {
      res.status(404).json({ error: 'no such dashboard file', code: 'LB_DASHBOARD_NOT_FOUND' });
      return;
    }
    sendAsset(res, assetsDir, file, type);
  });

  router.post('/timeline', (req, res, next) => {
    if (!hasBearer(req)) {
      res.status(401).set('www-authenticate', 'Bearer').json({ error: 'posting to the timeline needs the bearer token', code: 'LB_ADMIN_UNAUTHORIZED' });
      return;
    }
    next();
  }, express.json({ limit: '16kb' }), (req, res) => {
    const problems = timelineEventProblems(req.body);
    if (problems.length > 0) {
      res.status(400).json({ error: problems.join('; '), code: 'LB_ADMIN_BAD_REQUEST' });
      return;
    }
    hub.post(req.body as TimelineEvent);
    res.status(204).end();
  });

  router.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'no such dashboard endpoint', code: 'LB_DASHBOARD_NOT_FOUND' });
  });
  router.use((err: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    const status = err.status && err.status >= 400 && err.status < 500 ? err.status : 500;
    res.status(status).json({ error: status === 500 ? 'internal error' : err.message, code: status === 500 ? 'LB_ADMIN_INTERNAL' : 'LB_ADMIN_BAD_REQUEST' });
  });
  return router;
}

function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

function refuse(res: Response, configured: boolean): void {
  const why = configured
    ? 'Open the login URL printed by "npm run lab", "npm run demo" or "npm run deploy -- status" (it ends in /dashboard?token=…).'
    : 'The admin API has no token configured (LB_ADMIN_TOKEN), so the dashboard refuses everyone.';
  res.status(401).type('text/plain; charset=utf-8').send(`401 Unauthorized: the dashboard needs you to log in.\n${why}\n`);
}

function sendAsset(res: Response, dir: string, file: string, type: string): void {
  fs.readFile(path.join(dir, file), (err, data) => {
    if (err) {
      res.status(500).json({ error: `dashboard file ${file} is missing from ${dir}`, code: 'LB_DASHBOARD_ASSET_MISSING' });
      return;
    }
    res.type(type).send(data);
  });
}
