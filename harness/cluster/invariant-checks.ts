/**
 * The invariant checkers of a cluster test, on by default (ClusterOptions.invariants; SIM_CHECKS=off turns
 * them off, to measure what they cost): raft's safety properties after every event of a store
 * (raft-safety.ts) and what the stores write, on every engine write (write-checks.ts).
 */
import type { Engines } from '@impl/kv/raftstore/engines.ts';
import type { Raftstore } from '@impl/kv/raftstore/raftstore.ts';
import type { Cluster } from './cluster.ts';
import { ClusterUsageError } from './errors.ts';
import { RaftSafetyChecker } from './raft-safety.ts';
import { WriteChecker } from './write-checks.ts';

/** Whether clusters check their invariants when their options do not say: SIM_CHECKS=off turns them off. */
export function invariantsByDefault(env: Record<string, string | undefined> = process.env): boolean {
  const value = env.SIM_CHECKS;
  if (value === undefined || value === '' || value === 'on') return true;
  if (value === 'off') return false;
  throw new ClusterUsageError(`SIM_CHECKS must be "on" or "off", got "${value}"`);
}

/**
 * Register the checkers with the cluster's simulation. Returns what must see each store's engines when
 * they are opened (before the store starts), so that every write is checked.
 */
export function installInvariantChecks(cluster: Cluster): (storeId: number, engines: Engines) => void {
  const raft = new RaftSafetyChecker((storeId) => runningStore(cluster, storeId)?.raftProbes());
  const writes = new WriteChecker(
    (storeId, regionId) => runningStore(cluster, storeId)?.regionOf(regionId),
    (regionId, index) => raft.committedTerm(regionId, index),
  );
  cluster.sim.addInvariant('raft safety', (node) => (node === undefined ? undefined : raft.checkStore(node)));
  cluster.sim.addInvariant('store writes', () => writes.takeViolation());
  return (storeId, engines) => writes.watch(storeId, engines);
}

/** Store `storeId`'s raftstore if it is up and started (undefined while it is down or still starting). */
function runningStore(cluster: Cluster, storeId: number): Raftstore | undefined {
  if (storeId < 1 || storeId > cluster.count || !cluster.isUp(storeId)) return undefined;
  try {
    return cluster.raftstore(storeId);
  } catch {
    return undefined;
  }
}
