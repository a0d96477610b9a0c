import axios from 'axios';
import { formatSummary, LoadChecker, summarize } from '../packages/loadcheck/src';
import { ComposeLab } from './support/compose-lab';

jest.setTimeout(600_000);

// The balancer with LB_WORKERS=2 in its real container: a primary (health checks, admin API,
// routing state) and two node:cluster workers behind tini, as a user enabling it would run it.
describe('balancer in cluster mode (LB_WORKERS=2) on compose', () => {
  let lab: ComposeLab;

  beforeAll(async () => {
    lab = await ComposeLab.up({ LB_WORKERS: '2' });
  });

  afterAll(async () => {
    await lab?.down();
  });

  it('runs a primary and two workers, and a rolling deploy under load fails no request', async () => {
    const top = await lab.compose('top', 'lb');
    // tini (init: true) runs the primary, which forks the workers: 3 node processes.
    const nodes = top.split('\n').filter((l) => /\bnode\b.*dist\/main\.js/.test(l) && !l.includes('init'));
    expect(nodes).toHaveLength(3);

    const get = new LoadChecker({ url: `${lab.lbUrl}/api`, rate: 200, connections: 64 });
    const post = new LoadChecker({ url: `${lab.lbUrl}/api`, rate: 20, method: 'POST', body: { order: 1 } });
    const slow = new LoadChecker({ url: `${lab.lbUrl}/api?delayMs=2000`, rate: 5 });
    [get, post, slow].forEach((l) => l.start());
    await new Promise((r) => setTimeout(r, 2000));
    const result = await lab.deploy('--version', 'v2');
    await new Promise((r) => setTimeout(r, 2000));
    const [g, p, s] = await Promise.all([get.stop(), post.stop(), slow.stop()]);
    console.log(`${result.output}\nGET:\n${formatSummary(summarize(g))}`);
    expect(result.code).toBe(0);
    expect(summarize(g).failed).toBe(0);
    expect(summarize(p).failed).toBe(0);
    expect(summarize(s).failed).toBe(0);
    expect(new Set(g.slice(-100).map((o) => o.version))).toEqual(new Set(['v2']));
    // The admin API (in the primary) sums the counters of the workers, which did the proxying.
    const r = await axios.get<{ upstreams: { requests: number }[] }>(`${lab.adminUrl}/upstreams`, { headers: { authorization: `Bearer ${lab.token}` } });
    expect(r.data.upstreams.reduce((n, u) => n + u.requests, 0)).toBeGreaterThan(200);
  });

  it('stops gracefully on SIGTERM: the primary ends its workers well before docker would kill them', async () => {
    const began = Date.now();
    await lab.compose('stop', '-t', '10', 'lb');
    expect(Date.now() - began).toBeLessThan(8000);
    const ps = await lab.compose('ps', '-a', '--format', '{{.Service}} {{.ExitCode}}');
    expect(ps).toMatch(/^lb 0$/m);
  });
});
