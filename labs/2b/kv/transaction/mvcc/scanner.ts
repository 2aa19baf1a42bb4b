/**
 * Scanner: reads consecutive user keys as a transaction sees them at its start timestamp (Project 4C).
 *
 * The write family holds many records per user key (newest first). A scan must return one pair per user key:
 * the value of the newest put committed at or before startTs, skipping rollback records, and skipping the key
 * altogether when that newest change is a delete (or when the key has no change that old).
 */
import type { DBIterator } from '../../storage/storage.ts';
import { NotImplemented } from '../../../util/not-implemented.ts';
import { bytesEqual, nextKey } from '../../../util/bytes.ts';
import { decodeUserKey, encodeKey } from './codec.ts';
import type { MvccTxn } from './transaction.ts';
import { parseWrite, WriteKind } from './write.ts';

export interface ScannedPair {
  key: Uint8Array;
  value: Uint8Array;
}

export class Scanner {
  // Your code here (4C): the scanner's state: an iterator over the write family and the next user key to look at.
  // Your fields here.
  // End of your code (4C).

  constructor(
    startKey: Uint8Array,
    private readonly txn: MvccTxn,
  ) {
    // Your code here (4C): open an iterator over the write family of txn's reader; remember where to start.
    void startKey;
    // End of your code (4C).
  }

  /** The next visible pair, in ascending key order; undefined when there are no more. */
  async next(): Promise<ScannedPair | undefined> {
    // Your code here (4C): seek to (cursor, startTs); if that lands on a later user key, seek again at that key and startTs; walk the key's records newest first (skip rollbacks; a delete hides it; a put gives the value); move the cursor past the key.
    throw new NotImplemented('4C', 'Scanner.next');
    // End of your code (4C).
  }

  // Your code here (4C): helpers of the scanner.
  // Helpers of your own may go here.
  // End of your code (4C).

  /** Release the iterator. */
  async close(): Promise<void> {
    // Your code here (4C): close the iterator.
    // Release what you opened.
    // End of your code (4C).
  }
}
