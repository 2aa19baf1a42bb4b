// Wire compatibility of the real cluster: a client built at run time from the .proto files alone (protobufjs
// reflection and grpc-js, none of the kit's generated code or codec), as a program generated from TinyKV's own
// .proto files would be (proto/check-compat.ts shows ours equal TinyKV's), calls the scheduler (GetMembers,
// AllocID, Tso, GetRegion) and a store of a one-store cluster (raw and transactional APIs), unchanged. And raft
// messages nobody can use (an unknown region, an unknown sender, another store) leave the store serving.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { eraftpb, metapb, raft_serverpb } from '#proto';
import { clientConstructor, clientOptions } from '#proto/grpc.ts';
import { loadProtoDir } from '../../../proto/codegen/schema.ts';
import { ClusterClient } from '@impl/kv/client/cluster-client.ts';
import { Server } from '@impl/kv/server/server.ts';
import { TinyKvGrpcServer } from '@impl/kv/server/grpc-server.ts';
import { StoreNode } from '@impl/kv/server/store-node.ts';
import { RaftStorage } from '@impl/kv/storage/raft-storage.ts';
import { testConfig } from '@impl/kv/raftstore/config.ts';
import { RealRuntime } from '@impl/runtime/real-runtime.ts';
import { GrpcService } from '@impl/rpc/grpc-service.ts';
import { SchedulerRpcClient } from '@impl/scheduler/client/scheduler-rpc-client.ts';
import { SchedulerService } from '@impl/scheduler/server/scheduler-service.ts';

type Plain = Record<string, unknown>;
type ForeignClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

const root = loadProtoDir(path.resolve('proto'));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinykv-wire-'));
const schedRuntime = new RealRuntime({ name: 'scheduler', seed: 1 });
const storeRuntime = new RealRuntime({ name: 'store', seed: 2 });
let service: SchedulerService;
let schedServer: GrpcService;
let storeServer: TinyKvGrpcServer;
let node: StoreNode | undefined;
let storeScheduler: SchedulerRpcClient;
const clients: grpc.Client[] = [];

