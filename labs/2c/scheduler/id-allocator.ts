/**
 * Ids for stores, regions and peers (one sequence: 1, 2, 3, ...), and timestamps for transactions (TSO:
 * physical milliseconds << 18 | a logical counter, never going back).
 */

export class IdAllocator {
  constructor(private last = 0) {}

  alloc(): number {
    return ++this.last;
  }

  /** The last id handed out (to persist). */
  get current(): number {
    return this.last;
  }
}

export const TSO_LOGICAL_BITS = 18;
const LOGICAL_LIMIT = 1 << TSO_LOGICAL_BITS;

export class TimestampOracle {
  private physical = 0;
  private logical = 0;

  constructor(private readonly nowMs: () => number) {}

  /** `count` consecutive timestamps; returns the last one. Always above every earlier answer. */
  next(count = 1): bigint {
    if (!Number.isInteger(count) || count < 1 || count >= LOGICAL_LIMIT) throw new RangeError(`TSO: count must be in [1, ${LOGICAL_LIMIT - 1}], got ${count}`);
    const now = Math.floor(this.nowMs());
    if (now > this.physical) {
      this.physical = now;
      this.logical = 0;
    }
    if (this.logical + count >= LOGICAL_LIMIT) {
      // The logical part is used up for this millisecond: move on to the next one.
      this.physical++;
      this.logical = 0;
    }
    this.logical += count;
    return (BigInt(this.physical) << BigInt(TSO_LOGICAL_BITS)) | BigInt(this.logical);
  }
}
