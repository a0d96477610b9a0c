/// <reference lib="dom" />
// page.evaluate() bodies run in the browser: they use the DOM types.
import type { Page } from 'playwright-core';

/** What the dashboard page showed at one moment, read from its DOM. */
export interface Look {
  at: number;
  names: string[];
  versions: string[];
  /** The canary version's share in the chart's legend (latest second), in %. */
  share: number | null;
  failed: string;
  deployStatus: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Reads the page every `everyMs` until stopped. `screenshot`: a file to keep a picture in, taken
 * once the canary share is about half (mid-canary).
 */
export function watchDashboard(page: Page, canaryVersion: string, screenshot?: string, everyMs = 250): { stop(): Promise<Look[]> } {
  const looks: Look[] = [];
  let watching = true;
  let shot = false;
  const loop = (async () => {
    while (watching) {
      const look = await page.evaluate((version) => {
        const share = (document.querySelector(`#legend [data-version="${version}"]`) as HTMLElement | null)?.dataset.share;
        return {
          names: Array.from(document.querySelectorAll('#upstreams .up')).map((e) => (e as HTMLElement).dataset.upstream ?? ''),
          versions: Array.from(document.querySelectorAll('#upstreams .up .ver')).map((e) => e.textContent ?? ''),
          share: share && share !== '–' ? Number(share.replace('%', '')) : null,
          failed: document.querySelector('#failed')?.textContent ?? '',
          deployStatus: document.querySelector('#deploy-head .badge')?.textContent ?? '',
        };
      }, canaryVersion);
      looks.push({ at: Date.now(), ...look });
      if (screenshot && !shot && look.share !== null && look.share >= 40 && look.share <= 60) {
        shot = true;
        await sleep(2500);
        await page.screenshot({ path: screenshot, fullPage: true });
      }
      await sleep(everyMs);
    }
  })();
  return {
    stop: async () => {
      watching = false;
      await loop;
      return looks;
    },
  };
}

/** Indexes of a first look in (0, 25] %, a later one in [35, 65] %, a later one ≥ 95 % (-1 where none). */
export function risingShare(looks: readonly Look[]): [number, number, number] {
  const shares = looks.map((l) => l.share ?? 0);
  const first = shares.findIndex((s) => s > 0 && s <= 25);
  const second = first < 0 ? -1 : shares.findIndex((s, i) => i > first && s >= 35 && s <= 65);
  const third = second < 0 ? -1 : shares.findIndex((s, i) => i > second && s >= 95);
  return [first, second, third];
}