/** A grpc-js client of `serviceName` whose messages are encoded by protobufjs from the .proto files. */
function foreignClient(serviceName: string, address: string): ForeignClient {
  const svc = root.lookupService(serviceName);
  const definition: Record<string, grpc.MethodDefinition<Plain, Plain>> = {};
  for (const method of svc.methodsArray) {
    const req = root.lookupType(method.resolvedRequestType!.fullName);
    const res = root.lookupType(method.resolvedResponseType!.fullName);
    definition[method.name] = {
      path: `/${serviceName}/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: (obj: Plain) => Buffer.from(req.encode(req.fromObject(obj)).finish()),
      requestDeserialize: (buf: Buffer) => req.toObject(req.decode(buf)),
      responseSerialize: (obj: Plain) => Buffer.from(res.encode(res.fromObject(obj)).finish()),
      responseDeserialize: (buf: Buffer) => res.toObject(res.decode(buf), { longs: String, bytes: Buffer, defaults: true }),
    };
  }
  const Ctor = grpc.makeGenericClientConstructor(definition as grpc.ServiceDefinition, serviceName);
  const client = new Ctor(address, grpc.credentials.createInsecure()) as unknown as ForeignClient;
  clients.push(client);
  return client;
}

function unary(client: ForeignClient, method: string, req: Plain): Promise<Plain> {
  return new Promise((resolve, reject) => {
    client[method]!(req, (err: grpc.ServiceError | null, resp: Plain) => (err ? reject(err) : resolve(resp)));
  });
}

beforeAll(async () => {
  service = await SchedulerService.open({ runtime: schedRuntime, dataDir: path.join(dir, 'scheduler'), scheduleIntervalMs: 50 });
  schedServer = await GrpcService.serve('schedulerpb.Scheduler', service, {
    addr: '127.0.0.1:0',
    extraHandlers: { Tso: service.tsoStream, RegionHeartbeat: service.regionHeartbeatStream },
  });
  storeScheduler = new SchedulerRpcClient(schedServer.address, { runtime: storeRuntime });
  await storeScheduler.connect(5_000);
  const storage = new RaftStorage({ sendCommand: (req) => node!.raftstore.sendCommand(req) });
  storeServer = await TinyKvGrpcServer.start(new Server(storage), {
    addr: '127.0.0.1:0',
    extraHandlers: {
      Raft: (call, cb) => node!.transport.raftHandler(call, cb),
      Snapshot: (call, cb) => node!.transport.snapshotHandler(call, cb),
    },
  });
  node = await StoreNode.start({ dataDir: path.join(dir, 'store'), advertiseAddress: storeServer.address, scheduler: storeScheduler, runtime: storeRuntime, config: testConfig() });
});

afterAll(async () => {
  for (const c of clients) c.close();
  const stopping = [storeServer?.stop(), schedServer?.stop()];
  await node?.stop();
  storeScheduler?.close();
  await service?.close();
  await storeRuntime.shutdown();
  await schedRuntime.shutdown();
  await Promise.all(stopping);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a client built from the .proto files alone calls the scheduler and a store of the cluster', { timeout: 60_000 }, async () => {
  const sched = foreignClient('schedulerpb.Scheduler', schedServer.address);
  const members = await unary(sched, 'GetMembers', {});
  const clusterId = (members.header as Plain).cluster_id as string;
  expect(clusterId).toBe(String(service.clusterId));
  const header = { cluster_id: clusterId };
  const a = Number((await unary(sched, 'AllocID', { header })).id);
  const b = Number((await unary(sched, 'AllocID', { header })).id);
  expect(b).toBe(a + 1);

  const tso = (sched.Tso as () => grpc.ClientDuplexStream<Plain, Plain>)();
  const stamps: Plain[] = [];
  tso.on('data', (r: Plain) => stamps.push(r));
  tso.write({ header, count: 1 });
  tso.write({ header, count: 4 });
  await waitFor(() => stamps.length === 2);
  tso.end();
  const ts = stamps.map((s) => (BigInt((s.timestamp as Plain).physical as string) << 18n) | BigInt((s.timestamp as Plain).logical as string));
  expect(ts[1]! > ts[0]!).toBe(true);

  // The store's region, once its leader has reported it.
  let region: Plain = {};
  let leader: Plain = {};
  await waitFor(async () => {
    const resp = await unary(sched, 'GetRegion', { header, region_key: Buffer.from('k') });
    region = (resp.region as Plain) ?? {};
    leader = (resp.leader as Plain) ?? {};
    return Number(leader.id ?? 0) > 0;
  });
  const context = { region_id: region.id, region_epoch: region.region_epoch, peer: leader };

  const kv = foreignClient('tinykvpb.TinyKv', storeServer.address);
  const put = await unary(kv, 'RawPut', { context, key: Buffer.from('k'), value: Buffer.from('v'), cf: 'default' });
  expect(put.region_error).toBeNull(); // an absent message field reads as null here
  const got = await unary(kv, 'RawGet', { context, key: Buffer.from('k'), cf: 'default' });
  expect(Buffer.from(got.value as Buffer).toString()).toBe('v');
  // A stale context is answered with a region error, as TinyKV does.
  const wrongRegion = await unary(kv, 'RawGet', { context: { ...context, region_id: 9999 }, key: Buffer.from('k'), cf: 'default' });
  expect(wrongRegion.region_error).toMatchObject({ region_not_found: { region_id: '9999' } });

  // A transaction: prewrite, commit, read.
  const [start, commit] = [ts[1]! + 1n, ts[1]! + 2n];
  const prewrite = await unary(kv, 'KvPrewrite', {
    context,
    mutations: [{ op: 0, key: Buffer.from('t'), value: Buffer.from('tv') }],
    primary_lock: Buffer.from('t'),
    start_version: start.toString(),
    lock_ttl: '3000',
  });
  expect(prewrite.errors).toEqual([]);
  const committed = await unary(kv, 'KvCommit', { context, start_version: start.toString(), keys: [Buffer.from('t')], commit_version: commit.toString() });
  expect(committed.error).toBeNull();
  const read = await unary(kv, 'KvGet', { context, key: Buffer.from('t'), version: (commit + 1n).toString() });
  expect(Buffer.from(read.value as Buffer).toString()).toBe('tv');
});

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}


test('raft messages for a region nobody has, or from a store nobody knows, are dropped; the store goes on', { timeout: 30_000 }, async () => {
  const Ctor = clientConstructor('tinykvpb.TinyKv');
  const client = new Ctor(storeServer.address, grpc.credentials.createInsecure(), clientOptions());
  clients.push(client);
  const done = new Promise<void>((resolve, reject) => {
    const stream = client.Raft((err) => (err ? reject(err) : resolve()));
    for (const msgType of [eraftpb.MessageType.MsgHeartbeat, eraftpb.MessageType.MsgAppend, eraftpb.MessageType.MsgRequestVote]) {
      stream.write(
        raft_serverpb.RaftMessage({
          regionId: 999,
          fromPeer: metapb.Peer({ id: 1000, storeId: 77 }),
          toPeer: metapb.Peer({ id: 1001, storeId: node!.storeId }),
          regionEpoch: metapb.RegionEpoch({ version: 1, confVer: 1 }),
          startKey: new Uint8Array(0),
          endKey: new Uint8Array(0),
          message: eraftpb.Message({ msgType, term: 5, from: 1000, to: 1001 }),
        }),
      );
    }
    // One for another store: the transport drops it before the raftstore sees it.
    stream.write(raft_serverpb.RaftMessage({ regionId: 999, toPeer: metapb.Peer({ id: 1, storeId: node!.storeId + 100 }), message: eraftpb.Message({ msgType: eraftpb.MessageType.MsgHeartbeat }) }));
    stream.end();
  });
  await done;
  await new Promise((resolve) => setTimeout(resolve, 300));
  // The store still serves its own region.
  const sched = new SchedulerRpcClient(schedServer.address, { runtime: storeRuntime });
  await sched.connect(5_000);
  const kv = new ClusterClient(sched, { runtime: storeRuntime });
  try {
    await kv.rawPut(Buffer.from('after'), Buffer.from('bogus messages'));
    expect(Buffer.from((await kv.rawGet(Buffer.from('after')))!).toString()).toBe('bogus messages');
  } finally {
    kv.close();
    sched.close();
  }
});
