/**
 * A quick end-to-end check of the raftstore on the deterministic simulation, without the test cluster:
 * three stores bootstrapped with region 1, a client that finds the leader and puts, gets, deletes and scans
 * through it, a follower crash and restart, and a leader crash.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { raft_cmdpb } from '#proto';
import { partition, runSimTest } from '../../sim/index.ts';
import { testConfig } from '@impl/kv/raftstore/config.ts';
import { deleteReq, makeTempDir, putReq, removeDir, SmokeCluster } from './raftstore-sim-helpers.ts';

let dir = '';
beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  await removeDir(dir);
});

describe('raftstore smoke (3 stores on the simulation)', () => {
  test('puts, gets, deletes and scans through the leader; survives a follower restart and a leader crash', () =>
    runSimTest(
      async (sim) => {
        const c = await SmokeCluster.start(sim, dir, [1, 2, 3], testConfig());
        await c.waitForLeader();

        for (let i = 0; i < 5; i++) await c.request([putReq(`k${i}`, `v${i}`)]);
        expect(await c.get('k3')).toBe('v3');
        await c.request([deleteReq('k2')]);
        expect(await c.get('k2')).toBe('');
        expect(await c.scan()).toEqual([
          ['k0', 'v0'],
          ['k1', 'v1'],
          ['k3', 'v3'],
          ['k4', 'v4'],
        ]);

        // A follower crashes and comes back: it keeps its data and its region from disk, and catches up.
        const follower = c.ids.find((id) => id !== c.leader())!;
        await sim.crash(follower);
        await c.request([putReq('k5', 'v5')]);
        await sim.startNode(follower);
        const restarted = c.instance(follower).store;
        expect(restarted.regionIds()).toEqual([1]);
        expect(await c.engineValue(follower, 'k0')).toBe('v0');
        const caughtUp = await sim.waitUntil('the follower has k5', () => (restarted.applyStateOf(1)?.appliedIndex ?? 0) >= leaderApplied(c), {
          timeoutMs: 5000,
        });
        expect(caughtUp).toBe(true);
        expect(await c.engineValue(follower, 'k5')).toBe('v5');
        expect(await c.engineValue(follower, 'k2')).toBeUndefined();

        // The leader crashes: another store takes over and has everything.
        const oldLeader = c.leader()!;
        await sim.crash(oldLeader);
        await c.request([putReq('k6', 'v6')]);
        expect(c.leader()).not.toBe(oldLeader);
        expect(await c.get('k5')).toBe('v5');
        await sim.startNode(oldLeader);
        expect((await c.scan()).map(([k]) => k)).toEqual(['k0', 'k1', 'k3', 'k4', 'k5', 'k6']);
      },
      { maxVirtualMs: 60_000 },
    ));
});

describe('proposals of a deposed leader', () => {
  test('are answered StaleCommand once other entries take their place (bug 22)', () =>
    runSimTest(
      async (sim) => {
        const c = await SmokeCluster.start(sim, dir, [1, 2, 3], testConfig());
        const oldLeader = await c.waitForLeader();
        await c.request([putReq('a', '1')]);
        const others = c.ids.filter((id) => id !== oldLeader);
        const cut = c.net.addFilter(partition([oldLeader], others));

        // The cut-off leader still takes the proposal, but can never commit it.
        const store = c.instance(oldLeader).store;
        const region = store.regionOf(1)!;
        const pending = store.sendCommand(
          raft_cmdpb.RaftCmdRequest({
            header: raft_cmdpb.RaftRequestHeader({
              regionId: 1,
              peer: region.peers.find((p) => p.storeId === oldLeader),
              regionEpoch: region.regionEpoch,
            }),
            requests: [putReq('lost', 'never')],
          }),
        );
        // The majority elects a new leader, whose entries take the index of the lost proposal.
        await c.request([putReq('b', '2')]);
        expect(c.leader()).not.toBe(oldLeader);
        cut.remove();

        const result = await sim.waitFor(pending, { timeoutMs: 5000, label: 'the deposed leader answers' });
        expect(result.response.header?.error?.staleCommand).toBeDefined();
        expect(await c.get('lost')).toBe('');
        expect(await c.get('b')).toBe('2');
        await sim.waitUntil('the old leader caught up', () => c.instance(oldLeader).store.applyStateOf(1)!.appliedIndex >= leaderApplied(c), {
          timeoutMs: 5000,
        });
        expect(await c.engineValue(oldLeader, 'lost')).toBeUndefined();
        expect(await c.engineValue(oldLeader, 'b')).toBe('2');
      },
      { maxVirtualMs: 60_000 },
    ));
});

function leaderApplied(c: SmokeCluster): number {
  const leader = c.leader();
  return leader === undefined ? Number.MAX_SAFE_INTEGER : c.instance(leader).store.applyStateOf(1)!.appliedIndex;
}
