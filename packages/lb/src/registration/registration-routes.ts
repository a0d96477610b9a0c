import crypto from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { parseUpstreamUrl } from '../config/parse-upstream-url';
import { LeaseError, type LeaseRegistry } from './lease-registry';

/** What self-registration may do to the pool: exactly these, and only on the caller's own entry. */
export interface RegistrationTarget {
  /** Adds the upstream out of rotation until its first passing health check; throws `{code:'LB_ADMIN_DUPLICATE'}` on a clash. */
  add(upstream: { url: string; name: string; version?: string; group?: string; weight?: number }): { name: string };
  drain(name: string, waitMs: number): Promise<{ drained: boolean; waitedMs: number; inFlight: number }>;
  remove(name: string, waitMs: number): Promise<{ drained: boolean; waitedMs: number }>;
}

const MAX_WAIT_MS = 600_000;
const FIELDS = ['url', 'name', 'version', 'group', 'weight'];
/** Names and versions end up in headers and logs: printable ASCII only, bounded. */
const TOKENISH = /^[A-Za-z0-9._:@\-]{1,128}$/;

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
  r.use(bearer(token));
  r.use(express.json({ limit: '4kb' }));

  r.post('/registrations', (req, res) => {
    const body: unknown = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return bad(res, 'body: expected a JSON object like {"url":"http://10.0.0.7:5000"}');
    const b = body as Record<string, unknown>;
    const problems = Object.keys(b)
      .filter((k) => !FIELDS.includes(k))
      .map((k) => `${k}: unknown field (expected ${FIELDS.join(', ')})`);
    const parsed = parseUpstreamUrl(b.url);
    if ('problem' in parsed) problems.push(`url: ${b.url === undefined ? 'missing' : parsed.problem}`);
    for (const k of ['name', 'version', 'group'] as const) {
      if (b[k] !== undefined && (typeof b[k] !== 'string' || !TOKENISH.test(b[k] as string))) problems.push(`${k}: expected 1-128 characters of A-Z a-z 0-9 . _ : @ -`);
    }
    if (b.weight !== undefined && (typeof b.weight !== 'number' || !Number.isInteger(b.weight) || b.weight < 0 || b.weight > 1_000_000)) {
      problems.push('weight: expected an integer from 0 to 1000000');
    }
    if (problems.length > 0 || 'problem' in parsed) return bad(res, problems.join('; '));
    const name = (b.name as string | undefined) ?? parsed.name;
    let lease;
    try {
      lease = leases.register(name);
    } catch (err) {
      return leaseError(res, err);
    }
    try {
      target.add({
        url: parsed.url,
        name,
        ...(b.version !== undefined ? { version: b.version as string } : {}),
        ...(b.group !== undefined ? { group: b.group as string } : {}),
        ...(b.weight !== undefined ? { weight: b.weight as number } : {}),
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
    const waitMs = parseWait(req, res);
    if (waitMs === undefined) return;
    let name: string;
    try {
      name = leases.nameOf(String(req.params.id));
    } catch (err) {
      return leaseError(res, err);
    }
    // Draining: the lease no longer matters (a paused heartbeat must not remove it mid-drain).
    target.drain(name, waitMs).then((d) => res.json({ name, ...d }), next);
  });

  r.delete('/registrations/:id', async (req, res, next) => {
    const waitMs = parseWait(req, res);
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

function parseWait(req: Request, res: Response): number | undefined {
  const raw = req.query.waitMs;
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
