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
  // @student 4C begin: the scanner's state: an iterator over the write family and the next user key to look at.
  private readonly iter: DBIterator;
  /** The smallest user key not yet considered; undefined once the family is exhausted. */
  private cursor: Uint8Array | undefined;
  // @student 4C stub
  //| // Your fields here.
  // @student 4C end

  constructor(
    startKey: Uint8Array,
    private readonly txn: MvccTxn,
  ) {
    // @student 4C begin: open an iterator over the write family of txn's reader; remember where to start.
    this.iter = txn.reader.iterCF('write');
    this.cursor = startKey;
    // @student 4C stub
    //| void startKey;
    // @student 4C end
  }

  /** The next visible pair, in ascending key order; undefined when there are no more. */
  async next(): Promise<ScannedPair | undefined> {
    // @student 4C begin: seek to (cursor, startTs); if that lands on a later user key, seek again at that key and startTs; walk the key's records newest first (skip rollbacks; a delete hides it; a put gives the value); move the cursor past the key.
    const startTs = this.txn.startTs;
    while (this.cursor !== undefined) {
      await this.iter.seek(encodeKey(this.cursor, startTs));
      if (!this.iter.valid()) {
        this.cursor = undefined;
        break;
      }
      const userKey = decodeUserKey(this.iter.item().key);
      if (!bytesEqual(userKey, this.cursor)) {
        // Landed on a later key, perhaps on a version newer than startTs: look at that key as of startTs.
        this.cursor = userKey;
        continue;
      }
      this.cursor = nextKey(userKey);
      const value = await this.visibleValue(userKey);
      if (value !== undefined) return { key: userKey, value };
    }
    return undefined;
    // @student 4C stub
    //| throw new NotImplemented('4C', 'Scanner.next');
    // @student 4C end
  }

  // @student 4C begin: helpers of the scanner.
  /** From the iterator's position (the newest record of userKey at or before startTs), the value a reader sees. */
  private async visibleValue(userKey: Uint8Array): Promise<Uint8Array | undefined> {
    for (; this.iter.valid(); await this.iter.next()) {
      const item = this.iter.item();
      if (!bytesEqual(decodeUserKey(item.key), userKey)) return undefined;
      const write = parseWrite(item.value);
      if (write.kind === WriteKind.Rollback) continue;
      if (write.kind === WriteKind.Delete) return undefined;
      return await this.txn.reader.getCF('default', encodeKey(userKey, write.startTs));
    }
    return undefined;
  }
  // @student 4C stub
  //| // Helpers of your own may go here.
  // @student 4C end

  /** Release the iterator. */
  async close(): Promise<void> {
    // @student 4C begin: close the iterator.
    await this.iter.close();
    // @student 4C stub
    //| // Release what you opened.
    // @student 4C end
  }
}
