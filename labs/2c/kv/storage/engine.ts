/**
 * The storage engine: one ordered key space (a LevelDB database by default, see engine-store.ts) holding
 *   - three column families, `default`, `lock` and `write`, for user data, and
 *   - a "meta" range for the store's own bookkeeping (raft log, raft/region/apply state in later projects).
 *
 * The store has one flat ordered key space, so each range gets its own key prefix. The prefixes are chosen so
 * that no prefix is a prefix of another; every range is then one contiguous, ordered stretch of the key space,
 * and an iterator bounded to [prefix, prefixEnd) sees exactly one family, in user-key order.
 *
 * A store opens two engines (as TinyKV does): the kv engine (column families + region/apply state in meta)
 * and the raft engine (raft log and raft state in meta).
 *
 * What the engine promises:
 *   - write(batch) applies a WriteBatch atomically (all of it or none of it); concurrent writes are grouped
 *     into one store write (group commit), each batch still atomic and in call order.
 *   - snapshot() gives a reader whose reads and iterators all see one point in time.
 *   - getCFSync / getMetaSync read synchronously (raft's storage interface cannot await).
 */
import { rm } from 'node:fs/promises';
import type { EngineStore, EngineStoreFactory, StoreIterator, StoreOp, StoreSnapshot } from './engine-store.ts';
import { LevelStore } from './level-store.ts';
import { isColumnFamily, type ColumnFamily, type DBItem, type DBIterator } from './storage.ts';
import {
  EngineClosedError,
  EngineOpenError,
  InvalidBytesError,
  IteratorStateError,
  UnknownColumnFamilyError,
  WriteBatchUsedError,
} from './errors.ts';

type BatchOp = StoreOp;

/** A key range of the engine: every key in it starts with `prefix`. */
interface KeyRange {
  readonly prefix: Buffer;
  /** The first key after every key that starts with `prefix` (the prefix with its last byte + 1). */
  readonly end: Buffer;
}

function keyRange(prefix: string): KeyRange {
  const start = Buffer.from(prefix, 'latin1');
  const end = Buffer.from(start);
  end[end.length - 1] += 1; // prefixes end in '/', so this never overflows
  return { prefix: start, end };
}

// The prefixes end in '/' (0x2f) and none is a prefix of another: the four ranges never overlap.
const CF_RANGES: Record<ColumnFamily, KeyRange> = {
  default: keyRange('default/'),
  lock: keyRange('lock/'),
  write: keyRange('write/'),
};
const META_RANGE: KeyRange = keyRange('meta/');
const FAMILY_RANGES: readonly [ColumnFamily | 'meta', KeyRange][] = [
  ...(Object.entries(CF_RANGES) as [ColumnFamily, KeyRange][]),
  ['meta', META_RANGE],
];

/**
 * Bytes a pair of family `cf` takes as stored: the family's prefix, the key and the value. Region sizes (the
 * split checker, 3B) are counted this way, as TinyKV counts its prefixed keys.
 */
export function storedPairSize(cf: ColumnFamily, key: Uint8Array, value: Uint8Array): number {
  return rangeOfCF(cf).prefix.length + key.length + value.length;
}

function rangeOfCF(cf: ColumnFamily): KeyRange {
  // Callers may come from untyped input (the wire), so check the name at run time too.
  if (!isColumnFamily(cf)) throw new UnknownColumnFamilyError(String(cf));
  return CF_RANGES[cf];
}

function checkBytes(what: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new InvalidBytesError(what, value);
  return value;
}

/** The engine key of `key` in `range` (a fresh buffer: later changes to `key` do not leak in). */
function engineKey(range: KeyRange, key: Uint8Array): Buffer {
  return Buffer.concat([range.prefix, key]);
}

/** A copy of `bytes` as a Buffer, so a batch keeps the value it was given even if the caller reuses its array. */
function copyBytes(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes);
}

/** One change of a WriteBatch as contents() shows it: a put (with its value) or a delete. */
export interface BatchChange {
  family: ColumnFamily | 'meta';
  key: Uint8Array;
  /** The value put; undefined for a delete. */
  value?: Uint8Array;
}

/** The family (or 'meta') of an engine key and the key inside it. */
function splitEngineKey(engineKeyBytes: Buffer): { family: ColumnFamily | 'meta'; key: Uint8Array } {
  for (const [family, range] of FAMILY_RANGES) {
    if (engineKeyBytes.subarray(0, range.prefix.length).equals(range.prefix)) {
      return { family, key: engineKeyBytes.subarray(range.prefix.length) };
    }
  }
  // Every key a batch holds was made by engineKey with one of these prefixes.
  throw new Error(`engine key ${engineKeyBytes.toString('hex')} has no family prefix`);
}

