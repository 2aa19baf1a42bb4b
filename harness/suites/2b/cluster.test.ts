// Project 2B, cluster level (part 1 of 2; the restart scenarios are in cluster-persist.test.ts, a separate
// file so the two halves can run in parallel): TinyKV's kv/test_raftstore scenarios in virtual time on the
// deterministic simulation. Each test prints its seed and trace hash; a failure prints the replay command.
// GenericTest: 5 stores, 3 rounds of 5 virtual seconds of client load (see harness/cluster/generic-test.ts).
import { test } from 'vitest';
import { genericTest, runClusterTest } from '../../cluster/index.ts';
import { ONE_PARTITION_OPTIONS, onePartitionScenario } from '../../cluster/scenarios.ts';

/** TinyKV's GenericTest(t, "2B", nclients, unreliable, crash, partitions, -1, false, false). */
function generic2B(nclients: number, unreliable: boolean, crash: boolean, partitions: boolean): Promise<unknown> {
  return genericTest({ part: '2B', nclients, unreliable, crash, partitions, maxraftlog: -1, confchange: false, split: false });
}

test('TestBasic2B', () => generic2B(1, false, false, false));

test('TestConcurrent2B', () => generic2B(5, false, false, false));

test('TestUnreliable2B', () => generic2B(5, true, false, false));

test('TestOnePartition2B', () => runClusterTest(ONE_PARTITION_OPTIONS, (cluster) => onePartitionScenario(cluster), { maxVirtualMs: 120_000 }));

test('TestManyPartitionsOneClient2B', () => generic2B(1, false, false, true));

test('TestManyPartitionsManyClients2B', () => generic2B(5, false, false, true));
