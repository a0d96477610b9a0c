import path from 'node:path';
import { DeployError } from '../lb-client/deploy-error';

/** Where receipts go unless --receipt says otherwise (relative to the working directory; git-ignored). */
export const DEFAULT_RECEIPT_DIR = 'deploy-receipts';

export interface ReceiptArgs {
  /** Parent folder: each deploy writes <dir>/<id>/receipt.{json,html}. null: --no-receipt. */
  receiptDir: string | null;
  /** Requests/s the load checker sends through the balancer during the deploy; 0: no probe. */
  probeRate: number;
  /** The balancer's traffic URL for the probe (default: the lab's). */
  probeUrl?: string;
}

export const RECEIPT_USAGE = `Receipt and dashboard:
  --receipt <dir>          write <dir>/<deploy id>/receipt.json and receipt.html (default: ${DEFAULT_RECEIPT_DIR})
  --no-receipt             write no receipt
  --probe <rate>           also drive the load checker through the balancer during the deploy at <rate>
                           requests/s and add its client-side counts (sent, failed, p50/p99) to the receipt
  --probe-url <url>        the balancer's traffic URL for --probe (default: the lab's, port 8080 for compose)`;

/**
 * Takes the receipt options out of the command line, so the deploy's own parser never sees them.
 * Returns the rest unchanged.
 */
export function takeReceiptArgs(argv: readonly string[]): { receipt: ReceiptArgs; rest: string[] } {
  const receipt: ReceiptArgs = { receiptDir: path.resolve(DEFAULT_RECEIPT_DIR), probeRate: 0 };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].startsWith('--') ? (argv[i].split(/=(.*)/s, 2) as [string, string | undefined]) : [argv[i], undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new DeployError('DEPLOY_ERR_ARGS', `${flag}: expected a value`);
      return v;
    };
    switch (flag) {
      case '--receipt':
        receipt.receiptDir = path.resolve(value());
        break;
      case '--no-receipt':
        receipt.receiptDir = null;
        break;
      case '--probe': {
        const raw = value();
        const rate = Number(raw);
        if (!Number.isFinite(rate) || rate <= 0 || rate > 5000) throw new DeployError('DEPLOY_ERR_ARGS', `--probe: expected requests per second from 1 to 5000, got "${raw}"`);
        receipt.probeRate = rate;
        break;
      }
      case '--probe-url': {
        const raw = value();
        let u: URL;
        try {
          u = new URL(raw);
        } catch {
          throw new DeployError('DEPLOY_ERR_ARGS', `--probe-url: expected an http URL, got "${raw}"`);
        }
        if (u.protocol !== 'http:') throw new DeployError('DEPLOY_ERR_ARGS', `--probe-url: expected an http URL, got "${raw}"`);
        receipt.probeUrl = raw.replace(/\/+$/, '');
        break;
      }
      default:
        rest.push(argv[i]);
    }
  }
  return { receipt, rest };
}
