/**
 * Project 3B, cluster level: a power cut at every write boundary of two short multi-raft scenarios, each
 * boundary in turn (harness/cluster/write-boundaries.ts): one where the region splits, one where a peer is
 * removed and a new one added. Before each raft-engine or kv-engine write of each store, in turn, that store
 * loses power and starts again a second later while the workload goes on; every acknowledged write must
 * survive on every store, and the invariant checks must hold at every step. A failure names the boundary;
 * CUT=<store>:<write> replays it alone.
 *
 * catches writes of a split or a conf change that are not atomic with the apply state, or a destroyed or
 * new peer whose state on disk cannot be started from after a power cut.
 */
import { expect, test } from 'vitest';
import { bytes } from '../../cluster/index.ts';
import { boundaryFromEnv, type BoundaryScenario, runOneBoundary, sweepWriteBoundaries } from '../../cluster/write-boundaries.ts';
import { testSeed } from '../../sim/report.ts';

/** Hundreds of scenario runs in one test: on LevelDB (SIM_DISK=level) and a busy machine, a minute or more. */
const SWEEP_TIMEOUT_MS = 600_000;

const VALUE = 'x'.repeat(40);

/** Enough bytes to pass regionMaxSize: the region splits while the writes go on. */
const WITH_SPLIT: BoundaryScenario = {
  cluster: { stores: 3, config: { regionMaxSize: 300, regionSplitSize: 200 } },
  maxVirtualMs: 120_000,
  async workload(cluster, sim, acked) {
    for (let i = 0; i < 10; i++) {
      const key = bytes(`k${i}`);
      const value = bytes(`${VALUE}${i}`);
      await cluster.mustPut(key, value);
      acked(key, value);
    }
    // Let the split happen (the split check runs every 100 ms) before the last writes.
    const split = async () => (await cluster.getRegion(bytes('k0'))).id !== (await cluster.getRegion(bytes('k9'))).id;
    for (let i = 0; i < 250 && !(await split()); i++) await sim.sleep(20);
    if (!(await split())) throw new Error('the region did not split: this scenario no longer tests a split');
    for (const i of [0, 9]) {
      const key = bytes(`k${i}`);
      await cluster.mustPut(key, bytes(`after split ${i}`));
      acked(key, bytes(`after split ${i}`));
    }
  },
};

/** Store 3's peer removed (its data destroyed), then a new peer added there (it catches up). */
const WITH_CONF_CHANGE: BoundaryScenario = {
  cluster: { stores: 3 },
  maxVirtualMs: 120_000,
  async workload(cluster, _sim, acked) {
    const put = async (k: string, v: string) => {
      await cluster.mustPut(bytes(k), bytes(v));
      acked(bytes(k), bytes(v));
    };
    await put('a', '1');
    const region = await cluster.getRegion(bytes('a'));
    const old = region.peers.find((p) => p.storeId === 3)!;
    await cluster.mustRemovePeer(region.id, old);
    await put('b', '2');
    await cluster.mustAddPeer(region.id, cluster.allocPeer(3));
    await put('c', '3');
  },
};

async function sweep(name: string, scenario: BoundaryScenario): Promise<void> {
  const only = boundaryFromEnv();
  if (only !== undefined) return runOneBoundary(scenario, only);
  const seed = testSeed(name);
  const result = await sweepWriteBoundaries(scenario, seed, `make project3b RUN=${name}`);
  console.log(`[sweep] ${result.boundaries} write boundaries: ${[...result.writes].map(([s, n]) => `s${s} ${n}`).join(', ')}`);
  if (result.problem !== undefined) expect.fail(result.problem);
}

test('TestPowerCutAtEveryWriteSplit3B', { timeout: SWEEP_TIMEOUT_MS }, () => sweep('TestPowerCutAtEveryWriteSplit3B', WITH_SPLIT));

test('TestPowerCutAtEveryWriteConfChange3B', { timeout: SWEEP_TIMEOUT_MS }, () =>
  sweep('TestPowerCutAtEveryWriteConfChange3B', WITH_CONF_CHANGE),
);
