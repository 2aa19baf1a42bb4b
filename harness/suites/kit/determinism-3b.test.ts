// Determinism of the cluster-level 3B scenarios: splits (the background split check, askSplit, new peers
// created by applying a split), conf changes (scheduler operators, peers destroyed and created again from
// messages and snapshots), crashes and an unreliable network replay event for event from the seed.
import { expect, test } from 'vitest';
import { genericTest, runClusterTest, type GenericTestOptions } from '../../cluster/index.ts';
import { FIVE_STORES, ONE_SPLIT_OPTIONS, basicConfChangeScenario, oneSplitScenario } from '../../cluster/scenarios-3b.ts';
import { testSeed } from '../../sim/index.ts';

function seeds(label: string): [number, number] {
  const seed = testSeed(label);
  return [seed, (seed + 1) >>> 0];
}

test('TestOneSplit3B replays from its seed', async () => {
  const [seed, other] = seeds('TestOneSplit3B determinism');
  const run = (s: number) => runClusterTest(ONE_SPLIT_OPTIONS, (cluster, sim) => oneSplitScenario(cluster, sim), { maxVirtualMs: 300_000, seed: s });
  const first = await run(seed);
  const again = await run(seed);
  const different = await run(other);
  expect(again.traceHash).toBe(first.traceHash);
  expect(again.events).toBe(first.events);
  expect(again.virtualMs).toBe(first.virtualMs);
  expect(different.traceHash).not.toBe(first.traceHash);
});

test('TestBasicConfChange3B replays from its seed', async () => {
  const [seed, other] = seeds('TestBasicConfChange3B determinism');
  const run = (s: number) => runClusterTest(FIVE_STORES, (cluster) => basicConfChangeScenario(cluster), { maxVirtualMs: 300_000, seed: s });
  const first = await run(seed);
  const again = await run(seed);
  const different = await run(other);
  expect(again.traceHash).toBe(first.traceHash);
  expect(again.events).toBe(first.events);
  expect(different.traceHash).not.toBe(first.traceHash);
});

test('GenericTest (unreliable net, restarts, snapshots, conf change, split) replays from its seed', async () => {
  const [seed, other] = seeds('GenericTest 3B determinism');
  // One shorter round keeps this kit check quick; splits and conf changes still happen in it.
  const options = (s: number): GenericTestOptions => ({
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
    sim: { seed: s },
  });
  const first = await genericTest(options(seed));
  const again = await genericTest(options(seed));
  const different = await genericTest(options(other));
  expect(again.traceHash).toBe(first.traceHash);
  expect(again.value).toEqual(first.value);
  expect(first.value.confChanges).toBeGreaterThan(0);
  expect(different.traceHash).not.toBe(first.traceHash);
});
