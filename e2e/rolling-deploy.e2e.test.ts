import { formatSummary, LoadChecker, summarize } from '../packages/loadcheck/src';
import { ComposeLab } from './support/compose-lab';

jest.setTimeout(600_000);
/** GET rate during the deploy; raise it to find the highest rate with zero failures (E2E_RATE=800 npm run e2e -- rolling). */
const RATE = Number(process.env.E2E_RATE ?? 200);

/** GETs at ≥ 200/s, POSTs with JSON bodies, and 2 s requests, all over keep-alive connections. */
function startLoad(lab: ComposeLab) {
  const l = {
    get: new LoadChecker({ url: `${lab.lbUrl}/api`, rate: RATE, connections: Math.max(64, RATE / 10) }),
    post: new LoadChecker({ url: `${lab.lbUrl}/api`, rate: 20, method: 'POST', body: { order: 42, items: ['a', 'b'] } }),
    slow: new LoadChecker({ url: `${lab.lbUrl}/api?delayMs=2000`, rate: 5 }),
  };
  Object.values(l).forEach((x) => x.start());
  return l;
}

describe('rolling deploy on compose under load (real containers)', () => {
  let lab: ComposeLab;

  beforeAll(async () => {
    lab = await ComposeLab.up();
  });

  afterAll(async () => {
    await lab?.down();
  });

  it('npm run rolling-deploy replaces v1 with v2 and not one request fails', async () => {
    const load = startLoad(lab);
    await new Promise((r) => setTimeout(r, 2000));
    const from = load.get.elapsedMs;
    const result = await lab.deploy('--version', 'v2');
    const to = load.get.elapsedMs;
    await new Promise((r) => setTimeout(r, 2000));
    const [get, post, slow] = await Promise.all([load.get.stop(), load.post.stop(), load.slow.stop()]);
    const s = summarize(get);
    console.log(`${result.output}\nGET:\n${formatSummary(s)}\nPOST: ${formatSummary(summarize(post)).split('\n')[0]}\nslow: ${formatSummary(summarize(slow)).split('\n')[0]}`);

    expect(result.code).toBe(0);
    expect(result.report?.ok).toBe(true);
    expect(s.failed).toBe(0);
    expect(summarize(post).failed).toBe(0);
    expect(summarize(slow).failed).toBe(0);
    expect(slow.length).toBeGreaterThan(20);
    // The rate was really sent during the deploy.
    const during = get.filter((o) => o.sentAt >= from && o.sentAt <= to);
    expect(during.length).toBeGreaterThanOrEqual(Math.floor(((to - from) / 1000) * RATE * 0.95));
    expect(new Set(during.map((o) => o.version))).toEqual(new Set(['v1', 'v2']));
    const after = get.filter((o) => o.sentAt > to + 200);
    expect(after.length).toBeGreaterThan(RATE);
    expect(new Set(after.map((o) => o.version))).toEqual(new Set(['v2']));
    expect(result.report!.final.map((i) => i.version)).toEqual(['v2', 'v2']);
    // Compose stays the source of truth: the env file holds the deployed versions.
    expect(await lab.compose('config', '--format', 'json')).toContain('zdl/client:v2');
  });

  it('a version that never becomes healthy is aborted: old version back everywhere, 0 failed, non-zero exit', async () => {
    const load = startLoad(lab);
    await new Promise((r) => setTimeout(r, 1000));
    const result = await lab.deploy('--version', 'v3-broken', '--env', 'STARTUP_DELAY_MS=600000', '--health-timeout', '6s');
    await new Promise((r) => setTimeout(r, 1500));
    const [get, post, slow] = await Promise.all([load.get.stop(), load.post.stop(), load.slow.stop()]);
    console.log(result.output);

    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/not healthy in the balancer within 6000 ms/);
    expect(result.report?.ok).toBe(false);
    expect(result.report!.final.map((i) => i.version)).toEqual(['v2', 'v2']);
    expect(summarize(get).failed).toBe(0);
    expect(summarize(post).failed).toBe(0);
    expect(summarize(slow).failed).toBe(0);
    expect(new Set(get.map((o) => o.version))).toEqual(new Set(['v2']));
    const ups = await lab.upstreams();
    expect(ups.map((u) => `${u.name}=${u.state}`).sort()).toEqual(['client-1:8081=healthy', 'client-2:8082=healthy']);
  });
});
