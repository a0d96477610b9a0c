/** A request waiting for an upstream's response headers; can be aborted when the upstream is declared dead. */
export interface PendingRequest {
  abortAsDead(): void;
  pendingOwner?: PendingList;
  pendingPrev?: PendingRequest;
  pendingNext?: PendingRequest;
}

/**
 * The requests waiting on one upstream, as an intrusive doubly linked list rather than a Set:
 * an add and a delete per request on a long-lived Set keeps V8 rehashing and promoting its tables,
 * which measured ~10 µs of GC per request and full collections under load (bench profile); the
 * links live on the request object itself and cost nothing to collect.
 */
export class PendingList implements Iterable<PendingRequest> {
  private head?: PendingRequest;
  size = 0;

  add(p: PendingRequest): void {
    if (p.pendingOwner === this) return;
    p.pendingOwner = this;
    p.pendingPrev = undefined;
    p.pendingNext = this.head;
    if (this.head) this.head.pendingPrev = p;
    this.head = p;
    this.size++;
  }

  delete(p: PendingRequest): boolean {
    if (p.pendingOwner !== this) return false;
    if (p.pendingPrev) p.pendingPrev.pendingNext = p.pendingNext;
    else this.head = p.pendingNext;
    if (p.pendingNext) p.pendingNext.pendingPrev = p.pendingPrev;
    p.pendingOwner = p.pendingPrev = p.pendingNext = undefined;
    this.size--;
    return true;
  }

  *[Symbol.iterator](): Iterator<PendingRequest> {
    for (let p = this.head; p; p = p.pendingNext) yield p;
  }
}
