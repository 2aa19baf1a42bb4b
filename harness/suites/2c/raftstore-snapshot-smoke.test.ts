/**
 * The raftstore's log compaction and snapshots on the simulation, without the test cluster (the scenario of
 * TinyKV's TestOneSnapshot2C): with a small raftLogGcCountLimit the leader compacts the log while one store
 * is cut off; when it comes back it can only catch up through a snapshot, and it must end up with exactly
 * the data of the others (including a delete), also after a restart.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { partition, runSimTest } from '../../sim/index.ts';
import { testConfig } from '@impl/kv/raftstore/config.ts';
import { raftLogIndex, raftLogKey } from '@impl/kv/raftstore/keys.ts';
import type { Engine } from '@impl/kv/storage/engine.ts';
import { deleteReq, makeTempDir, putReq, removeDir, SmokeCluster } from '../2b/raftstore-sim-helpers.ts';

/** Indexes of region 1's raft log entries in a raft engine. */
async function logIndexes(raft: Engine): Promise<number[]> {
  const it = raft.iterMeta({ end: raftLogKey(1, Number.MAX_SAFE_INTEGER) });
  const out: number[] = [];
  for (await it.seek(raftLogKey(1, 0)); it.valid(); await it.next()) out.push(raftLogIndex(it.item().key));
  await it.close();
  return out;
}

let dir = '';
beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  await removeDir(dir);
});

describe('raftstore snapshots (3 stores on the simulation)', () => {
  test('a store cut off while the log is compacted catches up by snapshot', () =>
    runSimTest(
      async (sim) => {
        const config = { ...testConfig(), raftLogGcCountLimit: 10 };
        const c = await SmokeCluster.start(sim, dir, [1, 2, 3], config);
        await c.waitForLeader();
        await c.request([putReq('k1', 'v1', 'lock')]);
        await c.request([putReq('k2', 'v2', 'lock')]);
        for (const id of c.ids) expect(c.instance(id).store.applyStateOf(1)!.truncatedIndex).toBe(5);

        const handle = c.net.addFilter(partition([1], [2, 3]));
        for (let i = 100; i < 115; i++) await c.request([putReq(`k${i}`, `v${i}`, 'lock')]);
        await c.request([deleteReq('k2', 'lock')]);
        await sim.sleep(500);
        expect(await c.engineValue(1, 'k100', 'lock')).toBeUndefined();
        const leader = c.leader()!;
        expect(leader).not.toBe(1);
        const leaderState = c.instance(leader).store.applyStateOf(1)!;
        expect(leaderState.truncatedIndex).toBeGreaterThan(5);
        handle.remove();

        const applied = await sim.waitUntil(
          'store 1 has k114',
          () => (c.instance(1).store.applyStateOf(1)?.truncatedIndex ?? 0) >= leaderState.truncatedIndex,
          { timeoutMs: 10_000 },
        );
        expect(applied).toBe(true);
        await sim.waitUntil('store 1 caught up', () => c.instance(1).store.applyStateOf(1)!.appliedIndex >= leaderState.appliedIndex, {
          timeoutMs: 10_000,
        });
        expect(await c.engineValue(1, 'k1', 'lock')).toBe('v1');
        expect(await c.engineValue(1, 'k100', 'lock')).toBe('v100');
        expect(await c.engineValue(1, 'k114', 'lock')).toBe('v114');
        expect(await c.engineValue(1, 'k2', 'lock')).toBeUndefined();

        await sim.restart(1);
        expect(await c.engineValue(1, 'k1', 'lock')).toBe('v1');
        expect(await c.engineValue(1, 'k2', 'lock')).toBeUndefined();
        await c.request([putReq('k200', 'v200', 'lock')]);
        await sim.sleep(500);
        for (const id of c.ids) {
          const s = c.instance(id).store.applyStateOf(1)!;
          expect(s.appliedIndex - s.truncatedIndex).toBeLessThanOrEqual(2 * config.raftLogGcCountLimit);
        }
        // The compacted entries are gone from every raft engine too (deleted in the background), and what
        // is left is exactly the log after the compaction point.
        for (const id of c.ids) {
          const { truncatedIndex } = c.instance(id).store.applyStateOf(1)!;
          const onDisk = await logIndexes(c.instance(id).engines.raft);
          expect(onDisk.filter((i) => i <= truncatedIndex), `store ${id}`).toEqual([]);
          expect(onDisk[0], `store ${id}`).toBe(truncatedIndex + 1);
        }
      },
      { maxVirtualMs: 120_000 },
    ));
});
