/**
 * What a scheduler reads of the cluster and asks of it. The scheduler's own cluster (cluster.ts) provides
 * it; so does the test suite's mock cluster.
 */
import type { metapb } from '#proto';
import type { StoreRegions } from './core/regions-index.ts';
import type { StoreInfo } from './core/store-info.ts';

export interface ScheduleCluster {
  nowMs(): number;
  /** Every store, in id order. */
  getStores(): StoreInfo[];
  getStore(id: number): StoreInfo | undefined;
  /** The regions a store leads, follows, or holds a pending peer of. */
  regionsOfStore(storeId: number): StoreRegions;
  maxReplicas(): number;
  /** A store silent for longer is down: no region moves to or from it. */
  maxStoreDownTimeMs(): number;
  /** A whole number in [0, n), from the cluster's seeded randomness. */
  randomInt(n: number): number;
  /** A new peer (fresh id) on `storeId`. */
  allocPeer(storeId: number): metapb.Peer;
}