/**
 * A set of puts and deletes applied atomically by Engine.write. Build it, write it once, drop it.
 * Changes apply in the order they were added (a later put of the same key wins).
 */
export class WriteBatch {
  private ops: BatchOp[] = [];
  private bytes = 0;
  private safePoint = { count: 0, bytes: 0 };
  private isWritten = false;

  putCF(cf: ColumnFamily, key: Uint8Array, value: Uint8Array): this {
    this.checkUnwritten('WriteBatch.putCF');
    const range = rangeOfCF(cf);
    checkBytes('key', key);
    checkBytes('value', value);
    this.ops.push({ type: 'put', key: engineKey(range, key), value: copyBytes(value) });
    this.bytes += key.length + value.length;
    return this;
  }

  deleteCF(cf: ColumnFamily, key: Uint8Array): this {
    this.checkUnwritten('WriteBatch.deleteCF');
    const range = rangeOfCF(cf);
    checkBytes('key', key);
    this.ops.push({ type: 'del', key: engineKey(range, key) });
    this.bytes += key.length;
    return this;
  }

  /** Put a raw meta key (raft state, region state, log entries...). The value is stored as given. */
  putMeta(key: Uint8Array, value: Uint8Array): this {
    this.checkUnwritten('WriteBatch.putMeta');
    checkBytes('meta key', key);
    checkBytes('meta value', value);
    this.ops.push({ type: 'put', key: engineKey(META_RANGE, key), value: copyBytes(value) });
    this.bytes += key.length + value.length;
    return this;
  }

  deleteMeta(key: Uint8Array): this {
    this.checkUnwritten('WriteBatch.deleteMeta');
    checkBytes('meta key', key);
    this.ops.push({ type: 'del', key: engineKey(META_RANGE, key) });
    this.bytes += key.length;
    return this;
  }

  /**
   * The changes queued so far, oldest first, with the family (or 'meta') and the key as the caller gave them
   * (tests and invariant checkers read a batch this way before it is written; nothing changes).
   */
  contents(): BatchChange[] {
    return this.ops.map((op) => {
      const { family, key } = splitEngineKey(op.key);
      return op.type === 'put' ? { family, key, value: op.value } : { family, key };
    });
  }

  /** Number of changes in the batch. */
  get count(): number {
    return this.ops.length;
  }

  /** Approximate payload size in bytes (keys + values), for deciding when to flush a growing batch. */
  get byteSize(): number {
    return this.bytes;
  }

  isEmpty(): boolean {
    return this.ops.length === 0;
  }

  get written(): boolean {
    return this.isWritten;
  }

  /** Remember the current end of the batch; rollbackToSafePoint() drops everything added after it. */
  setSafePoint(): void {
    this.checkUnwritten('WriteBatch.setSafePoint');
    this.safePoint = { count: this.ops.length, bytes: this.bytes };
  }

  rollbackToSafePoint(): void {
    this.checkUnwritten('WriteBatch.rollbackToSafePoint');
    this.ops.length = this.safePoint.count;
    this.bytes = this.safePoint.bytes;
  }

  /** Engine use only: hand the changes over and mark the batch as written. */
  takeForWrite(): BatchOp[] {
    this.checkUnwritten('Engine.write');
    this.isWritten = true;
    const ops = this.ops;
    this.ops = [];
    return ops;
  }

  private checkUnwritten(what: string): void {
    if (this.isWritten) throw new WriteBatchUsedError(what);
  }
}

export interface EngineOptions {
  /**
   * fsync every write. Off by default: a write is then safe across a process crash or kill (the data is in
   * the operating system's cache) but not across a power loss. Turn on for real durability.
   */
  syncWrites?: boolean;
  /** Where the engine keeps its bytes (default: a LevelDB database in the directory). */
  store?: EngineStoreFactory;
}

/** Bounds of an iterator inside its range. */
export interface IterOptions {
  /** Exclusive upper bound (a user key). Without it the iterator runs to the end of its family. */
  end?: Uint8Array;
}

