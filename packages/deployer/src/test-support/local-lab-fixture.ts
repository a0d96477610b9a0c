import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LoadChecker } from '@zdl/loadcheck';
import { HttpLbAdmin } from '../lb-client/http-lb-admin';
import { LocalLab, type LocalLabOptions } from '../local-lab';

/** Starts a local lab (real processes on loopback), waits until both instances are in rotation. */
export async function withLocalLab(fn: (lab: LocalLab, lb: HttpLbAdmin) => Promise<void>, options: Omit<LocalLabOptions, 'dir'> = {}): Promise<void> {
  const lab = new LocalLab({ ...options, dir: fs.mkdtempSync(path.join(os.tmpdir(), 'zdl-local-')) });
  await lab.start();
  try {
    const lb = new HttpLbAdmin(lab.adminUrl, lab.state.adminToken);
    const began = Date.now();
    while ((await lb.list()).some((u) => u.state !== 'healthy')) {
      if (Date.now() - began > 10_000) throw new Error('lab did not become healthy');
      await new Promise((r) => setTimeout(r, 50));
    }
    await fn(lab, lb);
  } finally {
    await lab.stop();
  }
}

/** The load every deploy test drives: GETs, POSTs with JSON bodies and 2 s requests. */
export function startLoad(lbUrl: string, rate = 200) {
  const l = {
    get: new LoadChecker({ url: `${lbUrl}/api`, rate }),
    post: new LoadChecker({ url: `${lbUrl}/api`, rate: 20, method: 'POST', body: { order: 7, items: ['a', 'b'] } }),
    slow: new LoadChecker({ url: `${lbUrl}/api?delayMs=2000`, rate: 5 }),
  };
  Object.values(l).forEach((x) => x.start());
  return {
    ...l,
    stop: async () => {
      const [get, post, slow] = await Promise.all([l.get.stop(), l.post.stop(), l.slow.stop()]);
      return { get, post, slow };
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
