/**
 * Project 2B, cluster level: a power cut at every write boundary of a short scenario, each in turn
 * (harness/cluster/write-boundaries.ts). Three stores take a few writes; before each raft-engine or
 * kv-engine write of each store, in turn, that store loses power, starts again a second later, and the
 * workload goes on. Every acknowledged write must survive on every store, and the invariant checks must hold
 * at every step. A failure names the boundary; CUT=<store>:<write> replays that boundary alone.
 *
 * catches known bug 20 (20-send-before-persist, 20-apply-before-persist), 21 (an apply state written apart
 * from the data it describes) and any other write ordering whose intermediate state cannot be recovered.
 */
import { expect, test } from 'vitest';
import { bytes } from '../../cluster/index.ts';
import { boundaryFromEnv, type BoundaryScenario, runOneBoundary, sweepWriteBoundaries } from '../../cluster/write-boundaries.ts';
import { testSeed } from '../../sim/report.ts';

/** Hundreds of scenario runs in one test: on LevelDB (SIM_DISK=level) and a busy machine, a minute or more. */
const SWEEP_TIMEOUT_MS = 600_000;

const FEW_WRITES: BoundaryScenario = {
  cluster: { stores: 3 },
  maxVirtualMs: 120_000,
  async workload(cluster, _sim, acked) {
    for (let i = 0; i < 6; i++) {
      const key = bytes(`k${i % 4}`);
      const value = bytes(`v${i}`);
      await cluster.mustPut(key, value);
      acked(key, value);
    }
  },
};

test('TestPowerCutAtEveryWrite2B', { timeout: SWEEP_TIMEOUT_MS }, async () => {
  const only = boundaryFromEnv();
  if (only !== undefined) return runOneBoundary(FEW_WRITES, only);
  const seed = testSeed('TestPowerCutAtEveryWrite2B');
  const result = await sweepWriteBoundaries(FEW_WRITES, seed, 'make project2b RUN=TestPowerCutAtEveryWrite2B');
  console.log(`[sweep] ${result.boundaries} write boundaries: ${[...result.writes].map(([s, n]) => `s${s} ${n}`).join(', ')}`);
  if (result.problem !== undefined) expect.fail(result.problem);
});
