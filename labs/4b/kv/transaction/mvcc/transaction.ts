/**
 * MvccTxn: one command's view of the MVCC store (Project 4A).
 *
 * It reads through a StorageReader (a consistent snapshot) and buffers its changes as Modify records; the
 * command handler writes them all in one atomic batch at the end. It lowers the transaction concepts
 * (locks, values, write records, timestamps) to plain keys and values in the three column families:
 *
 *   lock    user key                      -> Lock     (at most one lock per key)
 *   default encodeKey(key, startTs)        -> value    (the data a transaction wrote)
 *   write   encodeKey(key, commitTs)       -> Write    (commit record: startTs and kind)
 *
 * Not to be confused with a client's (Percolator) transaction: an MvccTxn lives for one request only.
 */
import type { Modify, StorageReader } from '../../storage/storage.ts';
import { NotImplemented } from '../../../util/not-implemented.ts';
import { bytesEqual } from '../../../util/bytes.ts';
import { decodeTimestamp, decodeUserKey, encodeKey, TS_MAX } from './codec.ts';
import { Lock, parseLock } from './lock.ts';
import { parseWrite, Write, WriteKind } from './write.ts';

/** A write record found in the store, with the commit timestamp it is stored under. */
export interface FoundWrite {
  write: Write;
  commitTs: bigint;
}

export class MvccTxn {
  private readonly modifies: Modify[] = [];

  constructor(
    readonly reader: StorageReader,
    public startTs: bigint,
  ) {}

  /** Every change buffered so far, in order. */
  get writes(): readonly Modify[] {
    return this.modifies;
  }

  /** Record `write` for `key` at commit timestamp `ts`. */
  putWrite(key: Uint8Array, ts: bigint, write: Write): void {
    // Your code here (4A): buffer a put of the write record into the write family, under key encoded with ts.
    this.modifies.push({ type: 'put', cf: 'write', key: encodeKey(key, ts), value: write.toBytes() });
    // End of your code (4A).
  }

  /** The lock on `key`, or undefined when it is not locked. */
  async getLock(key: Uint8Array): Promise<Lock | undefined> {
    // Your code here (4A): read the lock family at the plain user key and parse what is there.
    const value = await this.reader.getCF('lock', key);
    return value === undefined ? undefined : parseLock(value);
    // End of your code (4A).
  }

  /** Lock `key` with `lock`. */
  putLock(key: Uint8Array, lock: Lock): void {
    // Your code here (4A): buffer a put into the lock family (plain user key, serialized lock).
    this.modifies.push({ type: 'put', cf: 'lock', key, value: lock.toBytes() });
    // End of your code (4A).
  }

  /** Remove the lock on `key`. */
  deleteLock(key: Uint8Array): void {
    // Your code here (4A): buffer a delete from the lock family.
    this.modifies.push({ type: 'delete', cf: 'lock', key });
    // End of your code (4A).
  }

  /**
   * The value of `key` visible at this transaction's start: the value of the newest put committed at or
   * before startTs. Undefined when there is none, or when the newest such change is a delete.
   */
  async getValue(key: Uint8Array): Promise<Uint8Array | undefined> {
    // Your code here (4A): seek the write family to (key, startTs); walk this key's records newest first, skipping rollbacks; a put names the value's startTs in default, a delete means no value.
    const iter = this.reader.iterCF('write');
    try {
      await iter.seek(encodeKey(key, this.startTs));
      for (; iter.valid(); await iter.next()) {
        const item = iter.item();
        if (!bytesEqual(decodeUserKey(item.key), key)) return undefined;
        const write = parseWrite(item.value);
        if (write.kind === WriteKind.Rollback) continue; // a rolled-back txn changed nothing
        if (write.kind === WriteKind.Delete) return undefined;
        return await this.reader.getCF('default', encodeKey(key, write.startTs));
      }
      return undefined;
    } finally {
      await iter.close();
    }
    // End of your code (4A).
  }

  /** Write `value` for `key` as this transaction's data. */
  putValue(key: Uint8Array, value: Uint8Array): void {
    // Your code here (4A): buffer a put into the default family under key encoded with startTs.
    this.modifies.push({ type: 'put', cf: 'default', key: encodeKey(key, this.startTs), value });
    // End of your code (4A).
  }

  /** Remove this transaction's data for `key`. */
  deleteValue(key: Uint8Array): void {
    // Your code here (4A): buffer a delete from the default family of key encoded with startTs.
    this.modifies.push({ type: 'delete', cf: 'default', key: encodeKey(key, this.startTs) });
    // End of your code (4A).
  }

  /**
   * The write record this transaction left on `key` (a commit or a rollback), found by its start timestamp,
   * with the commit timestamp it is stored under. Undefined when there is none.
   */
  async currentWrite(key: Uint8Array): Promise<FoundWrite | undefined> {
    // Your code here (4A): walk this key's write records newest first; commit timestamps are never below the start timestamp, so stop once they drop below startTs.
    const iter = this.reader.iterCF('write');
    try {
      await iter.seek(encodeKey(key, TS_MAX));
      for (; iter.valid(); await iter.next()) {
        const item = iter.item();
        if (!bytesEqual(decodeUserKey(item.key), key)) return undefined;
        const commitTs = decodeTimestamp(item.key);
        if (commitTs < this.startTs) return undefined;
        const write = parseWrite(item.value);
        if (write.startTs === this.startTs) return { write, commitTs };
      }
      return undefined;
    } finally {
      await iter.close();
    }
    // End of your code (4A).
  }

  /** The newest write record of `key` (of any transaction, any kind), or undefined when there is none. */
  async mostRecentWrite(key: Uint8Array): Promise<FoundWrite | undefined> {
    // Your code here (4A): seek the write family to (key, TS_MAX); the first record, if it is this key's, is the newest.
    const iter = this.reader.iterCF('write');
    try {
      await iter.seek(encodeKey(key, TS_MAX));
      if (!iter.valid()) return undefined;
      const item = iter.item();
      if (!bytesEqual(decodeUserKey(item.key), key)) return undefined;
      return { write: parseWrite(item.value), commitTs: decodeTimestamp(item.key) };
    } finally {
      await iter.close();
    }
    // End of your code (4A).
  }
}

/** Every lock of the transaction that started at `startTs`, with its key (a full scan of the lock family). */
export async function allLocksForTxn(reader: StorageReader, startTs: bigint): Promise<{ key: Uint8Array; lock: Lock }[]> {
  const found: { key: Uint8Array; lock: Lock }[] = [];
  const iter = reader.iterCF('lock');
  try {
    for (await iter.seek(new Uint8Array(0)); iter.valid(); await iter.next()) {
      const item = iter.item();
      const lock = parseLock(item.value);
      if (lock.ts === startTs) found.push({ key: item.key, lock });
    }
  } finally {
    await iter.close();
  }
  return found;
}
