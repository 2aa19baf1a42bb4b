/**
 * Errors of the MVCC layer. They name what was malformed so a failing test points at the cause.
 */

/** Base class of every error raised by kv/transaction. */
export class TxnError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A stored key or value that cannot be decoded (a lock, a write record, an encoded key). */
export class MvccCorruptionError extends TxnError {}

/** A timestamp outside the 64-bit unsigned range. */
export class InvalidTimestampError extends TxnError {
  constructor(what: string, ts: bigint) {
    super(`${what}: timestamp ${ts} is outside 0 .. 2^64-1`);
  }
}
