/**
 * The replica checker (given code, as in TinyKV): a region with fewer members than maxReplicas gets a peer on
 * the up store with the fewest regions that does not hold it yet.
 */
import type { RegionInfo } from '../core/region-info.ts';
import { createAddPeerOperator, OpKind, type Operator } from '../operator/operator.ts';
import type { ScheduleCluster } from '../schedule-cluster.ts';

export class ReplicaChecker {
  check(region: RegionInfo, cluster: ScheduleCluster): Operator | undefined {
    const holders = region.storeIds();
    if (holders.size >= cluster.maxReplicas()) return undefined;
    const now = cluster.nowMs();
    const target = cluster
      .getStores()
      .filter((s) => s.isUp() && s.downTimeMs(now) <= cluster.maxStoreDownTimeMs() && !holders.has(s.id))
      .sort((a, b) => a.regionCount - b.regionCount || a.id - b.id)[0];
    if (target === undefined) return undefined;
    return createAddPeerOperator('make-up-replica', region, OpKind.Replica, target.id, cluster.allocPeer(target.id).id);
  }
}
