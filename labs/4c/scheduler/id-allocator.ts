/**
 * Ids for stores, regions and peers (one sequence: 1, 2, 3, ...), and timestamps for transactions (TSO:
 * physical milliseconds << 18 | a logical counter, never going back).
 *
 * Both can be bounded: a scheduler that persists them reserves a range on disk first (allowUpTo) and hands
 * out nothing beyond it, so after a restart, which starts from the reserved bound, no id or timestamp is
 * ever handed out twice. Without a bound (the simulation) they are unlimited.
 */

/** Asked for more than was reserved on disk: the reservation has not been written yet. Retry shortly. */
export class NotReservedError extends Error {
  override name = 'NotReservedError';
}

export class IdAllocator {
  private bound = Infinity;

  constructor(private last = 0) {}

  alloc(): number {
    if (this.last + 1 > this.bound) throw new NotReservedError(`id ${this.last + 1} is beyond the ids reserved so far (${this.bound})`);
    return ++this.last;
  }

  /** The last id handed out (to persist). */
  get current(): number {
    return this.last;
  }

  /** Ids up to `bound` may be handed out (they are reserved on disk). */
  allowUpTo(bound: number): void {
    this.bound = bound;
  }
}

export const TSO_LOGICAL_BITS = 18;
const LOGICAL_LIMIT = 1 << TSO_LOGICAL_BITS;

export class TimestampOracle {
  private physical: number;
  private logical = 0;
  private limit = Infinity;

  /** `startAt`: the physical ms to start from (after a restart: the bound reserved before it). */
  constructor(
    private readonly nowMs: () => number,
    startAt = 0,
  ) {
    this.physical = startAt;
  }

  /** `count` consecutive timestamps; returns the last one. Always above every earlier answer. */
  next(count = 1): bigint {
    if (!Number.isInteger(count) || count < 1 || count >= LOGICAL_LIMIT) throw new RangeError(`TSO: count must be in [1, ${LOGICAL_LIMIT - 1}], got ${count}`);
    let physical = this.physical;
    let logical = this.logical;
    const now = Math.floor(this.nowMs());
    if (now > physical) {
      physical = now;
      logical = 0;
    }
    if (logical + count >= LOGICAL_LIMIT) {
      // The logical part is used up for this millisecond: move on to the next one.
      physical++;
      logical = 0;
    }
    if (physical >= this.limit) throw new NotReservedError(`TSO: millisecond ${physical} is beyond the time reserved so far (${this.limit})`);
    this.physical = physical;
    this.logical = logical + count;
    return (BigInt(this.physical) << BigInt(TSO_LOGICAL_BITS)) | BigInt(this.logical);
  }

  /** The physical ms of the last answer (or the start). */
  get physicalMs(): number {
    return this.physical;
  }

  /** Answers may use physical ms below `limitMs` (reserved on disk). */
  allowUpTo(limitMs: number): void {
    this.limit = limitMs;
  }
}
