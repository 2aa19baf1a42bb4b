/**
 * Standalone storage (Project 1): the Storage interface over one local engine, no raft, no replication.
 * The server's raw API handlers run on it in Project 1; Project 2 swaps in raft storage behind the same
 * interface, and the handlers do not change.
 */
import { Engine, WriteBatch, type EngineOptions, type EngineSnapshot } from './engine.ts';
import { EngineClosedError } from './errors.ts';
import type {
  ColumnFamily,
  DBIterator,
  Modify,
  Storage,
  StorageContext,
  StorageReader,
} from './storage.ts';
import { NotImplemented } from '../../util/not-implemented.ts';

export class StandaloneStorage implements Storage {
  /** Directory of the engine. */
  readonly path: string;
  private readonly options: EngineOptions;
  private engine: Engine | undefined;

  constructor(path: string, options: EngineOptions = {}) {
    this.path = path;
    this.options = options;
  }

  /** Open the engine. */
  async start(): Promise<void> {
    if (this.engine !== undefined) return;
    this.engine = await Engine.open(this.path, this.options);
  }

  /** Close the engine; queued writes finish first. */
  async stop(): Promise<void> {
    const engine = this.engine;
    this.engine = undefined;
    await engine?.close();
  }

  async write(_ctx: StorageContext | undefined, batch: Modify[]): Promise<void> {
    // Your code here (1): put every Modify (a put or a delete on a column family) into one engine WriteBatch, then write that batch: all of the changes land together or none do.
    const wb = new WriteBatch();
    for (const modify of batch) {
      if (modify.type === 'put') {
        wb.putCF(modify.cf, modify.key, modify.value);
      } else {
        wb.deleteCF(modify.cf, modify.key);
      }
    }
    await this.openEngine('StandaloneStorage.write').write(wb);
    // End of your code (1).
  }

  async reader(_ctx: StorageContext | undefined): Promise<StorageReader> {
    // Your code here (1): take one engine snapshot and return a StandaloneReader over it, so that every read of this reader sees the same moment.
    return new StandaloneReader(this.openEngine('StandaloneStorage.reader').snapshot());
    // End of your code (1).
  }

  /** The engine, once start() has run; a clear error otherwise. */
  private openEngine(what: string): Engine {
    if (this.engine === undefined) throw new EngineClosedError(`${what} (call start() first)`);
    return this.engine;
  }
}

/** A StorageReader over one engine snapshot. */
export class StandaloneReader implements StorageReader {
  private readonly snapshot: EngineSnapshot;

  constructor(snapshot: EngineSnapshot) {
    this.snapshot = snapshot;
  }

  async getCF(cf: ColumnFamily, key: Uint8Array): Promise<Uint8Array | undefined> {
    // Your code here (1): read `key` of family `cf` from the snapshot (undefined when there is no such key).
    return this.snapshot.getCF(cf, key);
    // End of your code (1).
  }

  iterCF(cf: ColumnFamily): DBIterator {
    // Your code here (1): return an iterator over family `cf` of the snapshot (it must not see keys of other families).
    return this.snapshot.iterCF(cf);
    // End of your code (1).
  }

  async close(): Promise<void> {
    // Your code here (1): release the snapshot (and with it any iterator still open on it).
    await this.snapshot.close();
    // End of your code (1).
  }
}
