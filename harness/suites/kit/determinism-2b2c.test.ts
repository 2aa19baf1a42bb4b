// Determinism of the cluster-level 2B/2C scenarios: a whole cluster (5 or 3 stores on real LevelDB engines,
// the mock scheduler, client actors, partitions, drops, crashes and restarts) replays event for event from
// its seed: the same seed gives the same trace hash, another seed a different one.
import { expect, test } from 'vitest';
import { genericTest, runClusterTest } from '../../cluster/index.ts';
import { ONE_PARTITION_OPTIONS, ONE_SNAPSHOT_OPTIONS, onePartitionScenario, oneSnapshotScenario } from '../../cluster/scenarios.ts';
import { expectReplaysFromSeed } from './replay.ts';

test('TestOnePartition2B replays from its seed', () =>
  expectReplaysFromSeed('TestOnePartition2B determinism', (seed) =>
    runClusterTest(ONE_PARTITION_OPTIONS, (cluster) => onePartitionScenario(cluster), { maxVirtualMs: 120_000, seed }),
  ));

test('TestOneSnapshot2C replays from its seed', () =>
  expectReplaysFromSeed('TestOneSnapshot2C determinism', (seed) =>
    runClusterTest(ONE_SNAPSHOT_OPTIONS, (cluster, sim) => oneSnapshotScenario(cluster, sim), { maxVirtualMs: 120_000, seed }),
  ));

test('GenericTest (unreliable net, restarts, partitions, snapshots, many clients) replays from its seed', async () => {
  // One shorter round keeps this kit check quick; every kind of chaos still happens in it.
  const first = await expectReplaysFromSeed('GenericTest determinism', (seed) =>
    genericTest({
      part: '2C',
      nclients: 3,
      unreliable: true,
      crash: true,
      partitions: true,
      maxraftlog: 100,
      confchange: false,
      split: false,
      rounds: 1,
      roundMs: 2000,
      sim: { seed },
    }),
  );
  expect(first.value.chaosCycles).toBeGreaterThan(0);
  // The shared keys were used, and every request went into the history that was checked.
  expect(first.value.sharedOps).toBeGreaterThan(0);
  expect(first.value.historyOps).toBeGreaterThan(first.value.sharedOps);
});
