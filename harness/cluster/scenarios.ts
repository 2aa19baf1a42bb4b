/**
 * The hand-written cluster scenarios of TinyKV's 2B/2C suites, as functions of a started cluster, so the
 * staged suites and the kit's determinism test run exactly the same code.
 */
import { ClusterCheckError } from './errors.ts';
import { bytes } from './keys.ts';
import { dropWhere, type Sim } from '../sim/index.ts';
import { eraftpb } from '#proto';
import type { Cluster, ClusterOptions } from './cluster.ts';
import type { RaftMessage } from './raft-network.ts';

/** TestOnePartition2B runs on 5 stores with the test configuration. */
export const ONE_PARTITION_OPTIONS: ClusterOptions = { stores: 5 };

/**
 * TestOnePartition2B: a request in the minority does not go through until the partition heals; the
 * original leader ends up in the minority and must catch up after healing.
 */
export async function onePartitionScenario(cluster: Cluster): Promise<void> {
  const region = await cluster.getRegion(bytes(''));
  const leader = await cluster.leaderOfRegion(region.id);
  if (leader === undefined) throw new ClusterCheckError(`region ${region.id} has no leader after 5 s`);
  const s1 = [leader.storeId];
  const s2: number[] = [];
  for (const p of region.peers) {
    if (p.id === leader.id) continue;
    if (s1.length < 3) s1.push(p.storeId);
    else s2.push(p.storeId);
  }

  // The leader is in the majority: the partition does not stop writes or reads.
  let cut = cluster.partition(s1, s2);
  await cluster.mustPut(bytes('k1'), bytes('v1'));
  await cluster.mustGet(bytes('k1'), bytes('v1'));
  await cluster.mustGetNoneOnStore(s2[0]!, bytes('k1'));
  await cluster.mustGetNoneOnStore(s2[1]!, bytes('k1'));
  cut.remove();

  // The old leader is in the minority: a new leader must be elected on the other side.
  s2.push(s1[2]!);
  s1.length = 2;
  cut = cluster.partition(s1, s2);
  await cluster.mustGet(bytes('k1'), bytes('v1'));
  await cluster.mustPut(bytes('k1'), bytes('changed'));
  await cluster.mustGetEqual(s1[0]!, bytes('k1'), bytes('v1'));
  await cluster.mustGetEqual(s1[1]!, bytes('k1'), bytes('v1'));
  cut.remove();

  // Healed: the old leader catches up.
  await cluster.mustPut(bytes('k2'), bytes('v2'));
  await cluster.mustGetEqual(s1[0]!, bytes('k2'), bytes('v2'));
  await cluster.mustGetEqual(s1[0]!, bytes('k1'), bytes('changed'));
}

/** TestOneSnapshot2C runs on 3 stores and compacts the log once 10 entries are applied. */
export const ONE_SNAPSHOT_OPTIONS: ClusterOptions = { stores: 3, config: { raftLogGcCountLimit: 10 } };

/**
 * TestOneSnapshot2C: store 1 is cut off while enough is written for the others to compact their logs; after
 * healing it can only catch up by a snapshot. Checks its data, that a MsgSnapshot really went to it, that
 * its truncated index advanced, that it survives a restart, and that every store's log stays trimmed.
 */
export async function oneSnapshotScenario(cluster: Cluster, sim: Sim): Promise<void> {
  const cf = 'lock';
  const limit = cluster.config.raftLogGcCountLimit;
  await cluster.mustPutCF(cf, bytes('k1'), bytes('v1'));
  await cluster.mustPutCF(cf, bytes('k2'), bytes('v2'));
  await cluster.mustGetCfEqual(1, cf, bytes('k1'), bytes('v1'));
  await cluster.mustGetCfEqual(1, cf, bytes('k2'), bytes('v2'));

  // Nothing has been compacted yet: every store still has the log it was bootstrapped with.
  const initial = cluster.storeIds().map((id) => {
    const state = cluster.applyState(id, 1);
    if (state === undefined) throw new ClusterCheckError(`store ${id} has no apply state for region 1`);
    return state;
  });
  for (const [i, state] of initial.entries()) {
    if (state.truncatedIndex !== initial[0]!.truncatedIndex || state.truncatedTerm !== initial[0]!.truncatedTerm) {
      throw new ClusterCheckError(
        `store ${i + 1} truncated its log to ${state.truncatedIndex}/${state.truncatedTerm} before any compaction was due ` +
          `(store 1: ${initial[0]!.truncatedIndex}/${initial[0]!.truncatedTerm})`,
      );
    }
  }
  const bootTruncated = initial[0]!.truncatedIndex;

  const cut = cluster.partition([1], [2, 3]);
  // Write enough to make the others compact their logs.
  for (let i = 100; i < 115; i++) await cluster.mustPutCF(cf, bytes(`k${i}`), bytes(`v${i}`));
  await cluster.mustDeleteCF(cf, bytes('k2'));
  await sim.sleep(500);
  await cluster.mustGetCfNone(1, cf, bytes('k100'));
  cut.remove();

  let snapshotsToStore1 = 0;
  cluster.addFilter(
    dropWhere<RaftMessage>('count snapshots to store 1 (drops nothing)', (env) => {
      if (env.to === 1 && env.msg.message?.msgType === eraftpb.MessageType.MsgSnapshot) snapshotsToStore1++;
      return false;
    }),
  );

  // Now store 1 must catch up by a snapshot.
  await cluster.mustGetCfEqual(1, cf, bytes('k1'), bytes('v1'));
  await cluster.mustGetCfEqual(1, cf, bytes('k100'), bytes('v100'));
  await cluster.mustGetCfNone(1, cf, bytes('k2'));
  if (snapshotsToStore1 === 0) throw new ClusterCheckError('store 1 caught up without a MsgSnapshot: the others did not compact their logs');
  const caughtUp = cluster.applyState(1, 1);
  if (caughtUp === undefined || caughtUp.truncatedIndex <= bootTruncated) {
    throw new ClusterCheckError(
      `store 1 applied a snapshot but its truncated index is ${caughtUp?.truncatedIndex ?? 'unknown'} (was ${bootTruncated})`,
    );
  }

  await cluster.stopStore(1);
  await cluster.startStore(1);
  await cluster.mustGetCfEqual(1, cf, bytes('k1'), bytes('v1'));
  for (const id of cluster.storeIds()) {
    const state = cluster.applyState(id, 1);
    if (state === undefined) throw new ClusterCheckError(`store ${id} has no apply state for region 1`);
    if (state.appliedIndex - state.truncatedIndex > 2 * limit) {
      throw new ClusterCheckError(
        `store ${id}: logs were not trimmed (${state.appliedIndex} - ${state.truncatedIndex} > 2 * ${limit})`,
      );
    }
  }
}
