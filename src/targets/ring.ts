/**
 * Fixed-size rings of recent runs: bounded memory however long the daemon runs. The
 * slot arithmetic lives here once; `Ring` keeps objects (STS probes, a few per IdP),
 * `run-history.ts` keeps typed-array columns through the same slots (thousands of IdPs).
 */
export class RingSlots {
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number) {}

  /** The slot the next item goes in; it then counts as written. */
  claim(): number {
    const slot = this.next;
    this.next = (slot + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
    return slot;
  }

  get size(): number {
    return this.count;
  }

  /** The written slots, oldest first. */
  order(): number[] {
    const first = this.count < this.capacity ? 0 : this.next;
    return Array.from({ length: this.count }, (_, k) => (first + k) % this.capacity);
  }
}

/** A ring of objects. */
export class Ring<T> {
  private readonly slots: RingSlots;
  private readonly items: T[] = [];

  constructor(readonly capacity: number) {
    this.slots = new RingSlots(capacity);
  }

  push(item: T): void {
    this.items[this.slots.claim()] = item;
  }

  /** Oldest first. */
  toArray(): T[] {
    return this.slots.order().map((slot) => this.items[slot]!);
  }

  get size(): number {
    return this.slots.size;
  }
}
