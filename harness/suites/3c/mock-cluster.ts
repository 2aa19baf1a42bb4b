/**
 * The balance tests' cluster (TinyKV's mock cluster): stores and regions put in by hand, store sizes set
 * directly (a store with n regions weighs n x 10 MB), every region 10 MB, ids from 1 up.
 */
import { metapb } from '#proto';
import { BasicCluster } from '@impl/scheduler/core/basic-cluster.ts';
import type { StoreRegions } from '@impl/scheduler/core/regions-index.ts';
import { RegionInfo } from '@impl/scheduler/core/region-info.ts';
import type { StoreInfo } from '@impl/scheduler/core/store-info.ts';
import type { ScheduleCluster } from '@impl/scheduler/schedule-cluster.ts';
import { SeededRandom } from '@impl/util/prng.ts';

export const MB_PER_REGION = 10;

export class MockCluster implements ScheduleCluster {
  readonly core = new BasicCluster();
  private nextId = 0;
  private replicas = 3;
  private readonly random: SeededRandom;
  private readonly now = 10 * 24 * 3600_000;

  constructor(seed = 1) {
    this.random = new SeededRandom(seed);
  }

  nowMs(): number {
    return this.now;
  }

  getStores(): StoreInfo[] {
    return this.core.getStores();
  }

  getStore(id: number): StoreInfo | undefined {
    return this.core.getStore(id);
  }

  regionsOfStore(storeId: number): StoreRegions {
    return this.core.regions.ofStore(storeId);
  }

  maxReplicas(): number {
    return this.replicas;
  }

  maxStoreDownTimeMs(): number {
    return 30 * 60_000;
  }

  randomInt(n: number): number {
    return this.random.nextInt(n);
  }

  allocPeer(storeId: number): metapb.Peer {
    return metapb.Peer({ id: ++this.nextId, storeId });
  }

  setMaxReplicas(n: number): void {
    this.replicas = n;
  }

  /** A store that is up, heard from just now, holding `regionCount` regions (x 10 MB). */
  addRegionStore(id: number, regionCount: number): void {
    const store = this.core.putStore(metapb.Store({ id, state: metapb.StoreState.Up }), this.now);
    store.regionCount = regionCount;
    store.regionSize = regionCount * MB_PER_REGION;
  }

  updateRegionCount(id: number, regionCount: number): void {
    const store = this.core.getStore(id)!;
    store.regionCount = regionCount;
    store.regionSize = regionCount * MB_PER_REGION;
  }

  setStoreOffline(id: number): void {
    this.core.getStore(id)!.meta.state = metapb.StoreState.Offline;
  }

  /** Still "up", but silent since forever: down. */
  setStoreDown(id: number): void {
    this.core.getStore(id)!.lastHeartbeatMs = undefined;
  }

  /** Region `id` (10 MB, no epoch) led from `leaderStore`, followed on `followerStores` (fresh peer ids). */
  addLeaderRegion(id: number, leaderStore: number, ...followerStores: number[]): RegionInfo {
    const key = (n: number) => new TextEncoder().encode(String(n).padStart(20, ' '));
    const peers = [leaderStore, ...followerStores].map((storeId) => this.allocPeer(storeId));
    const region = new RegionInfo({ meta: metapb.Region({ id, startKey: key(id), endKey: key(id + 1), peers }), leader: peers[0], approximateSize: MB_PER_REGION });
    this.core.putRegion(region);
    return region;
  }

  getRegion(id: number): RegionInfo | undefined {
    return this.core.getRegion(id);
  }

  putRegion(region: RegionInfo): void {
    this.core.putRegion(region);
  }
}
