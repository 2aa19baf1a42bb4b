/**
 * The reader a Snap command answers with: a consistent view of the kv engine, taken when the command was
 * applied, that only shows the region's range [startKey, endKey).
 */
import { metapb } from '#proto';
import type { EngineIterator, EngineSnapshot } from '../storage/engine.ts';
import { RegionError } from '../storage/errors.ts';
import type { ColumnFamily, DBItem, DBIterator, StorageReader } from '../storage/storage.ts';
import { keyNotInRegionError } from './cmd-resp.ts';
import { compareBytes } from '../../util/bytes.ts';
import { cfKeyInRegion, cfRange, cloneRegion } from './region-util.ts';

export class RegionReader implements StorageReader {
  /** The region as it was when the snapshot was taken (a copy: later splits do not change it). */
  readonly region: metapb.Region;
  private readonly view: EngineSnapshot;

  constructor(view: EngineSnapshot, region: metapb.Region) {
    this.view = view;
    this.region = cloneRegion(region);
  }

  /** The value of `key`; a key outside the region is refused with a KeyNotInRegion region error. */
  async getCF(cf: ColumnFamily, key: Uint8Array): Promise<Uint8Array | undefined> {
    if (!cfKeyInRegion(cf, key, this.region)) throw new RegionError(keyNotInRegionError(key, this.region));
    return this.view.getCF(cf, key);
  }

  /** An iterator that never leaves the region: seeks before the start key land on it, the end key stops it. */
  iterCF(cf: ColumnFamily): DBIterator {
    const { start, end } = cfRange(cf, this.region.startKey, this.region.endKey);
    return new RegionIterator(this.view.iterCF(cf, end.length > 0 ? { end } : {}), start);
  }

  close(): Promise<void> {
    return this.view.close();
  }
}

class RegionIterator implements DBIterator {
  constructor(
    private readonly inner: EngineIterator,
    private readonly start: Uint8Array,
  ) {}

  seek(key: Uint8Array): Promise<void> {
    return this.inner.seek(compareBytes(key, this.start) < 0 ? this.start : key);
  }

  valid(): boolean {
    return this.inner.valid();
  }

  item(): DBItem {
    return this.inner.item();
  }

  next(): Promise<void> {
    return this.inner.next();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
