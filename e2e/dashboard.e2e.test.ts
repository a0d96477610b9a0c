import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LoadChecker, summarize } from '../packages/loadcheck/src';
import { dashboardLoginUrl } from '../packages/deployer/src/dashboard-login-url';
import { launchChromium } from '../packages/deployer/src/test-support/chromium';
import { risingShare, watchDashboard } from '../packages/deployer/src/test-support/dashboard-watch';
import { ComposeLab } from './support/compose-lab';

jest.setTimeout(600_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The dashboard in Debian's chromium (headless, driven by playwright-core) while the real deployer
// CLI runs a canary on the compose lab under load.
describe('dashboard on compose, in a real browser', () => {
  let lab: ComposeLab;
  beforeAll(async () => {
    lab = await ComposeLab.up();
  });
  afterAll(async () => {
    await lab?.down();
  });

  it('refused without the cookie; the login URL sets it; during a canary it shows both upstreams and versions, the share rising, failed 0; the receipt agrees', async () => {
    const browser = await launchChromium();
    const receipts = fs.mkdtempSync(path.join(os.tmpdir(), 'zdl-e2e-receipts-'));
    let keep = false;
    try {
      const page = await browser.context.newPage();
      expect((await page.goto(`${lab.adminUrl}/dashboard`))!.status()).toBe(401);
      expect((await page.goto(dashboardLoginUrl(lab.adminUrl, lab.token)))!.status()).toBe(200);
      expect(page.url()).toBe(`${lab.adminUrl}/dashboard`);
      const [cookie] = await browser.context.cookies(`${lab.adminUrl}/dashboard`);
      expect(cookie).toMatchObject({ name: 'zdl_dashboard', httpOnly: true, sameSite: 'Strict' });
      await page.waitForSelector('#conn.live', { timeout: 10_000 });

      const get = new LoadChecker({ url: `${lab.lbUrl}/api`, rate: 100 });
      get.start();
      const watch = watchDashboard(page, 'v3');
      await sleep(2000);
      const result = await lab.deploy('--strategy', 'canary', '--version', 'v3', '--canary-steps', '10,50,100', '--step-duration', '5s', '--analysis-interval', '500ms',
        // This test is about what the page shows; the canary's judgement has its own tests
        // (strategies.e2e) and is not at stake here, where a browser shares the 2 cores: one
        // connection retried elsewhere in a busy second must not roll the canary back.
        '--max-p99-ratio', '20', '--p99-slack', '5s', '--max-error-rate', '0.5',
        '--receipt', receipts, '--probe', '20', '--probe-url', lab.lbUrl);
      await sleep(2000);
      const looks = await watch.stop();
      const g = await get.stop();
      console.log(result.output);
      if (summarize(g).failed > 0) {
        // Keep what explains it: the receipt (traffic by second) and the balancer's state changes.
        keep = true;
        console.log(`receipts kept in ${receipts}; failures ${JSON.stringify(summarize(g).failedByCause)}`);
        console.log((await lab.compose('logs', '--no-color', 'lb')).split('\n').filter((l) => /upstream state|proxy error|traffic split/.test(l)).slice(-60).join('\n'));
      }
      expect(result.code).toBe(0);
      expect(summarize(g).failed).toBe(0);

      const both = looks.find((l) => l.versions.includes('v1') && l.versions.includes('v3'));
      expect(both).toBeDefined();
      expect(both!.names).toEqual(expect.arrayContaining(['client-1:8081', 'client-2:8082']));
      const [first, second, third] = risingShare(looks);
      expect([first >= 0, second > first, third > second]).toEqual([true, true, true]);
      expect(looks.every((l) => l.failed === '0')).toBe(true);
      await sleep(1200);
      expect(await page.textContent('#deploy-head .badge')).toBe('done');

      const [dir] = fs.readdirSync(receipts);
      const receipt = JSON.parse(fs.readFileSync(path.join(receipts, dir, 'receipt.json'), 'utf8'));
      expect(receipt).toMatchObject({ strategy: 'canary', runtime: 'compose', versions: { from: ['v1'], to: 'v3' }, ok: true });
      expect(receipt.requests.failed).toBe(0);
      expect(receipt.requests.byVersion.v3).toBeGreaterThan(0);
      expect(receipt.probe).toMatchObject({ failed: 0 });
      expect(receipt.probe.sent).toBeGreaterThan(200);
      expect(fs.existsSync(path.join(receipts, dir, 'receipt.html'))).toBe(true);
    } finally {
      await browser.close();
      if (!keep) fs.rmSync(receipts, { recursive: true, force: true });
    }
  });
});
