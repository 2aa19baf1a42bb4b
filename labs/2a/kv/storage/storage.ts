/**
 * The Storage interface: what the server's handlers (raw API in Project 1, transactions in Project 4)
 * see of the store below them. Project 1 implements it over one local engine (standalone storage);
 * Project 2 implements it over raft (raft storage). Handlers never know which one they talk to.
 */

import type { kvrpcpb } from '#proto';

/** The column families of the kv engine. Each lives in its own ordered key range. */
export type ColumnFamily = 'default' | 'lock' | 'write';
export const COLUMN_FAMILIES: readonly ColumnFamily[] = ['default', 'lock', 'write'];

export function isColumnFamily(name: string): name is ColumnFamily {
  return (COLUMN_FAMILIES as readonly string[]).includes(name);
}

/** One change in a write batch. */
export type Modify =
  | { type: 'put'; cf: ColumnFamily; key: Uint8Array; value: Uint8Array }
  | { type: 'delete'; cf: ColumnFamily; key: Uint8Array };

/** A key/value pair the iterator is positioned on. Keys are user keys (the family prefix removed). */
export interface DBItem {
  key: Uint8Array;
  value: Uint8Array;
}

/**
 * An ascending iterator over one column family of a consistent snapshot.
 * A fresh iterator is not positioned: call seek() (an empty key seeks to the first key) before valid().
 */
export interface DBIterator {
  /** Position at the first key >= `key` in this family. */
  seek(key: Uint8Array): Promise<void>;
  /** True while positioned on an item. */
  valid(): boolean;
  /** The current item; only while valid(). */
  item(): DBItem;
  /** Move to the next key of this family. */
  next(): Promise<void>;
  /** Release the iterator. Safe to call twice. */
  close(): Promise<void>;
}

/** A consistent, read-only view of the storage. Close it when done. */
export interface StorageReader {
  /** The value of `key` in family `cf`, or undefined when there is none. */
  getCF(cf: ColumnFamily, key: Uint8Array): Promise<Uint8Array | undefined>;
  /** A new iterator over family `cf` of this reader's snapshot. */
  iterCF(cf: ColumnFamily): DBIterator;
  close(): Promise<void>;
}

/**
 * Request context passed through from the wire (kvrpcpb.Context: region id, epoch, peer, term); standalone
 * storage ignores it, raft storage routes by it. A request's `context` field can be passed as it is.
 */
export type StorageContext = Partial<kvrpcpb.Context>;

export interface Storage {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Apply every modification in `batch` atomically: all or none. */
  write(ctx: StorageContext | undefined, batch: Modify[]): Promise<void>;
  /** Open a reader over a consistent snapshot taken now. */
  reader(ctx: StorageContext | undefined): Promise<StorageReader>;
}
