/**
 * A quick end-to-end check of the raftstore on the deterministic simulation, without the test cluster:
 * three stores bootstrapped with region 1, a client that finds the leader and puts, gets and scans
 * through it, a follower crash and restart, and a leader crash.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { decode, encode, eraftpb, raft_cmdpb, raft_serverpb } from '#proto';
import { runSimTest, SimNetwork, WaitTimeoutError, type Sim } from '../../sim/index.ts';
import { Raftstore, type CommandResult } from '@impl/kv/raftstore/raftstore.ts';
import { testConfig, type RaftstoreConfig } from '@impl/kv/raftstore/config.ts';
import { closeEngines, openEngines, type Engines } from '@impl/kv/raftstore/engines.ts';
import { bootstrapStore, firstRegion, prepareBootstrapRegion } from '@impl/kv/raftstore/bootstrap.ts';
import { NoopSchedulerClient } from '@impl/kv/raftstore/scheduler-client.ts';

type RaftMessage = raft_serverpb.RaftMessage;
const { CmdType } = raft_cmdpb;
const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (s: string) => enc.encode(s);
const text = (b: Uint8Array) => dec.decode(b);

interface StoreInstance {
  store: Raftstore;
  engines: Engines;
}

let baseDir = '';
beforeEach(async () => {
  baseDir = await mkdtemp(path.join(os.tmpdir(), 'raftstore-smoke-'));
});
afterEach(async () => {
  await rm(baseDir, { recursive: true, force: true });
});

/** Bootstraps `ids` with region 1 and registers them as sim nodes on a network that round-trips every message. */
async function makeCluster(sim: Sim, ids: number[], config: RaftstoreConfig) {
  const region = firstRegion(ids);
  for (const id of ids) {
    const engines = await openEngines(path.join(baseDir, `s${id}`));
    await bootstrapStore(engines, 1, id);
    await prepareBootstrapRegion(engines, region);
    await closeEngines(engines);
  }
  const net = new SimNetwork<RaftMessage>(sim, {
    copy: (m) => decode('raft_serverpb.RaftMessage', encode('raft_serverpb.RaftMessage', m)),
    describe: (m) => `r${m.regionId} ${eraftpb.MessageType[m.message?.msgType ?? 0]} t${m.message?.term ?? 0}`,
  });
  for (const id of ids) {
    sim.addNode<StoreInstance>(id, {
      async start(rt) {
        const engines = await openEngines(path.join(baseDir, `s${id}`));
        const store = await Raftstore.start({
          storeId: id,
          runtime: rt,
          transport: net.transport(rt),
          engines,
          scheduler: new NoopSchedulerClient(),
          config,
        });
        return { store, engines };
      },
      async kill(instance) {
        await closeEngines(instance.engines);
      },
    });
  }
  for (const id of ids) await sim.startNode(id);
  return { net, region };
}

function leaderOf(sim: Sim, ids: number[]): number | undefined {
  return ids.find((id) => sim.isUp(id) && sim.instance<StoreInstance>(id).store.isLeader(1));
}

/** Sends `requests` to region 1's leader, retrying on region errors and timeouts, like a client would. */
async function request(sim: Sim, ids: number[], requests: raft_cmdpb.Request[]): Promise<CommandResult> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const leader = leaderOf(sim, ids);
    if (leader === undefined) {
      await sim.sleep(50);
      continue;
    }
    const store = sim.instance<StoreInstance>(leader).store;
    const region = store.regionOf(1)!;
    const req = raft_cmdpb.RaftCmdRequest({
      header: raft_cmdpb.RaftRequestHeader({
        regionId: 1,
        peer: region.peers.find((p) => p.storeId === leader),
        regionEpoch: region.regionEpoch,
      }),
      requests,
    });
    try {
      const result = await sim.waitFor(store.sendCommand(req), { timeoutMs: 1000, label: 'command' });
      if (result.response.header?.error === undefined) return result;
      await result.reader?.close();
    } catch (err) {
      if (!(err instanceof WaitTimeoutError)) throw err;
    }
    await sim.sleep(50);
  }
  throw new Error(`no answer for ${requests.map((r) => CmdType[r.cmdType]).join(',')}`);
}

