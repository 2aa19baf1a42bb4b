// Determinism of the cluster-level 3B scenarios: splits (the background split check, askSplit, new peers
// created by applying a split), conf changes (scheduler operators, peers destroyed and created again from
// messages and snapshots), crashes and an unreliable network replay event for event from the seed.
import { expect, test } from 'vitest';
import { genericTest, runClusterTest } from '../../cluster/index.ts';
import { FIVE_STORES, ONE_SPLIT_OPTIONS, basicConfChangeScenario, oneSplitScenario } from '../../cluster/scenarios-3b.ts';
import { expectReplaysFromSeed } from './replay.ts';

test('TestOneSplit3B replays from its seed', () =>
  expectReplaysFromSeed('TestOneSplit3B determinism', (seed) =>
    runClusterTest(ONE_SPLIT_OPTIONS, (cluster, sim) => oneSplitScenario(cluster, sim), { maxVirtualMs: 300_000, seed }),
  ));

test('TestBasicConfChange3B replays from its seed', () =>
  expectReplaysFromSeed('TestBasicConfChange3B determinism', (seed) =>
    runClusterTest(FIVE_STORES, (cluster) => basicConfChangeScenario(cluster), { maxVirtualMs: 300_000, seed }),
  ));

test('GenericTest (unreliable net, restarts, snapshots, conf change, split) replays from its seed', async () => {
  // One shorter round keeps this kit check quick; splits and conf changes still happen in it.
  const first = await expectReplaysFromSeed('GenericTest 3B determinism', (seed) =>
    genericTest({
      part: '3B',
      nclients: 3,
      unreliable: true,
      crash: true,
      partitions: false,
      maxraftlog: 100,
      confchange: true,
      split: true,
      rounds: 1,
      roundMs: 2000,
      sim: { seed },
    }),
  );
  expect(first.value.confChanges).toBeGreaterThan(0);
});
