/**
 * Helpers for the raftstore's own simulated tests (the smoke tests of 2B and 2C): a few stores bootstrapped
 * with region 1 on a SimNetwork that round-trips every message through the wire codec, and a tiny client
 * that finds region 1's leader and retries like TinyKV's test client. The full test cluster lives in
 * harness/cluster; these exist so the raftstore can be checked on its own.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decode, encode, eraftpb, raft_cmdpb, raft_serverpb } from '#proto';
import { SimNetwork, WaitTimeoutError, type Sim } from '../../sim/index.ts';
import { Raftstore, type CommandResult } from '@impl/kv/raftstore/raftstore.ts';
import type { RaftstoreConfig } from '@impl/kv/raftstore/config.ts';
import { closeEngines, openEngines, type Engines } from '@impl/kv/raftstore/engines.ts';
import { bootstrapStore, firstRegion, prepareBootstrapRegion } from '@impl/kv/raftstore/bootstrap.ts';
import { NoopSchedulerClient } from '@impl/kv/raftstore/scheduler-client.ts';
import type { ColumnFamily } from '@impl/kv/storage/storage.ts';

export type RaftMessage = raft_serverpb.RaftMessage;
const { CmdType } = raft_cmdpb;
const enc = new TextEncoder();
const dec = new TextDecoder();
export const bytes = (s: string): Uint8Array => enc.encode(s);
export const text = (b: Uint8Array | undefined): string => (b === undefined ? '' : dec.decode(b));

export interface StoreInstance {
  store: Raftstore;
  engines: Engines;
}

export async function makeTempDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'raftstore-test-'));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** A small cluster of stores holding region 1, on the simulation. */
export class SmokeCluster {
  readonly net: SimNetwork<RaftMessage>;

  private constructor(
    readonly sim: Sim,
    readonly ids: number[],
    net: SimNetwork<RaftMessage>,
  ) {
    this.net = net;
  }

  static async start(sim: Sim, dir: string, ids: number[], config: RaftstoreConfig): Promise<SmokeCluster> {
    const region = firstRegion(ids);
    for (const id of ids) {
      const engines = await openEngines(path.join(dir, `s${id}`));
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
          const engines = await openEngines(path.join(dir, `s${id}`));
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
    return new SmokeCluster(sim, ids, net);
  }

  instance(id: number): StoreInstance {
    return this.sim.instance<StoreInstance>(id);
  }

  /** The store whose peer of region 1 leads at the highest term (a cut-off old leader may still think it leads). */
  leader(): number | undefined {
    let best: number | undefined;
    let bestTerm = -1;
    for (const id of this.ids) {
      if (!this.sim.isUp(id)) continue;
      const store = this.instance(id).store;
      const term = store.raftStatusOf(1)?.term ?? -1;
      if (store.isLeader(1) && term > bestTerm) {
        best = id;
        bestTerm = term;
      }
    }
    return best;
  }

  async waitForLeader(timeoutMs = 5000): Promise<number> {
    await this.sim.waitUntil('a leader of region 1', () => this.leader() !== undefined, { timeoutMs });
    const leader = this.leader();
    if (leader === undefined) throw new Error(`no leader after ${timeoutMs} ms`);
    return leader;
  }

  /** Sends `requests` to region 1's leader, retrying on region errors and timeouts. */
  async request(requests: raft_cmdpb.Request[]): Promise<CommandResult> {
    const sim = this.sim;
    for (let attempt = 0; attempt < 300; attempt++) {
      const leader = this.leader();
      if (leader === undefined) {
        await sim.sleep(50);
        continue;
      }
      const store = this.instance(leader).store;
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

  async get(key: string, cf: ColumnFamily = 'default'): Promise<string> {
    const result = await this.request([getReq(key, cf)]);
    return text(result.response.responses[0]!.get!.value);
  }

  /** Every (key, value) of family `cf`, through a Snap's reader. */
  async scan(cf: ColumnFamily = 'default'): Promise<Array<[string, string]>> {
    const result = await this.request([snapReq()]);
    const reader = result.reader!;
    const out: Array<[string, string]> = [];
    const it = reader.iterCF(cf);
    for (await it.seek(new Uint8Array(0)); it.valid(); await it.next()) out.push([text(it.item().key), text(it.item().value)]);
    await it.close();
    await reader.close();
    return out;
  }

  /** What store `id`'s kv engine holds for `key` ('' when nothing). */
  async engineValue(id: number, key: string, cf: ColumnFamily = 'default'): Promise<string | undefined> {
    const value = await this.instance(id).engines.kv.getCF(cf, bytes(key));
    return value === undefined ? undefined : text(value);
  }
}

export const putReq = (key: string, value: string, cf: ColumnFamily = 'default') =>
  raft_cmdpb.Request({ cmdType: CmdType.Put, put: raft_cmdpb.PutRequest({ cf, key: bytes(key), value: bytes(value) }) });
export const getReq = (key: string, cf: ColumnFamily = 'default') =>
  raft_cmdpb.Request({ cmdType: CmdType.Get, get: raft_cmdpb.GetRequest({ cf, key: bytes(key) }) });
export const deleteReq = (key: string, cf: ColumnFamily = 'default') =>
  raft_cmdpb.Request({ cmdType: CmdType.Delete, delete: raft_cmdpb.DeleteRequest({ cf, key: bytes(key) }) });
export const snapReq = () => raft_cmdpb.Request({ cmdType: CmdType.Snap, snap: raft_cmdpb.SnapRequest() });
