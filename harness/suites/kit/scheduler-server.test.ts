// The Scheduler gRPC service over a real runtime and a data directory, called through a grpc-js client made
// from the wire definitions: bootstrap, ids, stores, heartbeats and the regions they report, operators sent
// back on the heartbeat stream, timestamps, the GC safe point; what survives a restart; and refused requests.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, test } from 'vitest';
import { eraftpb, metapb, schedulerpb } from '#proto';
import { callUnary, clientConstructor, clientOptions, type RequestOf, type ResponseOf, type ServiceClient, type UnaryMethodName } from '#proto/grpc.ts';
import { RealRuntime } from '@impl/runtime/real-runtime.ts';
import { GrpcService } from '@impl/rpc/grpc-service.ts';
import { SchedulerService } from '@impl/scheduler/server/scheduler-service.ts';

type Client = ServiceClient<'schedulerpb.Scheduler'>;
type Unary = UnaryMethodName<'schedulerpb.Scheduler'>;

/** One unary call on the scheduler. */
function rpc<M extends Unary>(client: Client, method: M, req: RequestOf<'schedulerpb.Scheduler', M>): Promise<ResponseOf<'schedulerpb.Scheduler', M>> {
  return callUnary<'schedulerpb.Scheduler', M>(client, method, req);
}

interface Running {
  service: SchedulerService;
  server: GrpcService;
  runtime: RealRuntime;
  client: Client;
  header: schedulerpb.RequestHeader;
}

const dirs: string[] = [];
const running: Running[] = [];

