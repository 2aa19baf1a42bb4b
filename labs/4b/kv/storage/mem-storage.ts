/**
 * MemStorage: the Storage interface held in memory, for tests (the transaction layer's tests in Project 4
 * build their data with set() and check it with get()/hasChanged()/len()).
 *
 * Each column family is a sorted array of entries. Writes never change an array in place: they build new
 * arrays (copy on write), so a reader keeps the arrays it saw when it was opened. That gives every reader
 * snapshot isolation for free, at the price of copying a family on each write (fine at test sizes).
 */
import {
  COLUMN_FAMILIES,
  isColumnFamily,
  type ColumnFamily,
  type DBItem,
  type DBIterator,
  type Modify,
  type Storage,
  type StorageContext,
  type StorageReader,
} from './storage.ts';
import { InvalidBytesError, IteratorStateError, StorageError, UnknownColumnFamilyError } from './errors.ts';
import { compareBytes } from '../../util/bytes.ts';

interface MemEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /** True when written by set() (test setup) and not overwritten by a Storage write since. */
  readonly fresh: boolean;
}

type Families = Readonly<Record<ColumnFamily, readonly MemEntry[]>>;

/** Index of the first entry whose key is >= `key` (entries.length when there is none). */
function lowerBound(entries: readonly MemEntry[], key: Uint8Array): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareBytes(entries[mid].key, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function findEntry(entries: readonly MemEntry[], key: Uint8Array): MemEntry | undefined {
  const at = lowerBound(entries, key);
  return at < entries.length && compareBytes(entries[at].key, key) === 0 ? entries[at] : undefined;
}

function checkFamily(cf: string): ColumnFamily {
  if (!isColumnFamily(cf)) throw new UnknownColumnFamilyError(cf);
  return cf;
}

function checkBytes(what: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new InvalidBytesError(what, value);
  return value;
}

export class MemStorage implements Storage {
  private families: Families = { default: [], lock: [], write: [] };

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  /** Apply the batch atomically: it is checked in full before anything changes. */
  async write(_ctx: StorageContext | undefined, batch: Modify[]): Promise<void> {
    for (const m of batch) {
      checkFamily(m.cf);
      checkBytes('key', m.key);
      if (m.type === 'put') checkBytes('value', m.value);
      else if (m.type !== 'delete') throw new StorageError(`unknown modify type ${JSON.stringify((m as { type: unknown }).type)}`);
    }
    const next: Record<ColumnFamily, MemEntry[] | undefined> = { default: undefined, lock: undefined, write: undefined };
    for (const m of batch) {
      const entries = (next[m.cf] ??= [...this.families[m.cf]]);
      if (m.type === 'put') upsert(entries, { key: m.key.slice(), value: m.value.slice(), fresh: false });
      else remove(entries, m.key);
    }
    this.families = {
      default: next.default ?? this.families.default,
      lock: next.lock ?? this.families.lock,
      write: next.write ?? this.families.write,
    };
  }

  async reader(_ctx: StorageContext | undefined): Promise<StorageReader> {
    return new MemoryReader(this.families);
  }

  // ---- test helpers (TinyKV's MemStorage offers the same) ----

  /** The current value of `key` in `cf`, or undefined. */
  get(cf: ColumnFamily, key: Uint8Array): Uint8Array | undefined {
    return findEntry(this.families[checkFamily(cf)], checkBytes('key', key))?.value;
  }

  /** Test setup: store `value` and mark the entry fresh (see hasChanged). */
  set(cf: ColumnFamily, key: Uint8Array, value: Uint8Array): void {
    const family = checkFamily(cf);
    const entries = [...this.families[family]];
    upsert(entries, { key: checkBytes('key', key).slice(), value: checkBytes('value', value).slice(), fresh: true });
    this.families = { ...this.families, [family]: entries };
  }

  /** True unless the key still holds exactly what set() put there (absent keys count as changed). */
  hasChanged(cf: ColumnFamily, key: Uint8Array): boolean {
    const entry = findEntry(this.families[checkFamily(cf)], checkBytes('key', key));
    return entry === undefined || !entry.fresh;
  }

  /** Number of keys in `cf`. */
  len(cf: ColumnFamily): number {
    return this.families[checkFamily(cf)].length;
  }

  /** Every family's entries, in order (for debugging and test output). */
  dump(): Record<ColumnFamily, DBItem[]> {
    const out = {} as Record<ColumnFamily, DBItem[]>;
    for (const cf of COLUMN_FAMILIES) out[cf] = this.families[cf].map((e) => ({ key: e.key, value: e.value }));
    return out;
  }
}

function upsert(entries: MemEntry[], entry: MemEntry): void {
  const at = lowerBound(entries, entry.key);
  if (at < entries.length && compareBytes(entries[at].key, entry.key) === 0) entries[at] = entry;
  else entries.splice(at, 0, entry);
}

function remove(entries: MemEntry[], key: Uint8Array): void {
  const at = lowerBound(entries, key);
  if (at < entries.length && compareBytes(entries[at].key, key) === 0) entries.splice(at, 1);
}

/** A reader over the family arrays as they were when it was opened. */
class MemoryReader implements StorageReader {
  private readonly families: Families;
  private closed = false;

  constructor(families: Families) {
    this.families = families;
  }

  async getCF(cf: ColumnFamily, key: Uint8Array): Promise<Uint8Array | undefined> {
    this.checkOpen('getCF');
    return findEntry(this.families[checkFamily(cf)], checkBytes('key', key))?.value;
  }

  iterCF(cf: ColumnFamily): DBIterator {
    this.checkOpen('iterCF');
    return new MemoryIterator(this.families[checkFamily(cf)]);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private checkOpen(what: string): void {
    if (this.closed) throw new IteratorStateError(`${what}() called on a closed reader`);
  }
}

class MemoryIterator implements DBIterator {
  private readonly entries: readonly MemEntry[];
  /** Position in entries; -1 before the first seek. */
  private position = -1;
  private closed = false;

  constructor(entries: readonly MemEntry[]) {
    this.entries = entries;
  }

  async seek(key: Uint8Array): Promise<void> {
    this.checkOpen('seek');
    this.position = lowerBound(this.entries, checkBytes('seek key', key));
  }

  valid(): boolean {
    return !this.closed && this.position >= 0 && this.position < this.entries.length;
  }

  item(): DBItem {
    this.checkOpen('item');
    if (!this.valid()) throw new IteratorStateError('item() called while the iterator is not valid (seek first, and check valid())');
    const entry = this.entries[this.position];
    return { key: entry.key, value: entry.value };
  }

  async next(): Promise<void> {
    this.checkOpen('next');
    if (!this.valid()) throw new IteratorStateError('next() called while the iterator is not valid (seek first, and check valid())');
    this.position += 1;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private checkOpen(what: string): void {
    if (this.closed) throw new IteratorStateError(`${what}() called on a closed iterator`);
  }
}
