// Determinism of the cluster-level 2B/2C scenarios: a whole cluster (5 or 3 stores on real LevelDB engines,
// the mock scheduler, client actors, partitions, drops, crashes and restarts) replays event for event from
// its seed: the same seed gives the same trace hash, another seed a different one.
import { expect, test } from 'vitest';
import { genericTest, runClusterTest, type GenericTestOptions } from '../../cluster/index.ts';
import { ONE_PARTITION_OPTIONS, ONE_SNAPSHOT_OPTIONS, onePartitionScenario, oneSnapshotScenario } from '../../cluster/scenarios.ts';
import { testSeed } from '../../sim/index.ts';

function seeds(label: string): [number, number] {
  const seed = testSeed(label);
  return [seed, (seed + 1) >>> 0];
}

test('TestOnePartition2B replays from its seed', async () => {
  const [seed, other] = seeds('TestOnePartition2B determinism');
  const run = (s: number) => runClusterTest(ONE_PARTITION_OPTIONS, (cluster) => onePartitionScenario(cluster), { maxVirtualMs: 120_000, seed: s });
  const first = await run(seed);
  const again = await run(seed);
  const different = await run(other);
  expect(again.traceHash).toBe(first.traceHash);
  expect(again.events).toBe(first.events);
  expect(again.virtualMs).toBe(first.virtualMs);
  expect(different.traceHash).not.toBe(first.traceHash);
});

test('TestOneSnapshot2C replays from its seed', async () => {
  const [seed, other] = seeds('TestOneSnapshot2C determinism');
  const run = (s: number) =>
    runClusterTest(ONE_SNAPSHOT_OPTIONS, (cluster, sim) => oneSnapshotScenario(cluster, sim), { maxVirtualMs: 120_000, seed: s });
  const first = await run(seed);
  const again = await run(seed);
  const different = await run(other);
  expect(again.traceHash).toBe(first.traceHash);
  expect(again.events).toBe(first.events);
  expect(different.traceHash).not.toBe(first.traceHash);
});

test('GenericTest (unreliable net, restarts, partitions, snapshots, many clients) replays from its seed', async () => {
  const [seed, other] = seeds('GenericTest determinism');
  // One shorter round keeps this kit check quick; every kind of chaos still happens in it.
  const options = (s: number): GenericTestOptions => ({
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
    sim: { seed: s },
  });
  const first = await genericTest(options(seed));
  const again = await genericTest(options(seed));
  const different = await genericTest(options(other));
  expect(again.traceHash).toBe(first.traceHash);
  expect(again.value).toEqual(first.value);
  expect(first.value.chaosCycles).toBeGreaterThan(0);
  expect(different.traceHash).not.toBe(first.traceHash);
});
