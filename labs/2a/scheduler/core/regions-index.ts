/**
 * Every region the scheduler knows, indexed three ways: by id, by key range (a sorted array of disjoint
 * ranges, searched by binary search), and per store (the regions a store leads, follows, or holds a pending
 * peer of). Putting a region removes the region of the same id and every region its range overlaps, from
 * all three.
 */
import { compareBytes } from '../../util/bytes.ts';
import type { RegionInfo } from './region-info.ts';

/** The regions one store takes part in. */
export interface StoreRegions {
  leaders: Map<number, RegionInfo>;
  followers: Map<number, RegionInfo>;
  pending: Map<number, RegionInfo>;
}

/** Does a region ending at `end` (empty: no bound) end after `key`? */
function endsAfter(end: Uint8Array, key: Uint8Array): boolean {
  return end.length === 0 || compareBytes(key, end) < 0;
}

export class RegionsIndex {
  private readonly byId = new Map<number, RegionInfo>();
  /** Sorted by start key; ranges never overlap. */
  private readonly byKey: RegionInfo[] = [];
  private readonly byStore = new Map<number, StoreRegions>();

  get size(): number {
    return this.byId.size;
  }

  get(id: number): RegionInfo | undefined {
    return this.byId.get(id);
  }

  /** Every region, in key order. */
  all(): RegionInfo[] {
    return [...this.byKey];
  }

  /** Puts `region` in place of the region of the same id and of every region it overlaps; returns those overlapped. */
  put(region: RegionInfo): RegionInfo[] {
    const old = this.byId.get(region.id);
    if (old !== undefined) this.remove(old);
    const overlapped = this.overlaps(region.startKey, region.endKey);
    for (const r of overlapped) this.remove(r);
    this.byKey.splice(this.firstStartingAtOrAfter(region.startKey), 0, region);
    this.byId.set(region.id, region);
    for (const peer of region.peers) {
      const store = this.storeRegions(peer.storeId);
      if (region.leader !== undefined && peer.id === region.leaderPeerId) store.leaders.set(region.id, region);
      else store.followers.set(region.id, region);
    }
    for (const peer of region.pendingPeers) this.storeRegions(peer.storeId).pending.set(region.id, region);
    return overlapped;
  }

  remove(region: RegionInfo): void {
    if (this.byId.get(region.id) !== region) return;
    this.byId.delete(region.id);
    const at = this.byKey.indexOf(region, Math.max(0, this.firstStartingAtOrAfter(region.startKey) - 1));
    if (at >= 0) this.byKey.splice(at, 1);
    for (const [, store] of this.byStore) {
      if (store.leaders.get(region.id) === region) store.leaders.delete(region.id);
      if (store.followers.get(region.id) === region) store.followers.delete(region.id);
      if (store.pending.get(region.id) === region) store.pending.delete(region.id);
    }
  }

  /** The region whose range holds `key`. */
  search(key: Uint8Array): RegionInfo | undefined {
    const at = this.lastStartingAtOrBefore(key);
    const region = at < 0 ? undefined : this.byKey[at];
    return region !== undefined && endsAfter(region.endKey, key) ? region : undefined;
  }

  /** The regions intersecting [start, end) (an empty end: no bound), in key order. */
  overlaps(start: Uint8Array, end: Uint8Array): RegionInfo[] {
    return this.scan(start, end, 0);
  }

  /**
   * From the region holding `start` (or the first after it) onwards, the regions starting before `end`
   * (empty: no bound), at most `limit` of them (0: no limit).
   */
  scan(start: Uint8Array, end: Uint8Array, limit: number): RegionInfo[] {
    let at = this.lastStartingAtOrBefore(start);
    if (at < 0 || !endsAfter(this.byKey[at]!.endKey, start)) at++;
    const out: RegionInfo[] = [];
    for (; at < this.byKey.length; at++) {
      const region = this.byKey[at]!;
      if (end.length > 0 && compareBytes(region.startKey, end) >= 0) break;
      out.push(region);
      if (limit > 0 && out.length >= limit) break;
    }
    return out;
  }

  /** The region that ends where `region` starts (undefined at the start of the key space or at a gap). */
  before(region: RegionInfo): RegionInfo | undefined {
    const prev = this.byKey[this.firstStartingAtOrAfter(region.startKey) - 1];
    return prev !== undefined && prev.endKey.length > 0 && compareBytes(prev.endKey, region.startKey) === 0 ? prev : undefined;
  }

  /** The regions store `storeId` takes part in (empty maps for a store with none). */
  ofStore(storeId: number): StoreRegions {
    return this.byStore.get(storeId) ?? { leaders: new Map(), followers: new Map(), pending: new Map() };
  }

  leaderCount(storeId: number): number {
    return this.ofStore(storeId).leaders.size;
  }

  followerCount(storeId: number): number {
    return this.ofStore(storeId).followers.size;
  }

  regionCount(storeId: number): number {
    return this.leaderCount(storeId) + this.followerCount(storeId);
  }

  pendingPeerCount(storeId: number): number {
    return this.ofStore(storeId).pending.size;
  }

  leaderSize(storeId: number): number {
    return sizeOf(this.ofStore(storeId).leaders);
  }

  regionSize(storeId: number): number {
    const store = this.ofStore(storeId);
    return sizeOf(store.leaders) + sizeOf(store.followers);
  }

  private storeRegions(storeId: number): StoreRegions {
    let store = this.byStore.get(storeId);
    if (store === undefined) this.byStore.set(storeId, (store = { leaders: new Map(), followers: new Map(), pending: new Map() }));
    return store;
  }

  /** Index of the last region starting at or before `key` (-1 if none). */
  private lastStartingAtOrBefore(key: Uint8Array): number {
    return this.firstStartingAtOrAfter(key, true) - 1;
  }

  /** Index of the first region starting at or after `key` (strictly after with `after`). */
  private firstStartingAtOrAfter(key: Uint8Array, after = false): number {
    let lo = 0;
    let hi = this.byKey.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const c = compareBytes(this.byKey[mid]!.startKey, key);
      if (c < 0 || (after && c === 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function sizeOf(regions: Map<number, RegionInfo>): number {
  let total = 0;
  for (const r of regions.values()) total += r.approximateSize;
  return total;
}
