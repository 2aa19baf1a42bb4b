/**
 * The stores and regions the scheduler knows, and the per-store counts derived from them.
 */
import type { metapb } from '#proto';
import { RegionsIndex } from './regions-index.ts';
import type { RegionInfo } from './region-info.ts';
import { StoreInfo } from './store-info.ts';

export class BasicCluster {
  readonly regions = new RegionsIndex();
  private readonly stores = new Map<number, StoreInfo>();

  /** Adds or replaces a store (its counts start from the region index). */
  putStore(meta: metapb.Store, lastHeartbeatMs?: number): StoreInfo {
    const store = new StoreInfo(meta, lastHeartbeatMs);
    this.stores.set(meta.id, store);
    this.updateStoreStatus(meta.id);
    return store;
  }

  getStore(id: number): StoreInfo | undefined {
    return this.stores.get(id);
  }

  /** Every store, in id order. */
  getStores(): StoreInfo[] {
    return [...this.stores.values()].sort((a, b) => a.id - b.id);
  }

  getRegion(id: number): RegionInfo | undefined {
    return this.regions.get(id);
  }

  /** Puts a region in place of the one of the same id and of those it overlaps; returns the overlapped ones. */
  putRegion(region: RegionInfo): RegionInfo[] {
    return this.regions.put(region);
  }

  /** Refreshes a store's counts from the region index (a store not registered is ignored). */
  updateStoreStatus(storeId: number): void {
    const store = this.stores.get(storeId);
    if (store === undefined) return;
    store.leaderCount = this.regions.leaderCount(storeId);
    store.regionCount = this.regions.regionCount(storeId);
    store.pendingPeerCount = this.regions.pendingPeerCount(storeId);
    store.leaderSize = this.regions.leaderSize(storeId);
    store.regionSize = this.regions.regionSize(storeId);
  }
}
