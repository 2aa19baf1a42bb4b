// Project 3B, region split under load: TinyKV's GenericTest scenarios in which regions split once they pass
// 300 bytes (split size 200), alone and together with conf changes, restarts, an unreliable network and
// partitions. After every round the stores' invariants are checked and the first region must have split.
import { test } from 'vitest';
import { genericTest } from '../../cluster/index.ts';

/** TinyKV's GenericTest(t, "3B", nclients, unreliable, crash, partitions, maxraftlog, confchange, true). */
function split3B(nclients: number, unreliable: boolean, crash: boolean, partitions: boolean, maxraftlog: number, confchange: boolean): Promise<unknown> {
  return genericTest({ part: '3B', nclients, unreliable, crash, partitions, maxraftlog, confchange, split: true });
}

test('TestSplitRecover3B', () => split3B(1, false, true, false, -1, false));

test('TestSplitRecoverManyClients3B', () => split3B(20, false, true, false, -1, false));

test('TestSplitUnreliable3B', () => split3B(5, true, false, false, -1, false));

test('TestSplitUnreliableRecover3B', () => split3B(5, true, true, false, -1, false));

test('TestSplitConfChangeSnapshotUnreliableRecover3B', () => split3B(5, true, true, false, 100, true));

test('TestSplitConfChangeSnapshotUnreliableRecoverConcurrentPartition3B', () => split3B(5, true, true, true, 100, true));
