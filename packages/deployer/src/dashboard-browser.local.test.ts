import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { summarize } from '@zdl/loadcheck';
import { DEFAULT_THRESHOLDS } from './analysis/canary-analysis';
import { realClock } from './clock';
import { silentReporter } from './deploy-report';
import { composeReporters } from './receipt/compose-reporters';
import { ReceiptSession } from './receipt/receipt-session';
import { canaryDeploy } from './strategies/canary-deploy';
import { DEFAULT_DEPLOY_OPTIONS, DeployContext } from './strategies/deploy-context';
import { launchChromium } from './test-support/chromium';
import { risingShare, watchDashboard } from './test-support/dashboard-watch';
import { sleep, startLoad, withLocalLab } from './test-support/local-lab-fixture';

// A real browser (Debian's chromium, headless) on the balancer's dashboard while a canary deploy of
// real local processes runs under load. DASHBOARD_SCREENSHOT / RECEIPT_SCREENSHOT=<file.png> keep pictures.
jest.setTimeout(180_000);


describe('dashboard in a real browser', () => {
  it.each([1, 2])('login sets the cookie; during a canary under load it shows both upstreams and versions, the canary share rising, failed 0 (balancer workers: %i)', async (workers) => {
    await withLocalLab(async (lab, lb) => {
      const browser = await launchChromium();
      try {
        const page = await browser.context.newPage();
        // No cookie yet: refused.
        const refused = await page.goto(`${lab.adminUrl}/dashboard`);
        expect(refused!.status()).toBe(401);
        // The login URL: cookie set, and the address bar no longer holds the token.
        const token = lab.state.adminToken;
        const loginUrl = lb.dashboardLoginUrl();
        expect(loginUrl).toBe(`${lab.adminUrl}/dashboard?token=${encodeURIComponent(token)}`);
        const landed = await page.goto(loginUrl);
        expect(landed!.status()).toBe(200);
        expect(page.url()).toBe(`${lab.adminUrl}/dashboard`);
        const cookies = await browser.context.cookies(lab.adminUrl + '/dashboard');
        expect(cookies).toHaveLength(1);
        expect(cookies[0]).toMatchObject({ name: 'zdl_dashboard', httpOnly: true, sameSite: 'Strict', path: '/dashboard' });
        expect(cookies[0].value).not.toContain(token);
        await page.waitForSelector('#conn.live', { timeout: 10_000 });

        const load = startLoad(lab.lbUrl, 200);
        const receiptDir = fs.mkdtempSync(path.join(os.tmpdir(), 'zdl-receipt-'));
        const session = await ReceiptSession.start({ lb, runtime: lab.runtime(), clock: realClock, strategy: 'canary', version: 'v2', receiptDir, probe: { rate: 20, url: lab.lbUrl } });
        const watch = watchDashboard(page, 'v2', process.env.DASHBOARD_SCREENSHOT);
        await sleep(2500); // some v1-only history on the chart
        const report = await canaryDeploy(new DeployContext(lb, lab.runtime(), realClock, composeReporters(silentReporter, session.reporter)), {
          ...DEFAULT_DEPLOY_OPTIONS,
          version: 'v2',
          steps: [10, 50, 100],
          stepDurationMs: 5000,
          stepRequests: 0,
          analysisIntervalMs: 500,
          thresholds: DEFAULT_THRESHOLDS,
          canaryInstances: 1,
        });
        await sleep(2500);
        const looks = await watch.stop();
        const { get, post, slow } = await load.stop();
        const { receipt, dir } = await session.finish(report);

        expect(report.error).toBeUndefined();
        expect(summarize(get).failed + summarize(post).failed + summarize(slow).failed).toBe(0);
        // The page showed both upstream names and both versions at once (baseline v1 + canary v2).
        const both = looks.find((l) => l.versions.includes('v1') && l.versions.includes('v2'));
        expect(both).toBeDefined();
        expect(new Set(both!.names).size).toBeGreaterThanOrEqual(3);
        const names = new Set(looks.flatMap((l) => l.names));
        for (const u of receipt.final.upstreams) expect(names.has(u.name)).toBe(true);
        // The canary's share, as the page's chart legend showed it, rose through the steps in order.
        const [first, second, third] = risingShare(looks);
        expect([first >= 0, second > first, third > second]).toEqual([true, true, true]);
        // Failed stayed 0 on the page the whole time, and the deploy ended as done there.
        expect(looks.length).toBeGreaterThan(40);
        expect(looks.every((l) => l.failed === '0')).toBe(true);
        await sleep(1200);
        expect(await page.textContent('#deploy-head .badge')).toBe('done');
        // The receipt agrees: nothing failed, both versions answered.
        expect(receipt.requests.failed).toBe(0);
        expect(receipt.probe!.sent).toBeGreaterThan(300);
        expect(receipt.probe!.failed).toBe(0);
        expect(receipt.requests.byVersion.v1).toBeGreaterThan(0);
        expect(receipt.requests.byVersion.v2).toBeGreaterThan(0);
        expect(fs.existsSync(path.join(dir!, 'receipt.html'))).toBe(true);
        if (process.env.RECEIPT_SCREENSHOT) {
          const p = await browser.context.newPage();
          await p.setViewportSize({ width: 1120, height: 900 });
          await p.goto(`file://${path.join(dir!, 'receipt.html')}`);
          await p.screenshot({ path: process.env.RECEIPT_SCREENSHOT, fullPage: true });
        }
        fs.rmSync(receiptDir, { recursive: true, force: true });
      } finally {
        await browser.close();
      }
    }, { lbEnv: { LB_WORKERS: String(workers) } });
  });
});
