// Project 3B, the hand-written cluster scenarios: TinyKV's TestTransferLeader3B, TestBasicConfChange3B,
// TestConfChangeRemoveLeader3B and TestOneSplit3B in virtual time on the deterministic simulation, with
// store invariant checks (region map, range index, what a destroyed peer leaves on disk) after the steps
// that change a store's regions; and two of ours: TestLogGcAfterLeadersFromSnapshots3B (log GC when each new
// leader's log began with a snapshot) and TestRemovedLeaderLastWordLost3B (a removed leader must not vanish
// before the survivor of a two-member region knows its removal committed). Each test prints its seed and trace hash; a failure prints the replay command.
import { test } from 'vitest';
import { runClusterTest } from '../../cluster/index.ts';
import {
  FIVE_STORES,
  LOG_GC_OPTIONS,
  ONE_SPLIT_OPTIONS,
  basicConfChangeScenario,
  confChangeRemoveLeaderScenario,
  logGcAfterLeadersFromSnapshotsScenario,
  removedLeaderLastWordLostScenario,
  oneSplitScenario,
  transferLeaderScenario,
} from '../../cluster/scenarios-3b.ts';

test('TestTransferLeader3B', () => runClusterTest(FIVE_STORES, (cluster) => transferLeaderScenario(cluster), { maxVirtualMs: 120_000 }));

test('TestBasicConfChange3B', () => runClusterTest(FIVE_STORES, (cluster) => basicConfChangeScenario(cluster), { maxVirtualMs: 300_000 }));

test('TestConfChangeRemoveLeader3B', () =>
  runClusterTest(FIVE_STORES, (cluster) => confChangeRemoveLeaderScenario(cluster), { maxVirtualMs: 300_000 }));

test('TestOneSplit3B', () => runClusterTest(ONE_SPLIT_OPTIONS, (cluster, sim) => oneSplitScenario(cluster, sim), { maxVirtualMs: 300_000 }));

test('TestLogGcAfterLeadersFromSnapshots3B', () =>
  runClusterTest(LOG_GC_OPTIONS, (cluster, sim) => logGcAfterLeadersFromSnapshotsScenario(cluster, sim), { maxVirtualMs: 300_000 }));

test('TestRemovedLeaderLastWordLost3B', () =>
  runClusterTest(FIVE_STORES, (cluster, sim) => removedLeaderLastWordLostScenario(cluster, sim), { maxVirtualMs: 300_000 }));
