import crypto from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { z } from 'zod';
import { registerBody, waitMsParam } from '../config/admin-schemas';
import { formatIssues } from '../config/rules';
import { LeaseError, type LeaseRegistry } from './lease-registry';

/** What self-registration may do to the pool: exactly these, and only on the caller's own entry. */
export interface RegistrationTarget {
  /** Adds the upstream out of rotation until its first passing health check; throws `{code:'LB_ADMIN_DUPLICATE'}` on a clash. */
  add(upstream: { url: string; name: string; version?: string; group?: string; weight?: number }): { name: string };
  drain(name: string, waitMs: number): Promise<{ drained: boolean; waitedMs: number; inFlight: number }>;
  remove(name: string, waitMs: number): Promise<{ drained: boolean; waitedMs: number }>;
}

/**
 * The registration API, for instances announcing themselves (packages/announce). It accepts the
 * registration token only — which is why it can never reach the split, the lock or another
 * instance's entry: every operation after the first needs the lease id handed out at registration.
 *
 *   POST   /registrations                {url, name?, version?, group?, weight?} → 201 {id, name, leaseMs, heartbeatMs}
 *   PUT    /registrations/:id            renew the lease → {name, expiresInMs}
 *   POST   /registrations/:id/drain      ?waitMs= → {drained, waitedMs, inFlight} (the shutdown handshake)
 *   DELETE /registrations/:id            ?waitMs= → drain, then remove the entry
 */
export function registrationRoutes(token: string | undefined, leases: LeaseRegistry, target: RegistrationTarget): Router {
  const r = express.Router();
  // Only under /registrations: mounted on the admin app, every other path goes on to the admin token's check.
  r.use('/registrations', bearer(token), express.json({ limit: '4kb' }));

  r.post('/registrations', (req, res) => {
    const b = parse(res, registerBody, req.body ?? {});
    if (b === undefined) return;
    const name = b.name ?? b.url.name;
    let lease;
    try {
      lease = leases.register(name);
    } catch (err) {
      return leaseError(res, err);
    }
    try {
      target.add({
        url: b.url.url,
        name,
        ...(b.version !== undefined ? { version: b.version } : {}),
        ...(b.group !== undefined ? { group: b.group } : {}),
        ...(b.weight !== undefined ? { weight: b.weight } : {}),
      });
    } catch (err) {
      leases.release(lease.id, 'not registered');
      const code = (err as { code?: string }).code;
      if (code === 'LB_ADMIN_DUPLICATE') return res.status(409).json({ error: (err as Error).message, code });
      throw err;
    }
    res.status(201).json(lease);
  });

  r.put('/registrations/:id', (req, res) => {
    try {
      res.json(leases.renew(String(req.params.id)));
    } catch (err) {
      leaseError(res, err);
    }
  });

  r.post('/registrations/:id/drain', async (req, res, next) => {
    const waitMs = parse(res, waitMsParam, req.query.waitMs, ['waitMs']);
    if (waitMs === undefined) return;
    let name: string;
    try {
      // The instance stops renewing while it drains: its lease covers the drain, then one more
      // lease period for its DELETE (an instance that dies meanwhile still leaves the pool).
      name = leases.renew(String(req.params.id), waitMs).name;
    } catch (err) {
      return leaseError(res, err);
    }
    target.drain(name, waitMs).then((d) => res.json({ name, ...d }), next);
  });

  r.delete('/registrations/:id', async (req, res, next) => {
    const waitMs = parse(res, waitMsParam, req.query.waitMs, ['waitMs']);
    if (waitMs === undefined) return;
    const id = String(req.params.id);
    let name: string;
    try {
      name = leases.nameOf(id);
    } catch (err) {
      return leaseError(res, err);
    }
    leases.release(id, 'deregistered');
    target.remove(name, waitMs).then((d) => res.json({ removed: name, ...d }), next);
  });

  r.use((err: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    const status = err.status && err.status >= 400 && err.status < 500 ? err.status : 500;
    res.status(status).json({ error: status === 500 ? 'internal error' : err.message, code: status === 500 ? 'LB_ADMIN_INTERNAL' : 'LB_ADMIN_BAD_REQUEST' });
  });
  return r;
}

function bearer(token: string | undefined) {
  const expected = token ? Buffer.from(`Bearer ${token}`) : undefined;
  return (req: Request, res: Response, next: NextFunction) => {
    if (!expected) {
      res.status(401).json({ error: 'self-registration is off: no registration token is configured', code: 'LB_REG_NO_TOKEN' });
      return;
    }
    const given = Buffer.from(req.headers.authorization ?? '');
    if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) {
      res.status(401).set('www-authenticate', 'Bearer').json({ error: 'missing or wrong registration token', code: 'LB_REG_UNAUTHORIZED' });
      return;
    }
    next();
  };
}

function leaseError(res: Response, err: unknown): void {
  if (!(err instanceof LeaseError)) throw err;
  const status = err.code === 'LB_LEASE_LIMIT' ? 429 : err.code === 'LB_LEASE_DUPLICATE' ? 409 : 404;
  res.status(status).json({ error: err.message, code: err.code });
}

/** Parses with the package's schema (config/admin-schemas); a failure answers 400 naming every bad field, and gives undefined. */
function parse<S extends z.ZodTypeAny>(res: Response, schema: S, value: unknown, path: (string | number)[] = []): z.output<S> | undefined {
  const r = schema.safeParse(value);
  if (r.success) return r.data as z.output<S>;
  const problems = formatIssues(r.error, path).map((p) => (p.startsWith('(root)') ? p.replace('(root)', 'body') : p));
  res.status(400).json({ error: problems.join('; '), code: 'LB_ADMIN_BAD_REQUEST', problems });
  return undefined;
}
