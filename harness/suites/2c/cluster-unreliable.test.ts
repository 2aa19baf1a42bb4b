// Project 2C, cluster level (part 2 of 2): TinyKV's snapshot scenarios on an unreliable network (10% of raft
// requests and of replies dropped), with restarts and partitions. Log GC at 100 entries forces followers
// that fall behind to catch up by snapshot.
import { test } from 'vitest';
import { genericTest } from '../../cluster/index.ts';

/** TinyKV's GenericTest(t, "2C", 5, true, crash, partitions, 100, false, false). */
function unreliable2C(crash: boolean, partitions: boolean): Promise<unknown> {
  return genericTest({ part: '2C', nclients: 5, unreliable: true, crash, partitions, maxraftlog: 100, confchange: false, split: false });
}

test('TestSnapshotUnreliable2C', () => unreliable2C(false, false));

test('TestSnapshotUnreliableRecover2C', () => unreliable2C(true, false));

test('TestSnapshotUnreliableRecoverConcurrentPartition2C', () => unreliable2C(true, true));
