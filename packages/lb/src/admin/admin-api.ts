import crypto from 'node:crypto';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { type SplitEntry, TrafficSplit } from '../balancing/traffic-split';
import { parseUpstreamUrl } from '../config/parse-upstream-url';
import type { LoadBalancer } from '../lb-server';
import { createDashboardRouter, lbDashboardSource } from '../dashboard/dashboard-router';
import type { Upstream } from '../pool/upstream';
import { createDeployRoutes } from './lock-routes';

const MAX_WAIT_MS = 600_000;

/**
 * The admin API: list, drain, enable, disable, add and remove upstreams. Every request needs
 * `Authorization: Bearer <token>`; with no token configured, every request is refused.
 * Each change is validated completely before anything is applied.
 */
export function createAdminApi(lb: LoadBalancer, token: string | undefined): Express {
  const app = express();
  app.disable('x-powered-by');
  // The dashboard has its own login (cookie or bearer) and must not refresh stats per request.
  app.use('/dashboard', createDashboardRouter(lbDashboardSource(lb), token));
  app.use(auth(token));
  app.use(express.json({ limit: '64kb' }));
  // Deploy lock, journal, activity and the pages this API serves (lock-routes.ts); `deploy status`
  // turns a page's path into its login URL with the deployer's own token (the balancer never shows it).
  app.use(createDeployRoutes({ pages: () => [{ name: 'dashboard', url: '/dashboard' }] }));
  // In cluster mode the counters live in the workers: gather them before answering.
  app.use((_req, _res, next) => {
    lb.refreshStats().then(() => next(), next);
  });

  const find = (req: Request, res: Response): Upstream | undefined => {
    const u = lb.pool.get(String(req.params.name));
    if (!u) res.status(404).json({ error: `unknown upstream "${req.params.name}"`, code: 'LB_ADMIN_UNKNOWN_UPSTREAM', known: lb.pool.all().map((x) => x.name) });
    return u;
  };
  const list = () => ({ inRotation: lb.pool.inRotation.map((u) => u.name), split: lb.pool.split ?? null, upstreams: lb.pool.all().map((u) => u.snapshot()) });

  app.get('/upstreams', (_req, res) => {
    res.json(list());
  });

  app.get('/upstreams/:name', (req, res) => {
    const u = find(req, res);
    if (u) res.json(u.snapshot());
  });

  app.post('/upstreams', (req, res) => {
    const body: unknown = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return bad(res, 'body: expected a JSON object like {"url":"http://host:port"}');
    const { url, name, enabled, group, weight, version, ...rest } = body as Record<string, unknown>;
    const problems = Object.keys(rest).map((k) => `${k}: unknown field (expected url, name, enabled, group, weight, version)`);
    problems.push(...groupWeightProblems(group, weight), ...versionProblems(version));
    const parsed = parseUpstreamUrl(url);
    if ('problem' in parsed) problems.push(`url: ${url === undefined ? 'missing' : parsed.problem}`);
    if (name !== undefined && (typeof name !== 'string' || name === '')) problems.push('name: expected a non-empty string');
    if (enabled !== undefined && typeof enabled !== 'boolean') problems.push('enabled: expected true or false');
    if (problems.length > 0 || 'problem' in parsed) return bad(res, problems.join('; '));
    const finalName = typeof name === 'string' ? name : parsed.name;
    const clash = lb.pool.all().find((u) => u.name === finalName || u.url === parsed.url);
    if (clash) return res.status(409).json({ error: `upstream already exists: ${clash.name} (${clash.url})`, code: 'LB_ADMIN_DUPLICATE' });
    const u = lb.addUpstream(
      { url: parsed.url, name: finalName, ...(typeof group === 'string' ? { group } : {}), ...(typeof weight === 'number' ? { weight } : {}), ...(typeof version === 'string' ? { version } : {}) },
      enabled !== false,
    );
    res.status(201).json(u.snapshot());
  });

  app.patch('/upstreams/:name', (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const { group, weight, version, ...rest } = body;
    const problems = [...Object.keys(rest).map((k) => `${k}: unknown field (expected group, weight, version)`), ...groupWeightProblems(group, weight), ...versionProblems(version)];
    if (problems.length > 0) return bad(res, problems.join('; '));
    const u = find(req, res);
    if (!u) return;
    lb.pool.update(u, { group: group as string | undefined, weight: weight as number | undefined, version: version as string | undefined });
    res.json(u.snapshot());
  });

  app.get('/split', (_req, res) => {
    res.json({ groups: lb.pool.split ?? null });
  });

  // One call switches all traffic: blue/green's atomic swap, each canary step.
  app.put('/split', (req, res) => {
    const groups = (req.body as { groups?: unknown } | undefined)?.groups;
    const problems = TrafficSplit.problems(groups);
    if (problems.length > 0) return bad(res, problems.join('; '));
    lb.setSplit(groups as SplitEntry[]);
    res.json({ groups: lb.pool.split });
  });

  app.delete('/split', (_req, res) => {
    lb.setSplit(undefined);
    res.json({ groups: null });
  });

  app.get('/metrics', async (_req, res, next) => {
    try {
      res.type('text/plain; version=0.0.4').send(await lb.metrics.text());
    } catch (err) {
      next(err);
    }
  });

  app.post('/upstreams/:name/drain', async (req, res, next) => {
    const waitMs = parseWait(req, res);
    if (waitMs === undefined) return;
    const u = find(req, res);
    if (!u) return;
    try {
      const r = await lb.drain(u, waitMs);
      res.json({ ...u.snapshot(), ...r });
    } catch (err) {
      next(err);
    }
  });

  app.post('/upstreams/:name/enable', (req, res) => {
    const u = find(req, res);
    if (!u) return;
    u.setAdmin('active', 'enabled by admin');
    res.json(u.snapshot());
  });

  app.post('/upstreams/:name/disable', (req, res) => {
    const u = find(req, res);
    if (!u) return;
    u.setAdmin('disabled', 'disabled by admin');
    res.json(u.snapshot());
  });

  app.delete('/upstreams/:name', async (req, res, next) => {
    const waitMs = parseWait(req, res);
    if (waitMs === undefined) return;
    const u = find(req, res);
    if (!u) return;
    try {
      const r = await lb.removeUpstream(u, waitMs);
      res.json({ removed: u.name, ...r, inFlight: u.inFlight });
    } catch (err) {
      next(err);
    }
  });

  app.use((_req, res) => {
    res.status(404).json({ error: 'no such admin endpoint', code: 'LB_ADMIN_NOT_FOUND' });
  });
  // Malformed JSON and other request errors: 400 with the reason, never a stack trace.
  app.use((err: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    const status = err.status && err.status >= 400 && err.status < 500 ? err.status : 500;
    res.status(status).json({ error: status === 500 ? 'internal error' : err.message, code: status === 500 ? 'LB_ADMIN_INTERNAL' : 'LB_ADMIN_BAD_REQUEST' });
  });
  return app;
}

