import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { FakeTimers } from '../test-support/fake-timers';
import { LeaseRegistry } from './lease-registry';
import { type RegistrationTarget, registrationRoutes } from './registration-routes';

/** The pool side, recorded: these tests are about the API's rules, not the pool. */
function recordingTarget() {
  const calls: string[] = [];
  const names = new Set<string>();
  const target: RegistrationTarget = {
    add: (u) => {
      if (names.has(u.name)) throw Object.assign(new Error(`upstream already exists: ${u.name}`), { code: 'LB_ADMIN_DUPLICATE' });
      names.add(u.name);
      calls.push(`add ${u.name} ${u.url} ${u.version ?? '-'}`);
      return { name: u.name };
    },
    drain: async (name, waitMs) => {
      calls.push(`drain ${name} ${waitMs}`);
      return { drained: true, waitedMs: 5, inFlight: 0 };
    },
    remove: async (name, waitMs) => {
      calls.push(`remove ${name} ${waitMs}`);
      names.delete(name);
      return { drained: true, waitedMs: 0 };
    },
  };
  return { target, calls };
}

async function setup(max = 10) {
  const timers = new FakeTimers();
  const expired: string[] = [];
  const leases = new LeaseRegistry({ leaseMs: 3000, heartbeatMs: 1000, maxRegistrations: max }, (n) => expired.push(n), timers);
  const { target, calls } = recordingTarget();
  const app = express();
  app.use(registrationRoutes('reg-token', leases, target));
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const call = async (method: string, path: string, body?: unknown, token = 'reg-token') => {
    const r = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  const close = () => new Promise<void>((r) => server.close(() => r()));
  return { call, calls, expired, timers, leases, close };
}

describe('registration API', () => {
  it('registers an instance out of rotation-by-health, renews its lease and lets it drain and leave', async () => {
    const t = await setup();
    const reg = await t.call('POST', '/registrations', { url: 'http://10.0.0.7:5000', version: 'v2' });
    expect(reg.status).toBe(201);
    expect(reg.body).toMatchObject({ name: '10.0.0.7:5000', leaseMs: 3000, heartbeatMs: 1000 });
    const id = reg.body.id as string;
    expect((await t.call('PUT', `/registrations/${id}`)).body).toEqual({ name: '10.0.0.7:5000', expiresInMs: 3000 });
    expect((await t.call('POST', `/registrations/${id}/drain?waitMs=2000`)).body).toMatchObject({ name: '10.0.0.7:5000', drained: true, inFlight: 0 });
    expect((await t.call('DELETE', `/registrations/${id}?waitMs=0`)).status).toBe(200);
    expect(t.calls).toEqual(['add 10.0.0.7:5000 http://10.0.0.7:5000 v2', 'drain 10.0.0.7:5000 2000', 'remove 10.0.0.7:5000 0']);
    expect((await t.call('PUT', `/registrations/${id}`)).status).toBe(404);
    await t.close();
  });

  it('refuses a wrong or missing token with 401, and a lease id it never gave with 404', async () => {
    const t = await setup();
    expect((await t.call('POST', '/registrations', { url: 'http://10.0.0.7:5000' }, 'admin-token')).status).toBe(401);
    const other = await t.call('POST', `/registrations/guessed-id/drain`);
    expect(other).toEqual({ status: 404, body: { error: 'unknown lease', code: 'LB_LEASE_UNKNOWN' } });
    expect((await t.call('DELETE', `/registrations/guessed-id`)).status).toBe(404);
    expect(t.calls).toEqual([]);
    await t.close();
  });

  it('answers an expired lease with 404 saying so', async () => {
    const t = await setup();
    const { body } = await t.call('POST', '/registrations', { url: 'http://10.0.0.7:5000', name: 'web-1' });
    await t.timers.advance(3000);
    expect(t.expired).toEqual(['web-1']);
    const r = await t.call('PUT', `/registrations/${body.id}`);
    expect(r.status).toBe(404);
    expect(r.body.error).toMatch(/expired/);
    await t.close();
  });

  it('names every bad field at once and changes nothing', async () => {
    const t = await setup();
    const r = await t.call('POST', '/registrations', { url: 'ftp://x:1', name: 'a\nb', weight: -1, color: 'red' });
    expect(r.status).toBe(400);
    expect(r.body.error).toEqual(expect.stringContaining('color: unknown key (expected one of: url, name, version, group, weight)'));
    expect(r.body.error).toEqual(expect.stringContaining('url: "ftp://x:1": only http:// upstreams are supported'));
    expect(r.body.error).toEqual(expect.stringContaining('name: must be visible ASCII'));
    expect(r.body.error).toEqual(expect.stringContaining('weight: expected an integer from 0 to 1000000, got -1'));
    expect((await t.call('POST', '/registrations', '{not json')).status).toBe(400);
    expect((await t.call('POST', '/registrations', [1])).status).toBe(400);
    const wait = await t.call('DELETE', '/registrations/some-id?waitMs=-5');
    expect(wait).toEqual({ status: 400, body: expect.objectContaining({ error: 'waitMs: expected an integer from 0 to 600000, got "-5"' }) });
    expect(t.calls).toEqual([]);
    expect(t.leases.size).toBe(0);
    await t.close();
  });

  it('bounds registrations (429) and refuses a second instance under a taken name (409)', async () => {
    const t = await setup(2);
    expect((await t.call('POST', '/registrations', { url: 'http://10.0.0.1:5000' })).status).toBe(201);
    expect((await t.call('POST', '/registrations', { url: 'http://10.0.0.1:5000' })).status).toBe(409);
    expect((await t.call('POST', '/registrations', { url: 'http://10.0.0.2:5000' })).status).toBe(201);
    const third = await t.call('POST', '/registrations', { url: 'http://10.0.0.3:5000' });
    expect(third).toEqual({ status: 429, body: { error: 'too many registered instances (maximum 2)', code: 'LB_LEASE_LIMIT' } });
    await t.close();
  });
});