interface QueuedWrite {
  ops: BatchOp[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class Engine {
  readonly path: string;
  private readonly db: EngineStore;
  private readonly syncWrites: boolean;
  private closed = false;
  /** Batches waiting for the next group commit. */
  private queue: QueuedWrite[] = [];
  /** The running group-commit loop, if any. */
  private flushing: Promise<void> | undefined;
  private readonly openSnapshots = new Set<EngineSnapshot>();
  /** Counters for tests and benchmarks: batches written, and the store writes that carried them. */
  readonly stats = { batches: 0, storeWrites: 0 };

  private constructor(path: string, db: EngineStore, options: EngineOptions) {
    this.path = path;
    this.db = db;
    this.syncWrites = options.syncWrites ?? false;
  }

  /** Open (creating if needed) the engine stored in directory `path`. */
  static async open(path: string, options: EngineOptions = {}): Promise<Engine> {
    if (typeof path !== 'string' || path === '') throw new EngineOpenError(String(path), 'the path is empty');
    const db = options.store === undefined ? new LevelStore(path) : options.store(path);
    try {
      await db.open();
    } catch (err) {
      throw new EngineOpenError(path, err);
    }
    return new Engine(path, db, options);
  }

  /** Delete an engine's directory and everything in it (tests, and replacing a store). */
  static async destroy(path: string): Promise<void> {
    await rm(path, { recursive: true, force: true });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Wait for queued writes, release open snapshots, and close the database. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flushing;
    for (const snapshot of [...this.openSnapshots]) await snapshot.close();
    await this.db.close();
  }

  // ---- writes ----

  /**
   * Apply `batch` atomically. Resolves once the change is in the engine (readers started afterwards see it).
   * A batch can be written once; writing it again is an error.
   */
  write(batch: WriteBatch): Promise<void> {
    if (this.closed) return Promise.reject(new EngineClosedError('Engine.write'));
    let ops: BatchOp[];
    try {
      ops = batch.takeForWrite();
    } catch (err) {
      return Promise.reject(err); // always fail through the promise, never by a synchronous throw
    }
    if (ops.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ ops, resolve, reject });
      if (this.flushing === undefined) this.flushing = this.flushQueue();
    });
  }

  /**
   * Group commit: while one store write is in flight, later batches wait in the queue; the next write takes
   * all of them at once. Each batch lies whole inside one store write, so each stays atomic, and batches are
   * applied in the order write() was called.
   */
  private async flushQueue(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const group = this.queue;
        this.queue = [];
        const ops = group.length === 1 ? group[0].ops : group.flatMap((w) => w.ops);
        this.stats.batches += group.length;
        this.stats.storeWrites += 1;
        try {
          await this.writeOps(ops);
          for (const w of group) w.resolve();
        } catch (err) {
          for (const w of group) w.reject(err);
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private writeOps(ops: BatchOp[]): Promise<void> {
    return this.db.write(ops, this.syncWrites);
  }

  // ---- reads of the latest state ----

  async getCF(cf: ColumnFamily, key: Uint8Array): Promise<Uint8Array | undefined> {
    this.checkOpen('Engine.getCF');
    return this.db.get(engineKey(rangeOfCF(cf), checkBytes('key', key)));
  }

  /** Synchronous point read (for raft's storage interface, which cannot await). */
  getCFSync(cf: ColumnFamily, key: Uint8Array): Uint8Array | undefined {
    this.checkOpen('Engine.getCFSync');
    return this.db.getSync(engineKey(rangeOfCF(cf), checkBytes('key', key)));
  }

  async getMeta(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.checkOpen('Engine.getMeta');
    return this.db.get(engineKey(META_RANGE, checkBytes('meta key', key)));
  }

  getMetaSync(key: Uint8Array): Uint8Array | undefined {
    this.checkOpen('Engine.getMetaSync');
    return this.db.getSync(engineKey(META_RANGE, checkBytes('meta key', key)));
  }

  /** An iterator over family `cf` as it is now (the iterator keeps that view until closed). */
  iterCF(cf: ColumnFamily, options: IterOptions = {}): EngineIterator {
    this.checkOpen('Engine.iterCF');
    return new EngineIterator(this.db, rangeOfCF(cf), options, undefined);
  }

  /** An iterator over the meta range as it is now. */
  iterMeta(options: IterOptions = {}): EngineIterator {
    this.checkOpen('Engine.iterMeta');
    return new EngineIterator(this.db, META_RANGE, options, undefined);
  }

  // ---- consistent snapshots ----

  /** A read-only view fixed at this moment: every read and iterator of it sees the same state. */
  snapshot(): EngineSnapshot {
    this.checkOpen('Engine.snapshot');
    const snapshot = new EngineSnapshot(this.db, this.db.snapshot(), () => this.openSnapshots.delete(snapshot));
    this.openSnapshots.add(snapshot);
    return snapshot;
  }

  private checkOpen(what: string): void {
    if (this.closed) throw new EngineClosedError(what);
  }
}

/** A consistent read-only view of an engine. Close it when done (it closes its iterators too). */
export class EngineSnapshot {
  private readonly db: EngineStore;
  private readonly storeSnapshot: StoreSnapshot;
  private readonly onClose: () => void;
  private readonly iterators = new Set<EngineIterator>();
  private closing: Promise<void> | undefined;

  constructor(db: EngineStore, storeSnapshot: StoreSnapshot, onClose: () => void) {
    this.db = db;
    this.storeSnapshot = storeSnapshot;
    this.onClose = onClose;
  }

  get isClosed(): boolean {
    return this.closing !== undefined;
  }

  async getCF(cf: ColumnFamily, key: Uint8Array): Promise<Uint8Array | undefined> {
    this.checkOpen('EngineSnapshot.getCF');
    return this.db.get(engineKey(rangeOfCF(cf), checkBytes('key', key)), this.storeSnapshot);
  }

  getCFSync(cf: ColumnFamily, key: Uint8Array): Uint8Array | undefined {
    this.checkOpen('EngineSnapshot.getCFSync');
    return this.db.getSync(engineKey(rangeOfCF(cf), checkBytes('key', key)), this.storeSnapshot);
  }

  async getMeta(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.checkOpen('EngineSnapshot.getMeta');
    return this.db.get(engineKey(META_RANGE, checkBytes('meta key', key)), this.storeSnapshot);
  }

  getMetaSync(key: Uint8Array): Uint8Array | undefined {
    this.checkOpen('EngineSnapshot.getMetaSync');
    return this.db.getSync(engineKey(META_RANGE, checkBytes('meta key', key)), this.storeSnapshot);
  }

  iterCF(cf: ColumnFamily, options: IterOptions = {}): EngineIterator {
    this.checkOpen('EngineSnapshot.iterCF');
    return this.track(new EngineIterator(this.db, rangeOfCF(cf), options, this.storeSnapshot));
  }

  iterMeta(options: IterOptions = {}): EngineIterator {
    this.checkOpen('EngineSnapshot.iterMeta');
    return this.track(new EngineIterator(this.db, META_RANGE, options, this.storeSnapshot));
  }

  /** Close the iterators still open on this snapshot, then release it. Safe to call twice. */
  close(): Promise<void> {
    if (this.closing === undefined) this.closing = this.release();
    return this.closing;
  }

  private async release(): Promise<void> {
    // Iterators read through the snapshot, so they must go first.
    for (const it of [...this.iterators]) await it.close();
    await this.storeSnapshot.close();
    this.onClose();
  }

  private track(it: EngineIterator): EngineIterator {
    this.iterators.add(it);
    it.onClose = () => this.iterators.delete(it);
    return it;
  }

  private checkOpen(what: string): void {
    if (this.closing !== undefined) throw new EngineClosedError(`${what} on a closed snapshot`);
  }
}

/**
 * An ascending iterator over one range (a column family or the meta range), yielding user keys
 * (the range prefix removed). Not positioned until seek() is called; seek(empty) goes to the first key.
 */
export class EngineIterator implements DBIterator {
  private readonly range: KeyRange;
  private readonly storeIterator: StoreIterator;
  private current: DBItem | undefined;
  private isClosed = false;
  private busy = false;
  /** Set by the owning snapshot to forget this iterator once it closes. */
  onClose: (() => void) | undefined;

  constructor(db: EngineStore, range: KeyRange, options: IterOptions, snapshot: StoreSnapshot | undefined) {
    this.range = range;
    const upper = options.end === undefined ? range.end : engineKey(range, checkBytes('end', options.end));
    this.storeIterator = db.iterator({ gte: range.prefix, lt: upper }, snapshot);
  }

  async seek(key: Uint8Array): Promise<void> {
    this.checkUsable('seek');
    this.storeIterator.seek(engineKey(this.range, checkBytes('seek key', key)));
    await this.advance();
  }

  valid(): boolean {
    return !this.isClosed && this.current !== undefined;
  }

  item(): DBItem {
    if (this.isClosed) throw new IteratorStateError('item() called on a closed iterator');
    if (this.current === undefined) {
      throw new IteratorStateError('item() called while the iterator is not valid (seek first, and check valid())');
    }
    return this.current;
  }

  async next(): Promise<void> {
    this.checkUsable('next');
    if (this.current === undefined) {
      throw new IteratorStateError('next() called while the iterator is not valid (seek first, and check valid())');
    }
    await this.advance();
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.current = undefined;
    await this.storeIterator.close();
    this.onClose?.();
  }

  private async advance(): Promise<void> {
    this.busy = true;
    try {
      const entry = await this.storeIterator.next();
      this.current = entry === undefined ? undefined : { key: entry[0].subarray(this.range.prefix.length), value: entry[1] };
    } finally {
      this.busy = false;
    }
  }

  private checkUsable(what: string): void {
    if (this.isClosed) throw new IteratorStateError(`${what}() called on a closed iterator`);
    if (this.busy) throw new IteratorStateError(`${what}() called while a previous seek()/next() is still running (await it)`);
  }
}