function groupWeightProblems(group: unknown, weight: unknown): string[] {
  const problems: string[] = [];
  if (group !== undefined && (typeof group !== 'string' || group === '' || group.length > 64)) problems.push('group: expected a non-empty string');
  if (weight !== undefined && (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0 || weight > 1_000_000)) {
    problems.push('weight: expected an integer from 0 to 1000000');
  }
  return problems;
}

/** A version label as the deployer writes it (letters, digits, . _ -). */
function versionProblems(version: unknown): string[] {
  if (version === undefined || (typeof version === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(version))) return [];
  return ['version: expected 1 to 64 letters, digits, ".", "_" or "-"'];
}

function auth(token: string | undefined) {
  const expected = token ? Buffer.from(`Bearer ${token}`) : undefined;
  return (req: Request, res: Response, next: NextFunction) => {
    if (!expected) {
      res.status(401).json({ error: 'the admin API has no token configured; set LB_ADMIN_TOKEN', code: 'LB_ADMIN_NO_TOKEN' });
      return;
    }
    const given = Buffer.from(req.headers.authorization ?? '');
    if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) {
      res.status(401).set('www-authenticate', 'Bearer').json({ error: 'missing or wrong bearer token', code: 'LB_ADMIN_UNAUTHORIZED' });
      return;
    }
    next();
  };
}

/** `?waitMs=` (or body.waitMs): how long a drain may wait for in-flight requests; default 30 s. */
function parseWait(req: Request, res: Response): number | undefined {
  const raw = req.query.waitMs ?? (req.body as { waitMs?: unknown } | undefined)?.waitMs;
  if (raw === undefined) return 30_000;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > MAX_WAIT_MS) {
    bad(res, `waitMs: expected an integer from 0 to ${MAX_WAIT_MS}, got ${JSON.stringify(raw)}`);
    return undefined;
  }
  return n;
}

function bad(res: Response, message: string): void {
  res.status(400).json({ error: message, code: 'LB_ADMIN_BAD_REQUEST' });
}
