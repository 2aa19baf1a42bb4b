/**
 * The engine store on disk: one LevelDB database (classic-level) in a directory. The default store of every
 * Engine (the servers use it; so do the tests that must prove nothing acknowledged is lost on a real engine).
 */
import { ClassicLevel, type Iterator as LevelIterator, type Snapshot } from 'classic-level';
import type { EngineStore, StoreIterator, StoreOp, StoreSnapshot } from './engine-store.ts';

type Db = ClassicLevel<Buffer, Buffer>;

class LevelSnapshot implements StoreSnapshot {
  constructor(readonly inner: Snapshot) {}

  close(): Promise<void> {
    return this.inner.close();
  }
}

class LevelStoreIterator implements StoreIterator {
  constructor(private readonly inner: LevelIterator<Db, Buffer, Buffer>) {}

  seek(key: Buffer): void {
    this.inner.seek(key);
  }

  async next(): Promise<[Buffer, Buffer] | undefined> {
    return this.inner.next();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

function levelSnapshot(snapshot: StoreSnapshot | undefined): Snapshot | undefined {
  return snapshot === undefined ? undefined : (snapshot as LevelSnapshot).inner;
}

export class LevelStore implements EngineStore {
  private readonly db: Db;

  constructor(readonly path: string) {
    this.db = new ClassicLevel<Buffer, Buffer>(path, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  }

  open(): Promise<void> {
    return this.db.open({ createIfMissing: true });
  }

  close(): Promise<void> {
    return this.db.close();
  }

  /**
   * One LevelDB write of `ops`. A chained batch hands each key and value to LevelDB directly; the array form
   * of db.batch() clones and inspects every operation object first, which cost several times more per op.
   */
  async write(ops: readonly StoreOp[], sync: boolean): Promise<void> {
    const batch = this.db.batch();
    try {
      for (const op of ops) {
        if (op.type === 'put') batch.put(op.key, op.value);
        else batch.del(op.key);
      }
    } catch (err) {
      await batch.close(); // release the unwritten batch before reporting
      throw err;
    }
    await batch.write({ sync });
  }

  get(key: Buffer, snapshot?: StoreSnapshot): Promise<Buffer | undefined> {
    return this.db.get(key, { snapshot: levelSnapshot(snapshot) });
  }

  getSync(key: Buffer, snapshot?: StoreSnapshot): Buffer | undefined {
    return this.db.getSync(key, { snapshot: levelSnapshot(snapshot) });
  }

  iterator(bounds: { gte: Buffer; lt: Buffer }, snapshot?: StoreSnapshot): StoreIterator {
    return new LevelStoreIterator(this.db.iterator({ gte: bounds.gte, lt: bounds.lt, snapshot: levelSnapshot(snapshot) }));
  }

  snapshot(): StoreSnapshot {
    return new LevelSnapshot(this.db.snapshot());
  }
}
