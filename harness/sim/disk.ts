/**
 * The simulation's disk: engine stores held in memory (an EngineStore, reference/kv/storage/engine-store.ts),
 * one per directory path, kept by the disk across a simulated crash and restart of their store.
 *
 * Why: a simulated run spent about a third of its time waiting on LevelDB's asynchronous writes and a fifth
 * inside classic-level; these stores answer at once, so a run takes about half the time, and grading fits
 * twice the runs. The simulation awaits every event to its end either way, so the order of events (and the
 * trace hash) is the same on this disk as on LevelDB: a kit test checks that.
 *
 * Durability model: a write is on the disk once its promise resolves, and stays there through a crash of its
 * store (the store's process state is lost, its disk is not), as LevelDB keeps a completed write across a
 * process crash. A write the store never issued (a power cut just before it, harness/cluster/power-cut.ts)
 * is not there. There is no fsync to model: the raftstore does not ask for one.
 *
 * Semantics follow LevelDB's: bytewise key order, atomic batches applied in order, snapshots and iterators
 * that keep the view they started with (copy on write: a write copies the arrays only while a view holds
 * them), one opener at a time. Reads hand out copies, so a caller that scribbles on a value cannot change
 * what is stored.
 */
import type { EngineStore, EngineStoreFactory, StoreIterator, StoreOp, StoreSnapshot } from '@impl/kv/storage/engine-store.ts';

/** The sorted contents of a store at one moment. Shared with views until the next write copies it. */
interface Contents {
  keys: Buffer[];
  values: Buffer[];
  /** A snapshot or iterator holds this version: the next write must copy it first. */
  shared: boolean;
}

/** Index of the first key >= `key` (keys.length if none). */
function lowerBound(keys: readonly Buffer[], key: Buffer): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (Buffer.compare(keys[mid]!, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

class MemorySnapshot implements StoreSnapshot {
  constructor(readonly contents: Contents) {}

  async close(): Promise<void> {
    // Nothing to release: the contents are garbage once nobody holds them.
  }
}

class MemoryIterator implements StoreIterator {
  private at = -1;
  private closed = false;

  constructor(
    private readonly contents: Contents,
    private readonly bounds: { gte: Buffer; lt: Buffer },
  ) {}

  seek(key: Buffer): void {
    const from = Buffer.compare(key, this.bounds.gte) < 0 ? this.bounds.gte : key;
    this.at = lowerBound(this.contents.keys, from);
  }

  async next(): Promise<[Buffer, Buffer] | undefined> {
    if (this.closed) throw new Error('MemoryIterator.next() after close()');
    if (this.at < 0) this.seek(this.bounds.gte);
    const { keys, values } = this.contents;
    if (this.at >= keys.length || Buffer.compare(keys[this.at]!, this.bounds.lt) >= 0) return undefined;
    const entry: [Buffer, Buffer] = [Buffer.from(keys[this.at]!), Buffer.from(values[this.at]!)];
    this.at++;
    return entry;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** What a store needs of its disk: its contents by path, and who has it open. */
interface DiskSlot {
  contents: Contents;
  openedBy: MemoryStore | undefined;
}

class MemoryStore implements EngineStore {
  private isOpen = false;

  constructor(
    readonly path: string,
    private readonly slot: DiskSlot,
  ) {}

  private get contents(): Contents {
    return this.slot.contents;
  }

  private set contents(c: Contents) {
    this.slot.contents = c;
  }

  async open(): Promise<void> {
    if (this.slot.openedBy !== undefined) throw new Error(`the simulated disk's store ${this.path} is already open`);
    this.slot.openedBy = this;
    this.isOpen = true;
  }

  async close(): Promise<void> {
    if (this.slot.openedBy === this) this.slot.openedBy = undefined;
    this.isOpen = false;
  }

  async write(ops: readonly StoreOp[], _sync: boolean): Promise<void> {
    this.checkOpen('write');
    let c = this.contents;
    if (c.shared) {
      c = { keys: c.keys.slice(), values: c.values.slice(), shared: false };
      this.contents = c;
    }
    for (const op of ops) {
      const at = lowerBound(c.keys, op.key);
      const found = at < c.keys.length && c.keys[at]!.equals(op.key);
      if (op.type === 'put') {
        if (found) c.values[at] = Buffer.from(op.value);
        else {
          c.keys.splice(at, 0, Buffer.from(op.key));
          c.values.splice(at, 0, Buffer.from(op.value));
        }
      } else if (found) {
        c.keys.splice(at, 1);
        c.values.splice(at, 1);
      }
    }
  }

  async get(key: Buffer, snapshot?: StoreSnapshot): Promise<Buffer | undefined> {
    return this.getSync(key, snapshot);
  }

  getSync(key: Buffer, snapshot?: StoreSnapshot): Buffer | undefined {
    this.checkOpen('get');
    const { keys, values } = this.view(snapshot);
    const at = lowerBound(keys, key);
    return at < keys.length && keys[at]!.equals(key) ? Buffer.from(values[at]!) : undefined;
  }

  iterator(bounds: { gte: Buffer; lt: Buffer }, snapshot?: StoreSnapshot): StoreIterator {
    this.checkOpen('iterator');
    // Without a snapshot an iterator still keeps the view it started with (as LevelDB's do).
    return new MemoryIterator(snapshot === undefined ? this.pin() : this.view(snapshot), bounds);
  }

  snapshot(): StoreSnapshot {
    this.checkOpen('snapshot');
    return new MemorySnapshot(this.pin());
  }

  private pin(): Contents {
    this.contents.shared = true;
    return this.contents;
  }

  private view(snapshot: StoreSnapshot | undefined): Contents {
    return snapshot === undefined ? this.contents : (snapshot as MemorySnapshot).contents;
  }

  private checkOpen(what: string): void {
    if (!this.isOpen) throw new Error(`${what} on the simulated disk's store ${this.path}, which is closed`);
  }
}

/** One simulated disk: the stores of every engine directory a test's stores use. */
export class SimDisk {
  private readonly slots = new Map<string, DiskSlot>();

  /** For EngineOptions.store: the store an engine keeps in `path` (what was written there before, if anything). */
  readonly factory: EngineStoreFactory = (path: string) => {
    let slot = this.slots.get(path);
    if (slot === undefined) {
      slot = { contents: { keys: [], values: [], shared: false }, openedBy: undefined };
      this.slots.set(path, slot);
    }
    return new MemoryStore(path, slot);
  };

  /** Bytes of keys and values on the disk (for reports). */
  bytes(): number {
    let total = 0;
    for (const { contents: c } of this.slots.values()) for (let i = 0; i < c.keys.length; i++) total += c.keys[i]!.length + c.values[i]!.length;
    return total;
  }
}
