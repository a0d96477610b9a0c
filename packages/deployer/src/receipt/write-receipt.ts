import fs from 'node:fs';
import path from 'node:path';
import type { Receipt } from './build-receipt';
import { renderReceiptHtml } from './receipt-html';

/**
 * Writes <parent>/<receipt id>/receipt.json and receipt.html; returns the folder. Each file is
 * written beside and renamed into place, so an interrupted write never leaves half a receipt.
 */
export function writeReceipt(parent: string, receipt: Receipt): string {
  let dir = path.join(parent, receipt.id);
  // Two deploys in the same second: the second gets its own folder.
  for (let i = 2; fs.existsSync(dir); i++) dir = path.join(parent, `${receipt.id}-${i}`);
  fs.mkdirSync(dir, { recursive: true });
  const put = (name: string, text: string) => {
    const tmp = path.join(dir, `.${name}.tmp`);
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, path.join(dir, name));
  };
  put('receipt.json', JSON.stringify(receipt, null, 2) + '\n');
  put('receipt.html', renderReceiptHtml(receipt));
  return dir;
}

/** A folder name that sorts by time and says what the deploy was: 20261202T201530Z-canary-v2. */
export function receiptId(startedAt: Date, strategy: string, version: string): string {
  const stamp = startedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${strategy}-${version}`.replace(/[^A-Za-z0-9._-]/g, '_');
}
