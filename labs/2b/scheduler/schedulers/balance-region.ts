/**
 * balance-region: moves a region's peer from the store holding the most region data to one holding little,
 * so that every store ends up with about the same amount.
 *
 * It only proposes: schedule() returns an operator (or nothing) and the caller hands it to the operator
 * controller.
 */
import { NotImplemented } from '../../util/not-implemented.ts';
import type { RegionInfo } from '../core/region-info.ts';
import type { StoreInfo } from '../core/store-info.ts';
import { createMovePeerOperator, OpKind, OperatorError, type Operator } from '../operator/operator.ts';
import type { ScheduleCluster } from '../schedule-cluster.ts';

export const BALANCE_REGION = 'balance-region';

/** A random element of a map's values (undefined when it is empty). */
function randomOf(regions: Map<number, RegionInfo>, cluster: ScheduleCluster): RegionInfo | undefined {
  if (regions.size === 0) return undefined;
  const at = cluster.randomInt(regions.size);
  let i = 0;
  for (const region of regions.values()) if (i++ === at) return region;
  return undefined;
}

/** The region to move off `store`: a pending one first (its disk may be struggling), then a follower, then a leader. */
export function pickRegionToMove(store: StoreInfo, cluster: ScheduleCluster): RegionInfo | undefined {
  const regions = cluster.regionsOfStore(store.id);
  return randomOf(regions.pending, cluster) ?? randomOf(regions.followers, cluster) ?? randomOf(regions.leaders, cluster);
}

export class BalanceRegionScheduler {
  readonly name = BALANCE_REGION;

  /** One operator that makes the stores more even, or undefined when none is worth it. */
  schedule(cluster: ScheduleCluster): Operator | undefined {
    // Your code here (3C): keep the stores that are up and not down longer than maxStoreDownTimeMs; from the one with the largest regionSize down, pick a region to move (pickRegionToMove); give up if the region has fewer stores than maxReplicas; the target is the smallest suitable store not holding the region; move only if source size - target size > 2 x the region's approximate size; then a MovePeer operator (createMovePeerOperator, kind Balance) with a new peer (cluster.allocPeer)
    throw new NotImplemented('3C', 'BalanceRegionScheduler.schedule');
    // End of your code (3C).
  }
}
