import path from 'node:path';
import { DEFAULT_RECEIPT_DIR, takeReceiptArgs } from './receipt-args';

describe('takeReceiptArgs', () => {
  it('takes the receipt options out and leaves the rest for the deploy parser', () => {
    const { receipt, rest } = takeReceiptArgs(['--version', 'v2', '--receipt', 'out', '--probe=50', '--strategy', 'canary']);
    expect(rest).toEqual(['--version', 'v2', '--strategy', 'canary']);
    expect(receipt).toEqual({ receiptDir: path.resolve('out'), probeRate: 50 });
  });

  it('defaults to the project folder; --no-receipt writes none', () => {
    expect(takeReceiptArgs([]).receipt.receiptDir).toBe(path.resolve(DEFAULT_RECEIPT_DIR));
    expect(takeReceiptArgs(['--no-receipt']).receipt.receiptDir).toBeNull();
  });

  it.each([
    [['--probe', 'fast'], '--probe: expected requests per second from 1 to 5000, got "fast"'],
    [['--probe', '0'], '--probe: expected requests per second from 1 to 5000, got "0"'],
    [['--receipt'], '--receipt: expected a value'],
    [['--probe-url', 'ftp://x'], '--probe-url: expected an http URL, got "ftp://x"'],
  ])('refuses %j with a message naming the option', (argv, message) => {
    expect(() => takeReceiptArgs(argv)).toThrow(message);
  });
});
