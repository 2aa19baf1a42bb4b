/**
 * 2A, property-based: raft under random schedules (harness/raft-testing/raft-model.ts). Ticks, proposals,
 * messages delivered in any order, dropped or duplicated, partitions and restarts, on 3 and on 5 RawNodes;
 * after every step the Raft paper's safety properties must hold. A failing schedule is shrunk by fast-check
 * to a shorter one and printed step by step; the same SEED replays it.
 */
import { expect, test } from 'vitest';
import { testSeed } from '../../raft-testing/helpers.ts';
import { checkRandomSchedules } from '../../raft-testing/raft-model.ts';

/** Schedules per group size (each up to 500 steps): about a second in all on the reference. */
const RUNS = 300;

test('TestSafetyRandomSchedules3Nodes2AC', () => {
  const problem = checkRandomSchedules({ size: 3, compaction: false }, testSeed(), RUNS);
  if (problem !== undefined) expect.fail(problem);
});

test('TestSafetyRandomSchedules5Nodes2AC', () => {
  const problem = checkRandomSchedules({ size: 5, compaction: false }, testSeed(), RUNS);
  if (problem !== undefined) expect.fail(problem);
});
