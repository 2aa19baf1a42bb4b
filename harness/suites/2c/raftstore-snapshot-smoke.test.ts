/**
 * The raftstore's log compaction and snapshots on the test cluster (the scenario of TinyKV's
 * TestOneSnapshot2C, checked in more detail): with a small raftLogGcCountLimit the leader compacts the log
 * while one store is cut off; when it comes back it can only catch up through a snapshot, and it must end
 * up with exactly the data of the others (including a delete), also after a restart.
 */
import { describe, expect, test } from 'vitest';
import { raftLogIndex, raftLogKey } from '@impl/kv/raftstore/keys.ts';
import type { Engine } from '@impl/kv/storage/engine.ts';
import { bytes, runClusterTest, text, type Cluster } from '../../cluster/index.ts';

const REGION = 1;

/** Indexes of region 1's raft log entries in a raft engine. */
async function logIndexes(raft: Engine): Promise<number[]> {
  const it = raft.iterMeta({ end: raftLogKey(1, Number.MAX_SAFE_INTEGER) });
  const out: number[] = [];
  for (await it.seek(raftLogKey(1, 0)); it.valid(); await it.next()) out.push(raftLogIndex(it.item().key));
  await it.close();
  return out;
}

describe('raftstore snapshots (3 stores on the simulation)', () => {
  test('a store cut off while the log is compacted catches up by snapshot', () =>
    runClusterTest(
      { stores: 3, config: { raftLogGcCountLimit: 10 } },
      async (cluster, sim) => {
        await cluster.waitForLeaderStore(REGION, cluster.storeIds(), 5000);
        await cluster.mustPutCF('lock', bytes('k1'), bytes('v1'));
        await cluster.mustPutCF('lock', bytes('k2'), bytes('v2'));
        for (const id of cluster.storeIds()) expect(cluster.raftstore(id).applyStateOf(REGION)!.truncatedIndex).toBe(5);

        const handle = cluster.partition([1], [2, 3]);
        for (let i = 100; i < 115; i++) await cluster.mustPutCF('lock', bytes(`k${i}`), bytes(`v${i}`));
        await cluster.mustDeleteCF('lock', bytes('k2'));
        await sim.sleep(500);
        expect(await lockText(cluster, 1, 'k100')).toBeUndefined();
        const leader = cluster.leaderStore(REGION)!;
        expect(leader).not.toBe(1);
        const leaderState = cluster.raftstore(leader).applyStateOf(REGION)!;
        expect(leaderState.truncatedIndex).toBeGreaterThan(5);
        handle.remove();

        const applied = await sim.waitUntil(
          'store 1 has k114',
          () => (cluster.raftstore(1).applyStateOf(REGION)?.truncatedIndex ?? 0) >= leaderState.truncatedIndex,
          { timeoutMs: 10_000 },
        );
        expect(applied).toBe(true);
        await sim.waitUntil('store 1 caught up', () => cluster.raftstore(1).applyStateOf(REGION)!.appliedIndex >= leaderState.appliedIndex, {
          timeoutMs: 10_000,
        });
        expect(await lockText(cluster, 1, 'k1')).toBe('v1');
        expect(await lockText(cluster, 1, 'k100')).toBe('v100');
        expect(await lockText(cluster, 1, 'k114')).toBe('v114');
        expect(await lockText(cluster, 1, 'k2')).toBeUndefined();

        await cluster.restartStore(1);
        expect(await lockText(cluster, 1, 'k1')).toBe('v1');
        expect(await lockText(cluster, 1, 'k2')).toBeUndefined();
        await cluster.mustPutCF('lock', bytes('k200'), bytes('v200'));
        await sim.sleep(500);
        for (const id of cluster.storeIds()) {
          const s = cluster.raftstore(id).applyStateOf(REGION)!;
          expect(s.appliedIndex - s.truncatedIndex).toBeLessThanOrEqual(2 * cluster.config.raftLogGcCountLimit);
        }
        // The compacted entries are gone from every raft engine too (deleted in the background), and what
        // is left is exactly the log after the compaction point.
        for (const id of cluster.storeIds()) {
          const { truncatedIndex } = cluster.raftstore(id).applyStateOf(REGION)!;
          const onDisk = await logIndexes(cluster.engines(id)!.raft);
          expect(onDisk.filter((i) => i <= truncatedIndex), `store ${id}`).toEqual([]);
          expect(onDisk[0], `store ${id}`).toBe(truncatedIndex + 1);
        }
      },
      { maxVirtualMs: 120_000 },
    ));
});

/** What store `id`'s kv engine holds for `key` in the lock family, as text (undefined: nothing). */
async function lockText(cluster: Cluster, id: number, key: string): Promise<string | undefined> {
  const value = await cluster.engineGetCF(id, 'lock', bytes(key));
  return value === undefined ? undefined : text(value);
}
