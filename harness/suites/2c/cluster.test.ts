// Project 2C, cluster level (part 1 of 2; the unreliable-network scenarios are in cluster-unreliable.test.ts,
// a separate file so the two halves can run in parallel): TinyKV's kv/test_raftstore snapshot scenarios in
// virtual time on the deterministic simulation. GenericTest with maxraftlog 100: after each round no store
// may keep more than 200 entries of a region's log (applied index - truncated index).
import { test } from 'vitest';
import { genericTest, runClusterTest } from '../../cluster/index.ts';
import { ONE_SNAPSHOT_OPTIONS, oneSnapshotScenario } from '../../cluster/scenarios.ts';

/** TinyKV's GenericTest(t, "2C", nclients, false, true, false, 100, false, false). */
function recover2C(nclients: number): Promise<unknown> {
  return genericTest({ part: '2C', nclients, unreliable: false, crash: true, partitions: false, maxraftlog: 100, confchange: false, split: false });
}

test('TestOneSnapshot2C', () =>
  runClusterTest(ONE_SNAPSHOT_OPTIONS, (cluster, sim) => oneSnapshotScenario(cluster, sim), { maxVirtualMs: 120_000 }));

test('TestSnapshotRecover2C', () => recover2C(1));

test('TestSnapshotRecoverManyClients2C', () => recover2C(20));
