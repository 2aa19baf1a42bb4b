/**
 * 3A, property-based: the random schedules of the 2A property test (harness/raft-testing/raft-model.ts) with
 * membership changes: five nodes, 1-3 bootstrapped as the group and 4-5 empty, and steps that propose
 * adding or removing any node while messages are lost, duplicated and reordered, nodes restart and (in the
 * second test) logs are compacted. After every step the Raft paper's safety properties must hold; a failure
 * prints a shrunk schedule and replays with the same SEED.
 *
 * A leader that lets a second membership change into its log while one is still unapplied (two changes in
 * flight can leave majorities that do not overlap) broke Leader Completeness here in about one schedule in
 * four thousand: rare for one run of the suite, the kind of bug the grader's many seeds are for.
 */
import { expect, test } from 'vitest';
import { testSeed } from '../../raft-testing/helpers.ts';
import { checkRandomSchedules } from '../../raft-testing/raft-model.ts';

/** Schedules per test (each up to 500 steps): about two seconds each on the reference. */
const RUNS = 1000;

test('TestSafetyRandomSchedulesWithMembershipChanges3A', () => {
  const problem = checkRandomSchedules({ size: 5, compaction: false, membership: true }, testSeed(), RUNS);
  if (problem !== undefined) expect.fail(problem);
});

test('TestSafetyRandomSchedulesWithMembershipChangesAndSnapshots3A', () => {
  const problem = checkRandomSchedules({ size: 5, compaction: true, membership: true }, testSeed(), RUNS);
  if (problem !== undefined) expect.fail(problem);
});
