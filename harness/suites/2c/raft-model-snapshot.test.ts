/**
 * 2C, property-based: the random schedules of the 2A property test (harness/raft-testing/raft-model.ts)
 * with log compaction added: nodes compact their logs at their applied index, so followers that fall
 * behind catch up from snapshots, while messages are lost, duplicated and reordered and nodes restart.
 * The Raft paper's safety properties must hold after every step; a failure prints a shrunk schedule and
 * replays with the same SEED.
 */
import { expect, test } from 'vitest';
import { testSeed } from '../../raft-testing/helpers.ts';
import { checkRandomSchedules } from '../../raft-testing/raft-model.ts';

const RUNS = 300;

test('TestSafetyRandomSchedulesWithSnapshots3Nodes2C', () => {
  const problem = checkRandomSchedules({ size: 3, compaction: true }, testSeed(), RUNS);
  if (problem !== undefined) expect.fail(problem);
});

test('TestSafetyRandomSchedulesWithSnapshots5Nodes2C', () => {
  const problem = checkRandomSchedules({ size: 5, compaction: true }, testSeed(), RUNS);
  if (problem !== undefined) expect.fail(problem);
});