const put = (key: string, value: string) =>
  raft_cmdpb.Request({ cmdType: CmdType.Put, put: raft_cmdpb.PutRequest({ cf: 'default', key: bytes(key), value: bytes(value) }) });
const get = (key: string) => raft_cmdpb.Request({ cmdType: CmdType.Get, get: raft_cmdpb.GetRequest({ cf: 'default', key: bytes(key) }) });
const del = (key: string) => raft_cmdpb.Request({ cmdType: CmdType.Delete, delete: raft_cmdpb.DeleteRequest({ cf: 'default', key: bytes(key) }) });
const snap = () => raft_cmdpb.Request({ cmdType: CmdType.Snap, snap: raft_cmdpb.SnapRequest() });

async function getValue(sim: Sim, ids: number[], key: string): Promise<string> {
  const result = await request(sim, ids, [get(key)]);
  return text(result.response.responses[0]!.get!.value);
}

/** Every (key, value) of the default family, through a Snap's reader. */
async function scanAll(sim: Sim, ids: number[]): Promise<Array<[string, string]>> {
  const result = await request(sim, ids, [snap()]);
  const reader = result.reader!;
  const out: Array<[string, string]> = [];
  const it = reader.iterCF('default');
  for (await it.seek(new Uint8Array(0)); it.valid(); await it.next()) out.push([text(it.item().key), text(it.item().value)]);
  await it.close();
  await reader.close();
  return out;
}

describe('raftstore smoke (3 stores on the simulation)', () => {
  test('puts, gets, deletes and scans through the leader; survives a follower restart and a leader crash', () =>
    runSimTest(
      async (sim) => {
        const ids = [1, 2, 3];
        await makeCluster(sim, ids, testConfig());
        expect(await sim.waitUntil('a leader', () => leaderOf(sim, ids) !== undefined, { timeoutMs: 5000 })).toBe(true);

        for (let i = 0; i < 5; i++) await request(sim, ids, [put(`k${i}`, `v${i}`)]);
        expect(await getValue(sim, ids, 'k3')).toBe('v3');
        await request(sim, ids, [del('k2')]);
        expect(await getValue(sim, ids, 'k2')).toBe('');
        expect(await scanAll(sim, ids)).toEqual([
          ['k0', 'v0'],
          ['k1', 'v1'],
          ['k3', 'v3'],
          ['k4', 'v4'],
        ]);

        // A follower crashes and comes back: it keeps its data and its region from disk.
        const follower = ids.find((id) => id !== leaderOf(sim, ids))!;
        await sim.crash(follower);
        await request(sim, ids, [put('k5', 'v5')]);
        await sim.startNode(follower);
        const restarted = sim.instance<StoreInstance>(follower).store;
        expect(restarted.regionIds()).toEqual([1]);
        await sim.waitUntil('the follower catches up', () => (restarted.applyStateOf(1)?.appliedIndex ?? 0) >= leaderApplied(sim, ids), {
          timeoutMs: 5000,
        });
        const followerKv = sim.instance<StoreInstance>(follower).engines.kv;
        expect(text((await followerKv.getCF('default', bytes('k5'))) ?? new Uint8Array(0))).toBe('v5');
        expect(await followerKv.getCF('default', bytes('k2'))).toBeUndefined();

        // The leader crashes: another store takes over and has everything.
        const oldLeader = leaderOf(sim, ids)!;
        await sim.crash(oldLeader);
        await request(sim, ids, [put('k6', 'v6')]);
        expect(leaderOf(sim, ids)).not.toBe(oldLeader);
        expect(await getValue(sim, ids, 'k5')).toBe('v5');
        await sim.startNode(oldLeader);
        expect((await scanAll(sim, ids)).map(([k]) => k)).toEqual(['k0', 'k1', 'k3', 'k4', 'k5', 'k6']);
      },
      { maxVirtualMs: 60_000 },
    ));
});

function leaderApplied(sim: Sim, ids: number[]): number {
  const leader = leaderOf(sim, ids);
  return leader === undefined ? Number.MAX_SAFE_INTEGER : sim.instance<StoreInstance>(leader).store.applyStateOf(1)!.appliedIndex;
}

