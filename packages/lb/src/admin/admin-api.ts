import crypto from 'node:crypto';
import express, { type Express, type NextFunction, type Request, type Response, type Router } from 'express';
import type { z } from 'zod';
import { addUpstreamBody, patchUpstreamBody, putSplitBody, waitMsParam } from '../config/admin-schemas';
import { formatIssues } from '../config/rules';
import { createDashboardRouter } from '../dashboard/dashboard-router';
import type { DashboardSource } from '../dashboard/dashboard-source';
import { AdminError, type AdminOperations } from './admin-operations';
import { healthReport } from './health-report';
import { createDeployRoutes, type DeployRoutesOptions } from './lock-routes';

/** What the admin port serves besides the routing operations. */
export interface AdminApiExtras {
  /** The live dashboard's read-only view of the balancer (no dashboard without it). */
  dashboard?: DashboardSource;
  /** The deploy lock, journal and pages (defaults: a fresh lock, the dashboard as the one page). */
  deploy?: DeployRoutesOptions;
  /**
   * Self-registration (registration/registration-routes): mounted before the admin token's check,
   * as the only place the registration token is accepted; with that token every other route is 403.
   */
  registration?: { token?: string; routes: Router };
}

/**
 * The admin API: list, drain, enable, disable, add and remove upstreams, set the traffic split.
 * Every request needs `Authorization: Bearer <token>`; with no token configured, every request is
 * refused. Bodies are validated by the package's schema (config/admin-schemas) before anything is
 * applied; state changes go through the narrow AdminOperations, which refuse conflicting ones.
 */
export function createAdminApi(ops: AdminOperations, token: string | undefined, extras: AdminApiExtras = {}): Express {
  const app = express();
  app.disable('x-powered-by');
  // The dashboard has its own login (cookie or bearer) and must not refresh stats per request.
  if (extras.dashboard) app.use('/dashboard', createDashboardRouter(extras.dashboard, token));
  if (extras.registration) app.use(extras.registration.routes);
  app.use(auth(token, extras.registration?.token));
  app.use(express.json({ limit: '64kb' }));
  // A body that is not JSON would otherwise be ignored and the call answered 200 having done nothing.
  app.use((req, res, next) => {
    const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
    if (hasBody && !req.is('application/json')) {
      res.status(415).json({ error: 'expected a JSON body (content-type: application/json)', code: 'LB_ADMIN_UNSUPPORTED_MEDIA_TYPE' });
      return;
    }
    next();
  });
  // Deploy lock, journal, activity and the pages this API serves (lock-routes.ts); `deploy status`
  // turns a page's path into its login URL with the deployer's own token (the balancer never shows it).
  app.use(createDeployRoutes(extras.deploy ?? { pages: () => (extras.dashboard ? [{ name: 'dashboard', url: '/dashboard' }] : []) }));
  // In cluster mode the counters live in the workers: gather them before answering.
  app.use((_req, _res, next) => {
    ops.refreshStats().then(() => next(), next);
  });

  const name = (req: Request) => String(req.params.name);
  const wait = (req: Request) => parse(waitMsParam, req.query.waitMs ?? (req.body as { waitMs?: unknown } | undefined)?.waitMs, ['waitMs']);

  app.get('/upstreams', (_req, res) => {
    res.json(ops.list());
  });

  // What is wrong, if anything: nothing in rotation, a DNS entry that does not resolve (with the resolver's error).
  app.get('/health', (_req, res) => {
    res.json(healthReport(ops.list()));
  });

  app.get('/upstreams/:name', (req, res) => {
    res.json(ops.get(name(req)));
  });

  app.post('/upstreams', (req, res) => {
    const body = parse(addUpstreamBody, req.body ?? {});
    const spec = {
      url: body.url.url,
      name: body.name ?? body.url.name,
      ...(body.group !== undefined ? { group: body.group } : {}),
      ...(body.weight !== undefined ? { weight: body.weight } : {}),
      ...(body.version !== undefined ? { version: body.version } : {}),
    };
    res.status(201).json(ops.add(spec, body.enabled !== false));
  });

  app.patch('/upstreams/:name', (req, res) => {
    res.json(ops.update(name(req), parse(patchUpstreamBody, req.body ?? {})));
  });

  app.get('/split', (_req, res) => {
    res.json(ops.getSplit());
  });

  // One call switches all traffic: blue/green's atomic swap, each canary step.
  app.put('/split', (req, res) => {
    res.json(ops.setSplit(parse(putSplitBody, req.body ?? {}).groups));
  });

  app.delete('/split', (_req, res) => {
    res.json(ops.setSplit(undefined));
  });

  app.get('/metrics', async (_req, res, next) => {
    try {
      res.type('text/plain; version=0.0.4').send(await ops.metricsText());
    } catch (err) {
      next(err);
    }
  });

  app.post('/upstreams/:name/drain', async (req, res, next) => {
    try {
      res.json(await ops.drain(name(req), wait(req)));
    } catch (err) {
      next(err);
    }
  });

  app.post('/upstreams/:name/enable', (req, res) => {
    res.json(ops.enable(name(req)));
  });

  app.post('/upstreams/:name/disable', (req, res) => {
    res.json(ops.disable(name(req)));
  });

  app.delete('/upstreams/:name', async (req, res, next) => {
    try {
      res.json(await ops.remove(name(req), wait(req)));
    } catch (err) {
      next(err);
    }
  });

  app.use((_req, res) => {
    res.status(404).json({ error: 'no such admin endpoint', code: 'LB_ADMIN_NOT_FOUND' });
  });
  // Refusals, malformed JSON and other request errors: their status and reason, never a stack trace.
  app.use((err: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof AdminError) {
      res.status(err.status).json({ error: err.message, code: err.code, ...err.details });
      return;
    }
    const status = err.status && err.status >= 400 && err.status < 500 ? err.status : 500;
    res.status(status).json({ error: status === 500 ? 'internal error' : err.message, code: status === 500 ? 'LB_ADMIN_INTERNAL' : 'LB_ADMIN_BAD_REQUEST' });
  });
  return app;
}

