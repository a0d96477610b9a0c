/**
 * The bytes of request bodies held for retries, across all requests: each buffered body reserves
 * its bytes here and gives them back when its request ends. Beyond the budget a body is streamed
 * once without retry, so memory stays bounded whatever clients send (150 clients each holding
 * 1 MiB would otherwise pin 150 MiB).
 */
export class BufferBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  get inUse(): number {
    return this.used;
  }

  /** Takes `bytes` if they fit; false (and nothing taken) otherwise. */
  reserve(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}
