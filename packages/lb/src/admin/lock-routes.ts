import { type Request, type Response, Router } from 'express';
import { DeployLock, type LockRequest, type LockResult } from './deploy-lock';

/** A page the balancer serves (a later dashboard registers itself here), shown by `deploy status`. */
export interface BalancerPage {
  name: string;
  url: string;
  /** Where a person logs in, if the page needs it. */
  loginUrl?: string;
}

export interface DeployRoutesOptions {
  lock?: DeployLock;
  pages?: () => BalancerPage[];
}

/** Header the deployer sends on every call made under its lock (fencing). */
export const LOCK_HEADER = 'x-deploy-lock';
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const LEASE_MIN_MS = 1000;
const LEASE_MAX_MS = 600_000;

/**
 * The deploy lock, journal and activity log on the admin API (mounted after authentication):
 *   GET    /deploy               lock, journal, previous journal, routing changes outside a deploy, pages
 *   POST   /deploy/lock          {holder:{host,pid,user}, strategy, version, leaseMs, takeOver?, force?}
 *   POST   /deploy/lock/renew    {id}
 *   DELETE /deploy/lock?id=      release
 *   PUT    /deploy/journal       {id, journal}
 *   GET    /pages                the pages the balancer serves
 * and, for every other change of routing: a call carrying `x-deploy-lock: <id>` of a lock that is
 * no longer held is refused with 409 (a deployer whose lease lapsed and was taken over cannot
 * change anything); a call without the header goes through and is recorded for `deploy status`.
 */
export function createDeployRoutes(options: DeployRoutesOptions = {}): Router {
  const lock = options.lock ?? new DeployLock();
  const pages = options.pages ?? (() => []);
  const r = Router();

  r.use((req, res, next) => {
    if (!MUTATING.has(req.method) || req.path.startsWith('/deploy')) return next();
    const id = req.get(LOCK_HEADER);
    if (id !== undefined) {
      const c = lock.check(id);
      if (!c.ok) return void refuse(res, c);
      return next();
    }
    res.on('finish', () => lock.recordActivity({ method: req.method, path: req.originalUrl, status: res.statusCode }));
    next();
  });

  r.get('/deploy', (_req, res) => {
    res.json({ ...lock.snapshot(), pages: pages() });
  });

  r.get('/pages', (_req, res) => {
    res.json({ pages: pages() });
  });

  r.post('/deploy/lock', (req, res) => {
    const parsed = parseLockRequest(req.body);
    if (typeof parsed === 'string') return void bad(res, parsed);
    answer(res, lock.acquire(parsed), 201);
  });

  r.post('/deploy/lock/renew', (req, res) => {
    const id = idOf(req);
    if (!id) return void bad(res, 'id: expected the lock id returned by POST /deploy/lock');
    answer(res, lock.renew(id));
  });

  r.delete('/deploy/lock', (req, res) => {
    const id = idOf(req);
    if (!id) return void bad(res, 'id: expected the lock id returned by POST /deploy/lock');
    answer(res, lock.release(id));
  });

  r.put('/deploy/journal', (req, res) => {
    const body = req.body as { id?: unknown; journal?: unknown } | undefined;
    const problems: string[] = [];
    if (typeof body?.id !== 'string' || body.id === '') problems.push('id: expected the lock id');
    if (typeof body?.journal !== 'object' || body.journal === null || Array.isArray(body.journal)) problems.push('journal: expected a JSON object');
    if (problems.length > 0) return void bad(res, problems.join('; '));
    answer(res, lock.writeJournal(body!.id as string, body!.journal));
  });

  return r;
}

function idOf(req: Request): string | undefined {
  const raw = req.query.id ?? (req.body as { id?: unknown } | undefined)?.id;
  return typeof raw === 'string' && raw !== '' ? raw : undefined;
}

function answer(res: Response, result: LockResult, okStatus = 200): void {
  if (result.ok) res.status(okStatus).json({ lock: result.lock });
  else refuse(res, result);
}

function refuse(res: Response, result: Extract<LockResult, { ok: false }>): void {
  res.status(409).json({ error: result.message, code: result.code, lock: result.lock ?? null });
}

function bad(res: Response, message: string): void {
  res.status(400).json({ error: message, code: 'LB_ADMIN_BAD_REQUEST' });
}

const str = (v: unknown, max = 128): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;

/** Validates the whole body; one message lists every problem with its field. */
function parseLockRequest(raw: unknown): LockRequest | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'body: expected a JSON object';
  const b = raw as Record<string, unknown>;
  const h = (b.holder ?? {}) as Record<string, unknown>;
  const problems: string[] = [];
  const known = ['holder', 'strategy', 'version', 'leaseMs', 'takeOver', 'force'];
  for (const k of Object.keys(b)) if (!known.includes(k)) problems.push(`${k}: unknown field (expected ${known.join(', ')})`);
  if (!str(h.host)) problems.push('holder.host: expected a non-empty string');
  if (typeof h.pid !== 'number' || !Number.isInteger(h.pid) || h.pid < 0) problems.push('holder.pid: expected a non-negative integer');
  if (!str(h.user)) problems.push('holder.user: expected a non-empty string');
  if (!str(b.strategy, 64)) problems.push('strategy: expected a non-empty string');
  if (!str(b.version, 64)) problems.push('version: expected a non-empty string');
  if (typeof b.leaseMs !== 'number' || !Number.isInteger(b.leaseMs) || b.leaseMs < LEASE_MIN_MS || b.leaseMs > LEASE_MAX_MS) {
    problems.push(`leaseMs: expected an integer from ${LEASE_MIN_MS} to ${LEASE_MAX_MS}`);
  }
  if (b.takeOver !== undefined && !str(b.takeOver)) problems.push('takeOver: expected a lock id');
  if (b.force !== undefined && typeof b.force !== 'boolean') problems.push('force: expected true or false');
  if (problems.length > 0) return problems.join('; ');
  return {
    holder: { host: h.host as string, pid: h.pid as number, user: h.user as string },
    strategy: b.strategy as string,
    version: b.version as string,
    leaseMs: b.leaseMs as number,
    ...(b.takeOver !== undefined ? { takeOver: b.takeOver as string } : {}),
    ...(b.force !== undefined ? { force: b.force as boolean } : {}),
  };
}
