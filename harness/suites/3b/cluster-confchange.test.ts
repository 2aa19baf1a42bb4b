// Project 3B, conf change under load: TinyKV's GenericTest scenarios with a chaos client that adds and
// removes random peers through scheduler operators, with restarts, an unreliable network, snapshots and
// partitions. After every round the stores' invariants are checked (see harness/cluster/invariants.ts).
import { test } from 'vitest';
import { genericTest } from '../../cluster/index.ts';

/** TinyKV's GenericTest(t, "3B", nclients, unreliable, crash, partitions, maxraftlog, true, false). */
function confChange3B(nclients: number, unreliable: boolean, crash: boolean, partitions: boolean, maxraftlog: number): Promise<unknown> {
  return genericTest({ part: '3B', nclients, unreliable, crash, partitions, maxraftlog, confchange: true, split: false });
}

test('TestConfChangeRecover3B', () => confChange3B(1, false, true, false, -1));

test('TestConfChangeRecoverManyClients3B', () => confChange3B(20, false, true, false, -1));

test('TestConfChangeUnreliable3B', () => confChange3B(1, true, false, false, -1));

test('TestConfChangeUnreliableRecover3B', () => confChange3B(1, true, true, false, -1));

test('TestConfChangeSnapshotUnreliableRecover3B', () => confChange3B(1, true, true, false, 100));

test('TestConfChangeSnapshotUnreliableRecoverConcurrentPartition3B', () => confChange3B(5, true, true, true, 100));
