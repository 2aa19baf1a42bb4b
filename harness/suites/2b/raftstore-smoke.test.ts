/**
 * A quick end-to-end check of the raftstore on the test cluster: three stores bootstrapped with region 1, a
 * client that puts, gets, deletes and scans through its leader, a follower crash and restart, and a leader
 * crash.
 */
import { describe, expect, test } from 'vitest';
import { bytes, putRequest, runClusterTest, snapRequest, text, type Cluster } from '../../cluster/index.ts';

const REGION = 1;

describe('raftstore smoke (3 stores on the simulation)', () => {
  test('puts, gets, deletes and scans through the leader; survives a follower restart and a leader crash', () =>
    runClusterTest(
      { stores: 3 },
      async (cluster, sim) => {
        await cluster.waitForLeaderStore(REGION, cluster.storeIds(), 5000);

        for (let i = 0; i < 5; i++) await cluster.mustPut(bytes(`k${i}`), bytes(`v${i}`));
        expect(text(await cluster.get(bytes('k3')))).toBe('v3');
        await cluster.mustDelete(bytes('k2'));
        expect(text(await cluster.get(bytes('k2')))).toBe('');
        expect(await scanPairs(cluster)).toEqual([
          ['k0', 'v0'],
          ['k1', 'v1'],
          ['k3', 'v3'],
          ['k4', 'v4'],
        ]);

        // A follower crashes and comes back: it keeps its data and its region from disk, and catches up.
        const follower = cluster.storeIds().find((id) => id !== cluster.leaderStore(REGION))!;
        await cluster.stopStore(follower);
        await cluster.mustPut(bytes('k5'), bytes('v5'));
        await cluster.startStore(follower);
        const restarted = cluster.raftstore(follower);
        expect(restarted.regionIds()).toEqual([REGION]);
        expect(await engineText(cluster, follower, 'k0')).toBe('v0');
        const caughtUp = await sim.waitUntil(
          'the follower has k5',
          () => (restarted.applyStateOf(REGION)?.appliedIndex ?? 0) >= leaderApplied(cluster),
          { timeoutMs: 5000 },
        );
        expect(caughtUp).toBe(true);
        expect(await engineText(cluster, follower, 'k5')).toBe('v5');
        expect(await engineText(cluster, follower, 'k2')).toBeUndefined();

        // The leader crashes: another store takes over and has everything.
        const oldLeader = cluster.leaderStore(REGION)!;
        await cluster.stopStore(oldLeader);
        await cluster.mustPut(bytes('k6'), bytes('v6'));
        expect(cluster.leaderStore(REGION)).not.toBe(oldLeader);
        expect(text(await cluster.get(bytes('k5')))).toBe('v5');
        await cluster.startStore(oldLeader);
        expect((await scanPairs(cluster)).map(([k]) => k)).toEqual(['k0', 'k1', 'k3', 'k4', 'k5', 'k6']);
      },
      { maxVirtualMs: 60_000 },
    ));
});

describe('proposals of a deposed leader', () => {
  test('are answered StaleCommand once other entries take their place (bug 22)', () =>
    runClusterTest(
      { stores: 3 },
      async (cluster, sim) => {
        const oldLeader = await cluster.waitForLeaderStore(REGION, cluster.storeIds(), 5000);
        await cluster.mustPut(bytes('a'), bytes('1'));
        const others = cluster.storeIds().filter((id) => id !== oldLeader);
        const cut = cluster.partition([oldLeader], others);

        // The cut-off leader still takes the proposal, but can never commit it.
        const pending = cluster.sendToStore(oldLeader, REGION, [putRequest(bytes('lost'), bytes('never'))]);
        // The majority elects a new leader, whose entries take the index of the lost proposal.
        await cluster.mustPut(bytes('b'), bytes('2'));
        expect(cluster.leaderStore(REGION)).not.toBe(oldLeader);
        cut.remove();

        const result = await sim.waitFor(pending, { timeoutMs: 5000, label: 'the deposed leader answers' });
        expect(result.response.header?.error?.staleCommand).toBeDefined();
        expect(text(await cluster.get(bytes('lost')))).toBe('');
        expect(text(await cluster.get(bytes('b')))).toBe('2');
        await sim.waitUntil(
          'the old leader caught up',
          () => cluster.raftstore(oldLeader).applyStateOf(REGION)!.appliedIndex >= leaderApplied(cluster),
          { timeoutMs: 5000 },
        );
        expect(await engineText(cluster, oldLeader, 'lost')).toBeUndefined();
        expect(await engineText(cluster, oldLeader, 'b')).toBe('2');
      },
      { maxVirtualMs: 60_000 },
    ));
});

/** Applied index of region 1 on the store that leads it (none: no store can be behind it). */
function leaderApplied(cluster: Cluster): number {
  const leader = cluster.leaderStore(REGION);
  return leader === undefined ? Number.MAX_SAFE_INTEGER : cluster.raftstore(leader).applyStateOf(REGION)!.appliedIndex;
}

/** What store `id`'s kv engine holds for `key`, as text (undefined: nothing). */
async function engineText(cluster: Cluster, id: number, key: string): Promise<string | undefined> {
  const value = await cluster.engineGetCF(id, 'default', bytes(key));
  return value === undefined ? undefined : text(value);
}

/** Every (key, value) of the default family, through one Snap request's reader (region 1 holds every key). */
async function scanPairs(cluster: Cluster): Promise<Array<[string, string]>> {
  const result = await cluster.request(new Uint8Array(0), [snapRequest()]);
  const reader = result.reader!;
  const pairs: Array<[string, string]> = [];
  const it = reader.iterCF('default');
  for (await it.seek(new Uint8Array(0)); it.valid(); await it.next()) pairs.push([text(it.item().key), text(it.item().value)]);
  await it.close();
  await reader.close();
  return pairs;
}
