/**
 * The replica checker (given code, as in TinyKV): keeps every region at maxReplicas members on healthy
 * stores. A healthy store is up and has sent a heartbeat within maxStoreDownTimeMs.
 *
 *   - fewer members than maxReplicas: add one on the healthy store with the fewest regions;
 *   - a member on a store that is not healthy: with a member too many, remove it; otherwise move it (add its
 *     replacement first, then remove it, so the region never shrinks below its size);
 *   - more members than maxReplicas (a split of a region in the middle of a move copies its extra member):
 *     remove the follower on the store with the most regions;
 *   - a leader the scheduler last saw on an unhealthy store: wait for the new leader's heartbeat first.
 */
import type { RegionInfo } from '../core/region-info.ts';
import type { StoreInfo } from '../core/store-info.ts';
import { createAddPeerOperator, createMovePeerOperator, createRemovePeerOperator, OpKind, type Operator } from '../operator/operator.ts';
import type { ScheduleCluster } from '../schedule-cluster.ts';

export const MAKE_UP_REPLICA = 'make-up-replica';
export const REPLACE_DOWN_REPLICA = 'replace-down-replica';
export const REMOVE_DOWN_REPLICA = 'remove-down-replica';
export const REMOVE_EXTRA_REPLICA = 'remove-extra-replica';

export function isHealthy(store: StoreInfo | undefined, cluster: ScheduleCluster): boolean {
  return store !== undefined && store.isUp() && store.downTimeMs(cluster.nowMs()) <= cluster.maxStoreDownTimeMs();
}

export class ReplicaChecker {
  check(region: RegionInfo, cluster: ScheduleCluster): Operator | undefined {
    const holders = region.storeIds();
    const healthy = (id: number) => isHealthy(cluster.getStore(id), cluster);
    if (region.leader !== undefined && !healthy(region.leader.storeId)) return undefined;
    if (holders.size < cluster.maxReplicas()) {
      const target = this.bestTarget(holders, cluster);
      if (target === undefined) return undefined;
      return createAddPeerOperator(MAKE_UP_REPLICA, region, OpKind.Replica, target.id, cluster.allocPeer(target.id).id);
    }
    const down = [...holders].filter((id) => !healthy(id)).sort((a, b) => a - b)[0];
    if (down !== undefined && holders.size > cluster.maxReplicas()) return createRemovePeerOperator(REMOVE_DOWN_REPLICA, region, OpKind.Replica, down);
    if (holders.size > cluster.maxReplicas()) {
      const worst = region
        .followers()
        .map((p) => cluster.getStore(p.storeId))
        .filter((s): s is StoreInfo => s !== undefined)
        .sort((a, b) => b.regionCount - a.regionCount || b.id - a.id)[0];
      return worst === undefined ? undefined : createRemovePeerOperator(REMOVE_EXTRA_REPLICA, region, OpKind.Replica, worst.id);
    }
    if (down === undefined) return undefined;
    const target = this.bestTarget(holders, cluster);
    if (target === undefined) return undefined;
    const peer = cluster.allocPeer(target.id);
    return createMovePeerOperator(REPLACE_DOWN_REPLICA, region, OpKind.Replica, down, target.id, peer.id, healthy);
  }

  /** The healthy store with the fewest regions that holds no member of the region. */
  private bestTarget(holders: Set<number>, cluster: ScheduleCluster): StoreInfo | undefined {
    return cluster
      .getStores()
      .filter((s) => isHealthy(s, cluster) && !holders.has(s.id))
      .sort((a, b) => a.regionCount - b.regionCount || a.id - b.id)[0];
  }
}