/** Parses with a schema; a failure is a 400 listing every problem with its path. */
function parse<S extends z.ZodTypeAny>(schema: S, value: unknown, path: (string | number)[] = []): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data as z.output<S>;
  const problems = formatIssues(r.error, path).map((p) => (p.startsWith('(root)') ? p.replace('(root)', 'body') : p));
  throw new AdminError(400, 'LB_ADMIN_BAD_REQUEST', problems.join('; '), { problems });
}

function auth(token: string | undefined, registrationToken?: string) {
  const expected = token ? Buffer.from(`Bearer ${token}`) : undefined;
  const registration = registrationToken ? Buffer.from(`Bearer ${registrationToken}`) : undefined;
  const matches = (given: Buffer, wanted: Buffer | undefined) => wanted !== undefined && given.length === wanted.length && crypto.timingSafeEqual(given, wanted);
  return (req: Request, res: Response, next: NextFunction) => {
    const given = Buffer.from(req.headers.authorization ?? '');
    // Authenticated, but not for this: an instance's token never changes routing beyond its own entry.
    if (matches(given, registration)) {
      res.status(403).json({ error: 'the registration token can only manage its own registration', code: 'LB_ADMIN_FORBIDDEN' });
      return;
    }
    if (!expected) {
      res.status(401).json({ error: 'the admin API has no token configured; set LB_ADMIN_TOKEN', code: 'LB_ADMIN_NO_TOKEN' });
      return;
    }
    if (!matches(given, expected)) {
      res.status(401).set('www-authenticate', 'Bearer').json({ error: 'missing or wrong bearer token', code: 'LB_ADMIN_UNAUTHORIZED' });
      return;
    }
    next();
  };
}
