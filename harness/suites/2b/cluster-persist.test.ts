// Project 2B, cluster level (part 2 of 2): TinyKV's GenericTest scenarios with restarts. After every round
// all five stores crash (their pending work is lost; their LevelDB engines are closed and reopened) and must
// come back with every acknowledged append, in order.
import { test } from 'vitest';
import { genericTest } from '../../cluster/index.ts';

/** TinyKV's GenericTest(t, "2B", nclients, unreliable, true, partitions, -1, false, false). */
function persist2B(nclients: number, unreliable: boolean, partitions: boolean): Promise<unknown> {
  return genericTest({ part: '2B', nclients, unreliable, crash: true, partitions, maxraftlog: -1, confchange: false, split: false });
}

test('TestPersistOneClient2B', () => persist2B(1, false, false));

test('TestPersistConcurrent2B', () => persist2B(5, false, false));

test('TestPersistConcurrentUnreliable2B', () => persist2B(5, true, false));

test('TestPersistPartition2B', () => persist2B(5, false, true));

test('TestPersistPartitionUnreliable2B', () => persist2B(5, true, true));
