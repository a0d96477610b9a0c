import { FakeTimers } from '../test-support/fake-timers';
import { type DnsEntry, DnsDiscovery, systemResolve } from './dns-discovery';

const entry: DnsEntry = { dns: 'web', port: 5000 };

/** A resolver that answers from a script, one answer per lookup, repeating the last. */
function scripted(...answers: (string[] | NodeJS.ErrnoException)[]) {
  let i = 0;
  const calls: string[] = [];
  const resolve = async (host: string) => {
    calls.push(host);
    const a = answers[Math.min(i++, answers.length - 1)];
    if (a instanceof Error) throw a;
    return a;
  };
  return { resolve, calls };
}

const err = (code: string) => Object.assign(new Error(`lookup failed (${code})`), { code });

function setup(...answers: (string[] | NodeJS.ErrnoException)[]) {
  const timers = new FakeTimers();
  const events: string[] = [];
  const { resolve, calls } = scripted(...answers);
  const d = new DnsDiscovery(
    [entry],
    { found: (_e, a) => events.push(`+${a}`), lost: (_e, a) => events.push(`-${a}`) },
    { intervalMs: 1000, missingLookups: 3 },
    resolve,
    timers,
  );
  return { d, timers, events, calls };
}

describe('DnsDiscovery', () => {
  it('reports every address found at the first lookup, and a new one as soon as it appears', async () => {
    const { d, timers, events } = setup(['10.0.0.2', '10.0.0.3'], ['10.0.0.2', '10.0.0.3', '10.0.0.4']);
    d.start();
    await timers.advance(0);
    expect(events).toEqual(['+10.0.0.2', '+10.0.0.3']);
    await timers.advance(1000);
    expect(events).toEqual(['+10.0.0.2', '+10.0.0.3', '+10.0.0.4']);
    expect(d.status()[0].addresses).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4']);
    d.stop();
  });

  it('drains an address only after it is missing from 3 consecutive successful lookups', async () => {
    const { d, timers, events } = setup(['10.0.0.2', '10.0.0.3'], ['10.0.0.2']);
    d.start();
    await timers.advance(0);
    await timers.advance(1000); // missing once
    await timers.advance(1000); // twice
    expect(events).toEqual(['+10.0.0.2', '+10.0.0.3']);
    expect(d.status()[0].addresses).toContain('10.0.0.3');
    await timers.advance(1000); // three times: gone
    expect(events).toEqual(['+10.0.0.2', '+10.0.0.3', '-10.0.0.3']);
    d.stop();
  });

  it('never drains a healthy address when the resolver flaps', async () => {
    const a = ['10.0.0.2', '10.0.0.3'];
    const { d, timers, events } = setup(a, ['10.0.0.2'], a, ['10.0.0.2'], ['10.0.0.2'], a, err('ETIMEOUT'), a);
    d.start();
    for (let i = 0; i < 8; i++) await timers.advance(i === 0 ? 0 : 1000);
    expect(events).toEqual(['+10.0.0.2', '+10.0.0.3']);
    d.stop();
  });

  it('keeps every member while the resolver fails, and reports the error', async () => {
    const { d, timers, events } = setup(['10.0.0.2'], err('ESERVFAIL'));
    d.start();
    await timers.advance(0);
    for (let i = 0; i < 10; i++) await timers.advance(1000);
    expect(events).toEqual(['+10.0.0.2']);
    expect(d.status()[0]).toMatchObject({ addresses: ['10.0.0.2'], error: expect.stringContaining('ESERVFAIL') });
    d.stop();
  });

  it('reports a name that does not resolve yet as empty with the error, and picks it up once it does', async () => {
    const { d, timers, events } = setup(err('ENOTFOUND'), err('ENOTFOUND'), ['10.0.0.7']);
    d.start();
    await timers.advance(0);
    expect(d.status()[0]).toMatchObject({ addresses: [], error: expect.stringContaining('ENOTFOUND') });
    await timers.advance(2000);
    expect(events).toEqual(['+10.0.0.7']);
    expect(d.status()[0].error).toBeUndefined();
    d.stop();
  });

  it('treats "no such name" as an empty answer: every replica gone leaves after 3 lookups', async () => {
    const { d, timers, events } = setup(['10.0.0.2'], err('ENOTFOUND'));
    d.start();
    await timers.advance(0);
    await timers.advance(3000);
    expect(events).toEqual(['+10.0.0.2', '-10.0.0.2']);
    d.stop();
  });

  it('looks up nothing after stop()', async () => {
    const { d, timers, calls } = setup(['10.0.0.2']);
    d.start();
    await timers.advance(0);
    d.stop();
    d.stop();
    await timers.advance(5000);
    expect(calls).toHaveLength(1);
  });

  it('resolves a real name through the system resolver', async () => {
    expect(await systemResolve('localhost')).toEqual(expect.arrayContaining([expect.stringMatching(/^(127\.0\.0\.1|::1)$/)]));
  });
});