afterEach(async () => {
  for (const r of running.splice(0)) await stop(r);
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyscheduler-'));
  dirs.push(dir);
  return dir;
}

async function start(dataDir: string, scheduleIntervalMs = 50): Promise<Running> {
  const runtime = new RealRuntime({ name: 'scheduler', seed: 1 });
  const service = await SchedulerService.open({ runtime, dataDir, scheduleIntervalMs, scheduler: { maxStoreDownTimeMs: 60_000 } });
  const server = await GrpcService.serve('schedulerpb.Scheduler', service, {
    addr: '127.0.0.1:0',
    extraHandlers: { Tso: service.tsoStream, RegionHeartbeat: service.regionHeartbeatStream },
  });
  const Ctor = clientConstructor('schedulerpb.Scheduler');
  const client = new Ctor(server.address, grpc.credentials.createInsecure(), clientOptions());
  const r = { service, server, runtime, client, header: schedulerpb.RequestHeader({ clusterId: service.clusterId }) };
  running.push(r);
  return r;
}

async function stop(r: Running): Promise<void> {
  const i = running.indexOf(r);
  if (i >= 0) running.splice(i, 1);
  r.client.close();
  const stopping = r.server.stop();
  await r.service.close();
  await r.runtime.shutdown();
  await stopping;
}

function region(id: number, start: string, end: string, version: number, confVer: number, peers: [number, number][]): metapb.Region {
  return metapb.Region({
    id,
    startKey: new TextEncoder().encode(start),
    endKey: new TextEncoder().encode(end),
    regionEpoch: metapb.RegionEpoch({ version, confVer }),
    peers: peers.map(([peerId, storeId]) => metapb.Peer({ id: peerId, storeId })),
  });
}

async function bootstrapWithStores(r: Running, ids: number[]): Promise<void> {
  const first = metapb.Store({ id: ids[0]!, address: `127.0.0.1:${20160 + ids[0]!}` });
  expect((await rpc(r.client, 'Bootstrap', schedulerpb.BootstrapRequest({ header: r.header, store: first }))).header?.error).toBeUndefined();
  for (const id of ids) {
    const store = metapb.Store({ id, address: `127.0.0.1:${20160 + id}` });
    expect((await rpc(r.client, 'PutStore', schedulerpb.PutStoreRequest({ header: r.header, store }))).header?.error).toBeUndefined();
    await rpc(r.client, 'StoreHeartbeat', schedulerpb.StoreHeartbeatRequest({ header: r.header, stats: schedulerpb.StoreStats({ storeId: id }) }));
  }
}

/** Opens a RegionHeartbeat stream; answers are collected. */
function heartbeatStream(r: Running) {
  const stream = r.client.RegionHeartbeat();
  const answers: schedulerpb.RegionHeartbeatResponse[] = [];
  stream.on('data', (resp: schedulerpb.RegionHeartbeatResponse) => answers.push(resp));
  stream.on('error', () => undefined);
  const send = (reg: metapb.Region, leaderPeer: number) =>
    stream.write(schedulerpb.RegionHeartbeatRequest({ header: r.header, region: reg, leader: reg.peers.find((p) => p.id === leaderPeer), approximateSize: 1 << 20 }));
  return { stream, answers, send };
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function timestamps(r: Running, counts: number[]): Promise<bigint[]> {
  const stream = r.client.Tso();
  const got: bigint[] = [];
  stream.on('data', (resp: schedulerpb.TsoResponse) => got.push((BigInt(resp.timestamp!.physical) << 18n) | BigInt(resp.timestamp!.logical)));
  for (const count of counts) stream.write(schedulerpb.TsoRequest({ header: r.header, count }));
  await until('timestamps', () => got.length === counts.length);
  stream.end();
  return got;
}

describe('kit: tinyscheduler-server service', () => {
  test('before bootstrap: members and ids answer, cluster questions say NOT_BOOTSTRAPPED', async () => {
    const r = await start(tempDir());
    const members = await rpc(r.client, 'GetMembers', schedulerpb.GetMembersRequest({}));
    expect(members.header?.clusterId).toBe(r.service.clusterId);
    expect((await rpc(r.client, 'IsBootstrapped', schedulerpb.IsBootstrappedRequest({ header: r.header }))).bootstrapped).toBe(false);
    const stores = await rpc(r.client, 'GetAllStores', schedulerpb.GetAllStoresRequest({ header: r.header }));
    expect(stores.header?.error?.type).toBe(schedulerpb.ErrorType.NOT_BOOTSTRAPPED);
    const a = await rpc(r.client, 'AllocID', schedulerpb.AllocIDRequest({ header: r.header }));
    const b = await rpc(r.client, 'AllocID', schedulerpb.AllocIDRequest({ header: r.header }));
    expect(b.id).toBe(a.id + 1);
    // Another cluster's request is refused outright.
    await expect(rpc(r.client, 'AllocID', schedulerpb.AllocIDRequest({ header: schedulerpb.RequestHeader({ clusterId: r.service.clusterId + 1 }) }))).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
      details: expect.stringMatching(/cluster id mismatch/),
    });
  });

  test('stores, region heartbeats, queries, split ids, an operator on the heartbeat stream', async () => {
    const r = await start(tempDir());
    await bootstrapWithStores(r, [1, 2, 3, 4]);
    const again = await rpc(r.client, 'Bootstrap', schedulerpb.BootstrapRequest({ header: r.header, store: metapb.Store({ id: 9, address: 'x:1' }) }));
    expect(again.header?.error?.type).toBe(schedulerpb.ErrorType.ALREADY_BOOTSTRAPPED);
    const clash = await rpc(r.client, 'PutStore', schedulerpb.PutStoreRequest({ header: r.header, store: metapb.Store({ id: 7, address: '127.0.0.1:20161' }) }));
    expect(clash.header?.error?.message).toMatch(/already used by store 1/);
    const unknown = await rpc(r.client, 'StoreHeartbeat', schedulerpb.StoreHeartbeatRequest({ header: r.header, stats: schedulerpb.StoreStats({ storeId: 8 }) }));
    expect(unknown.header?.error?.message).toMatch(/store 8 is not registered/);

    const hb = heartbeatStream(r);
    hb.send(region(10, '', 'm', 1, 1, [[11, 1]]), 11);
    hb.send(region(20, 'm', '', 1, 1, [[21, 2], [22, 3], [23, 4]]), 21);
    await until('both regions', async () => (await rpc(r.client, 'ScanRegions', schedulerpb.ScanRegionsRequest({ header: r.header, limit: 0 }))).regions.length === 2);
    const got = await rpc(r.client, 'GetRegion', schedulerpb.GetRegionRequest({ header: r.header, regionKey: new TextEncoder().encode('x') }));
    expect(got.region?.id).toBe(20);
    expect(got.leader?.id).toBe(21);
    expect(got.slaves.map((p) => p.id).sort()).toEqual([22, 23]);
    expect((await rpc(r.client, 'GetPrevRegion', schedulerpb.GetRegionRequest({ header: r.header, regionKey: new TextEncoder().encode('x') }))).region?.id).toBe(10);
    expect((await rpc(r.client, 'GetRegionByID', schedulerpb.GetRegionByIDRequest({ header: r.header, regionId: 10 }))).region?.peers).toHaveLength(1);

    const split = await rpc(r.client, 'AskSplit', schedulerpb.AskSplitRequest({ header: r.header, region: region(20, 'm', '', 1, 1, [[21, 2], [22, 3], [23, 4]]) }));
    expect(split.newPeerIds).toHaveLength(3);
    const missing = await rpc(r.client, 'AskSplit', schedulerpb.AskSplitRequest({ header: r.header, region: region(99, 'a', 'b', 1, 1, [[1, 1]]) }));
    expect(missing.header?.error?.type).toBe(schedulerpb.ErrorType.REGION_NOT_FOUND);

    // Region 10 has one member of 3: the replica checker adds one, sent back to its leader on the stream.
    await until('an AddNode step for region 10', () => hb.answers.some((a) => a.regionId === 10 && a.changePeer?.changeType === eraftpb.ConfChangeType.AddNode));
    const step = hb.answers.find((a) => a.regionId === 10)!;
    expect(step.targetPeer).toMatchObject({ id: 11, storeId: 1 });
    expect(step.header?.clusterId).toBe(r.service.clusterId);
    const op = await rpc(r.client, 'GetOperator', schedulerpb.GetOperatorRequest({ header: r.header, regionId: 10 }));
    expect(op.status).toBe(schedulerpb.OperatorStatus.RUNNING);
    expect(new TextDecoder().decode(op.desc)).toBe('make-up-replica');
    // A heartbeat with no members is answered with an error on the stream; the stream goes on.
    hb.stream.write(schedulerpb.RegionHeartbeatRequest({ header: r.header, region: metapb.Region({ id: 30 }), leader: metapb.Peer({ id: 31, storeId: 1 }) }));
    await until('the refusal', () => hb.answers.some((a) => a.regionId === 30 && a.header?.error !== undefined));
    hb.stream.end();
  });

  test('a restart keeps the cluster; ids and timestamps never go back', async () => {
    const dir = tempDir();
    const first = await start(dir);
    const clusterId = first.service.clusterId;
    await bootstrapWithStores(first, [1, 2, 3]);
    const hb = heartbeatStream(first);
    hb.send(region(10, '', '', 3, 2, [[11, 1], [12, 2], [13, 3]]), 11);
    await until('region 10', async () => (await rpc(first.client, 'GetRegionByID', schedulerpb.GetRegionByIDRequest({ header: first.header, regionId: 10 }))).region !== undefined);
    hb.stream.end();
    const lastId = (await rpc(first.client, 'AllocID', schedulerpb.AllocIDRequest({ header: first.header }))).id;
    const lastTs = (await timestamps(first, [1, 100])).at(-1)!;
    await rpc(first.client, 'UpdateGCSafePoint', schedulerpb.UpdateGCSafePointRequest({ header: first.header, safePoint: 77n }));
    await stop(first);

    const second = await start(dir);
    expect(second.service.clusterId).toBe(clusterId);
    expect((await rpc(second.client, 'IsBootstrapped', schedulerpb.IsBootstrappedRequest({ header: second.header }))).bootstrapped).toBe(true);
    const stores = await rpc(second.client, 'GetAllStores', schedulerpb.GetAllStoresRequest({ header: second.header }));
    expect(stores.stores.map((s) => s.id)).toEqual([1, 2, 3]);
    const kept = await rpc(second.client, 'GetRegionByID', schedulerpb.GetRegionByIDRequest({ header: second.header, regionId: 10 }));
    expect(kept.region?.regionEpoch).toMatchObject({ version: 3, confVer: 2 });
    expect(kept.leader).toBeUndefined(); // until its leader reports again
    expect((await rpc(second.client, 'AllocID', schedulerpb.AllocIDRequest({ header: second.header }))).id).toBeGreaterThan(lastId);
    expect((await timestamps(second, [1]))[0]! > lastTs).toBe(true);
    const gc = await rpc(second.client, 'UpdateGCSafePoint', schedulerpb.UpdateGCSafePointRequest({ header: second.header, safePoint: 5n }));
    expect(gc.newSafePoint).toBe(77n); // never moves back
  });

  test('timestamps grow within a stream and across streams; a zero count is refused', async () => {
    const r = await start(tempDir());
    const ts = [...(await timestamps(r, [1, 5, 1000, 1])), ...(await timestamps(r, [3]))];
    for (let i = 1; i < ts.length; i++) expect(ts[i]! > ts[i - 1]!).toBe(true);
    const stream = r.client.Tso();
    const failed = new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
    stream.on('data', () => undefined);
    stream.write(schedulerpb.TsoRequest({ header: r.header, count: 0 }));
    expect(await failed).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/count must be at least 1/) });
  });

  test('a data directory that is not a scheduler\'s is refused with a clear error', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'CURRENT'), 'garbage\n');
    const runtime = new RealRuntime({ name: 'scheduler', seed: 1 });
    await expect(SchedulerService.open({ runtime, dataDir: dir })).rejects.toThrow(/cannot open the scheduler's data in/);
    await runtime.shutdown();
  });
});
