/**
 * Where an Engine keeps its bytes: one ordered key space with atomic batch writes, point reads (also
 * synchronous), bounded iterators and consistent snapshots. The Engine (engine.ts) puts column families,
 * group commit and its checks on top; a store only stores.
 *
 * Two stores exist: classic-level on disk (level-store.ts, used by the servers and by default), and the
 * simulation's disk (harness/sim/disk.ts), an in-memory store with an explicit durability model, injected
 * through EngineOptions.store. Both order keys bytewise and give each snapshot a frozen view.
 */

/** One change of a batch. Keys and values are the engine's own copies. */
export type StoreOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

/** A frozen view of a store, made by snapshot(): pass it to get/getSync/iterator; close it when done. */
export interface StoreSnapshot {
  close(): Promise<void>;
}

/** An ascending iterator over [gte, lt). Not positioned until seek(). */
export interface StoreIterator {
  /** Position at the first key >= `key` (within the bounds). */
  seek(key: Buffer): void;
  /** The entry at the position, then move past it; undefined at the end. */
  next(): Promise<[Buffer, Buffer] | undefined>;
  close(): Promise<void>;
}

export interface EngineStore {
  /** Open (creating if needed). Fails if it cannot (e.g. another process holds it). */
  open(): Promise<void>;
  close(): Promise<void>;
  /** Apply `ops` atomically, in order. `sync`: make it durable across a power loss before resolving. */
  write(ops: readonly StoreOp[], sync: boolean): Promise<void>;
  get(key: Buffer, snapshot?: StoreSnapshot): Promise<Buffer | undefined>;
  getSync(key: Buffer, snapshot?: StoreSnapshot): Buffer | undefined;
  iterator(bounds: { gte: Buffer; lt: Buffer }, snapshot?: StoreSnapshot): StoreIterator;
  snapshot(): StoreSnapshot;
}

/** Makes the store an engine keeps in directory `path`. */
export type EngineStoreFactory = (path: string) => EngineStore;
