/**
 * balance-region: moves a region's peer from the store holding the most region data to one holding little,
 * so that every store ends up with about the same amount.
 *
 * Unlike TinyKV's version, which picks one region per store at random and gives up when that one is not worth
 * moving, it tries the store's regions in turn: whenever the largest and the smallest store differ by more
 * than the size rule allows, some move is found, so the stores cannot stall unbalanced.
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

/** The regions of `map` in a random order (the cluster's seeded randomness). */
function shuffled(map: Map<number, RegionInfo>, cluster: ScheduleCluster): RegionInfo[] {
  const regions = [...map.values()];
  for (let i = regions.length - 1; i > 0; i--) {
    const j = cluster.randomInt(i + 1);
    [regions[i], regions[j]] = [regions[j]!, regions[i]!];
  }
  return regions;
}

/**
 * The regions to try moving off `store`, best first: the pending ones (its disk may be struggling), then the
 * ones it follows, then the ones it leads (moving those costs a leader transfer); random within each group.
 */
export function regionsToMove(store: StoreInfo, cluster: ScheduleCluster): RegionInfo[] {
  const regions = cluster.regionsOfStore(store.id);
  const seen = new Set<number>();
  const ordered: RegionInfo[] = [];
  for (const group of [regions.pending, regions.followers, regions.leaders]) {
    for (const region of shuffled(group, cluster)) {
      if (seen.has(region.id)) continue;
      seen.add(region.id);
      ordered.push(region);
    }
  }
  return ordered;
}

export class BalanceRegionScheduler {
  readonly name = BALANCE_REGION;

  /** One operator that makes the stores more even, or undefined when none is worth it. */
  schedule(cluster: ScheduleCluster): Operator | undefined {
    // Your code here (3C): keep the stores that are up and not down longer than maxStoreDownTimeMs; from the one with the largest regionSize down, try its regions in the order of regionsToMove: skip a region with fewer stores than maxReplicas; its target is the smallest suitable store not holding it; take the first region whose move is worth it (source size - target size > 2 x the region's approximate size), else try the next store; return a MovePeer operator (createMovePeerOperator, kind Balance) with a new peer (cluster.allocPeer)
    throw new NotImplemented('3C', 'BalanceRegionScheduler.schedule');
    // End of your code (3C).
  }
}
