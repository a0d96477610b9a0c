import { FakeTimers } from '../test-support/fake-timers';
import { LeaseRegistry } from './lease-registry';

function setup(max = 3) {
  const timers = new FakeTimers();
  const expired: string[] = [];
  let n = 0;
  const reg = new LeaseRegistry({ leaseMs: 3000, heartbeatMs: 1000, maxRegistrations: max }, (name) => expired.push(name), timers, () => `id-${++n}`);
  return { reg, timers, expired };
}

describe('LeaseRegistry', () => {
  it('keeps an instance that renews every heartbeat', async () => {
    const { reg, timers, expired } = setup();
    const lease = reg.register('web-1');
    expect(lease).toEqual({ id: 'id-1', name: 'web-1', leaseMs: 3000, heartbeatMs: 1000 });
    for (let i = 0; i < 10; i++) {
      await timers.advance(1000);
      reg.renew(lease.id);
    }
    expect(expired).toEqual([]);
    expect(reg.nameOf('id-1')).toBe('web-1');
  });

  it('expires a lease not renewed within leaseMs, once', async () => {
    const { reg, timers, expired } = setup();
    reg.register('web-1');
    await timers.advance(2999);
    expect(expired).toEqual([]);
    await timers.advance(1);
    expect(expired).toEqual(['web-1']);
    await timers.advance(10_000);
    expect(expired).toEqual(['web-1']);
    expect(() => reg.renew('id-1')).toThrow(expect.objectContaining({ code: 'LB_LEASE_UNKNOWN', message: expect.stringContaining('expired') }));
  });

  it('says "unknown" for an id it never gave out', () => {
    const { reg } = setup();
    expect(() => reg.renew('forged')).toThrow(expect.objectContaining({ code: 'LB_LEASE_UNKNOWN', message: 'unknown lease' }));
    expect(() => reg.nameOf('forged')).toThrow(expect.objectContaining({ code: 'LB_LEASE_UNKNOWN' }));
  });

  it('refuses registrations beyond the maximum, and a second one under the same name', () => {
    const { reg } = setup(2);
    reg.register('a');
    expect(() => reg.register('a')).toThrow(expect.objectContaining({ code: 'LB_LEASE_DUPLICATE' }));
    reg.register('b');
    expect(() => reg.register('c')).toThrow(expect.objectContaining({ code: 'LB_LEASE_LIMIT' }));
    expect(reg.size).toBe(2);
  });

  it('a released lease never expires and frees its place', async () => {
    const { reg, timers, expired } = setup(1);
    const lease = reg.register('a');
    reg.release(lease.id, 'deregistered');
    await timers.advance(10_000);
    expect(expired).toEqual([]);
    expect(() => reg.renew(lease.id)).toThrow(expect.objectContaining({ message: 'lease deregistered' }));
    expect(reg.register('a').id).toBe('id-2');
  });

  it('a lease ended by removing its upstream answers LB_LEASE_REMOVED; an expired one LB_LEASE_UNKNOWN', async () => {
    const { reg, timers } = setup();
    const removed = reg.register('a');
    const lapsed = reg.register('b');
    reg.releaseName('a', 'ended: removed by an operator');
    reg.renew(lapsed.id); // b renews once, then stops
    await timers.advance(10_000);
    expect(() => reg.renew(removed.id)).toThrow(expect.objectContaining({ code: 'LB_LEASE_REMOVED', message: 'lease ended: removed by an operator' }));
    expect(() => reg.renew(lapsed.id)).toThrow(expect.objectContaining({ code: 'LB_LEASE_UNKNOWN', message: expect.stringContaining('lease expired') }));
    reg.releaseName('nobody', 'ended'); // no such name: nothing happens
    expect(reg.size).toBe(0);
  });

  it('remembers only a bounded number of ended leases', () => {
    const { reg } = setup(2);
    for (let i = 0; i < 50; i++) reg.release(reg.register(`x${i}`).id);
    expect(() => reg.renew('id-1')).toThrow(expect.objectContaining({ message: 'unknown lease' }));
    expect(() => reg.renew('id-50')).toThrow(expect.objectContaining({ message: 'lease released' }));
  });
});
