/**
 * The coordinator: what the scheduler does on its own, round after round. The replica checker looks at
 * every region (a region short of members gets one), then balance-region proposes one move; each operator goes
 * to the operator controller, which sends its first step to the region's leader.
 */
import type { SchedulerCluster } from './cluster.ts';
import { ReplicaChecker } from './checkers/replica-checker.ts';
import { OpKind } from './operator/operator.ts';
import { BalanceRegionScheduler } from './schedulers/balance-region.ts';

/** Region operators running at once, at most (TinyKV's region-schedule-limit). */
export const REGION_SCHEDULE_LIMIT = 64;

export class Coordinator {
  constructor(
    private readonly cluster: SchedulerCluster,
    private readonly replicaChecker = new ReplicaChecker(),
    private readonly balance = new BalanceRegionScheduler(),
  ) {}

  /** One round; returns how many operators it started. */
  runOnce(): number {
    let started = 0;
    this.cluster.operators.prune();
    for (const region of this.cluster.core.regions.all()) {
      if (this.cluster.operators.get(region.id) !== undefined) continue;
      const op = this.replicaChecker.check(region, this.cluster);
      if (op !== undefined && this.cluster.operators.add(op)) started++;
    }
    if (this.cluster.operators.count(OpKind.Region) < REGION_SCHEDULE_LIMIT) {
      const op = this.balance.schedule(this.cluster);
      if (op !== undefined && this.cluster.operators.add(op)) started++;
    }
    return started;
  }
}
