/**
 * Scoring. Each test is worth points; a test earns its points only if every one of its runs passed (a test
 * that fails on one seed in fifty has a bug, and the grade says so). The stage's score is the sum.
 *
 * Points per stage: every test is worth 1 point, except the ones listed below. The weights follow the work a
 * test checks: TinyKV's own scenarios under faults weigh more than single-feature tests, and the most
 * demanding GenericTest scenarios (unreliable network, restarts, partitions, conf change, splits together)
 * the most. Instructors change the table here; the report names the points of every test.
 */

const POINTS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  '2B': {
    TestBasic2B: 2,
    TestConcurrent2B: 2,
    TestUnreliable2B: 2,
    TestOnePartition2B: 2,
    TestManyPartitionsOneClient2B: 2,
    TestManyPartitionsManyClients2B: 3,
    TestPersistOneClient2B: 2,
    TestPersistConcurrent2B: 2,
    TestPersistConcurrentUnreliable2B: 3,
    TestPersistPartition2B: 3,
    TestPersistPartitionUnreliable2B: 3,
  },
  '2C': {
    TestOneSnapshot2C: 2,
    TestSnapshotRecover2C: 2,
    TestSnapshotRecoverManyClients2C: 2,
    TestSnapshotUnreliable2C: 2,
    TestSnapshotUnreliableRecover2C: 3,
    TestSnapshotUnreliableRecoverConcurrentPartition2C: 3,
  },
  '3B': {
    TestTransferLeader3B: 2,
    TestBasicConfChange3B: 2,
    TestConfChangeRemoveLeader3B: 2,
    TestConfChangeRecover3B: 2,
    TestConfChangeRecoverManyClients3B: 2,
    TestConfChangeUnreliable3B: 2,
    TestConfChangeUnreliableRecover3B: 3,
    TestConfChangeSnapshotUnreliableRecover3B: 3,
    TestConfChangeSnapshotUnreliableRecoverConcurrentPartition3B: 4,
    TestOneSplit3B: 2,
    TestSplitRecover3B: 2,
    TestSplitRecoverManyClients3B: 2,
    TestSplitUnreliable3B: 2,
    TestSplitUnreliableRecover3B: 3,
    TestSplitConfChangeSnapshotUnreliableRecover3B: 3,
    TestSplitConfChangeSnapshotUnreliableRecoverConcurrentPartition3B: 4,
  },
};

/** The points of a test (by its own name, without describe blocks) in a stage. */
export function pointsFor(stageId: string, testName: string): number {
  return POINTS[stageId]?.[testName] ?? 1;
}
