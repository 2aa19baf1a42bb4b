// The gRPC glue over a real loopback connection: unary, client-streaming and bidirectional calls go through
// our codec; methods a server leaves out answer UNIMPLEMENTED; messages above grpc's 4 MiB default pass
// with MAX_MESSAGE_BYTES; undecodable request bytes get an error status and the server keeps serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { eraftpb, kvrpcpb, metapb, raft_serverpb, schedulerpb } from '#proto';
import {
  callUnary,
  clientConstructor,
  clientOptions,
  MAX_MESSAGE_BYTES,
  serverOptions,
  serviceDefinition,
  withUnimplemented,
  type ServiceClient,
} from '#proto/grpc.ts';

let server: grpc.Server;
let address = '';
let kv: ServiceClient<'tinykvpb.TinyKv'>;
let sched: ServiceClient<'schedulerpb.Scheduler'>;
const stored = new Map<string, Uint8Array>();
const raftReceived: raft_serverpb.RaftMessage[] = [];
let snapshotBytes = 0;

beforeAll(async () => {
  server = new grpc.Server(serverOptions());
  server.addService(serviceDefinition('tinykvpb.TinyKv'), withUnimplemented('tinykvpb.TinyKv', {
    RawPut(call, callback) {
      stored.set(Buffer.from(call.request.key).toString('hex'), call.request.value);
      callback(null, kvrpcpb.RawPutResponse());
    },
    Raft(call, callback) {
      call.on('data', (msg: raft_serverpb.RaftMessage) => raftReceived.push(msg));
      call.on('end', () => callback(null, raft_serverpb.Done()));
    },
    Snapshot(call, callback) {
      call.on('data', (chunk: raft_serverpb.SnapshotChunk) => { snapshotBytes += chunk.data.length; });
      call.on('end', () => callback(null, raft_serverpb.Done()));
    },
  }));
  server.addService(serviceDefinition('schedulerpb.Scheduler'), withUnimplemented('schedulerpb.Scheduler', {
    Tso(call) {
      let next = 1n << 18n;
      call.on('data', (req: schedulerpb.TsoRequest) => {
        const physical = Number(next >> 18n);
        next += BigInt(req.count);
        call.write(schedulerpb.TsoResponse({
          count: req.count,
          timestamp: schedulerpb.Timestamp({ physical, logical: Number(next & 0x3ffffn) }),
        }));
      });
      call.on('end', () => call.end());
    },
  }));
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  address = `127.0.0.1:${port}`;
  const KvClient = clientConstructor('tinykvpb.TinyKv');
  const SchedClient = clientConstructor('schedulerpb.Scheduler');
  kv = new KvClient(address, grpc.credentials.createInsecure(), clientOptions());
  sched = new SchedClient(address, grpc.credentials.createInsecure(), clientOptions());
});

afterAll(async () => {
  kv?.close();
  sched?.close();
  await new Promise<void>((resolve) => (server ? server.tryShutdown(() => resolve()) : resolve()));
});

describe('gRPC over loopback', () => {
  it('a unary call goes through the codec both ways', async () => {
    const key = new Uint8Array([1, 2, 3]);
    const res = await callUnary(kv, 'RawPut', kvrpcpb.RawPutRequest({
      context: kvrpcpb.Context({ regionId: 1, regionEpoch: metapb.RegionEpoch({ confVer: 1, version: 1 }) }),
      key, value: new Uint8Array([9, 9]), cf: 'default',
    }));
    expect(res).toStrictEqual(kvrpcpb.RawPutResponse());
    expect(Array.from(stored.get('010203') ?? [])).toEqual([9, 9]);
  });

  it('a method the server left out answers UNIMPLEMENTED', async () => {
    const err = await callUnary(kv, 'RawGet', kvrpcpb.RawGetRequest({ key: new Uint8Array([1]) })).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(err?.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(err?.details).toContain('RawGet');
  });

  it('a client stream of raft messages arrives whole and in order', async () => {
    raftReceived.length = 0;
    const sent = [1, 2, 3].map((i) => raft_serverpb.RaftMessage({
      regionId: 7,
      fromPeer: metapb.Peer({ id: 1, storeId: 1 }),
      toPeer: metapb.Peer({ id: 2, storeId: 2 }),
      message: eraftpb.Message({
        msgType: eraftpb.MessageType.MsgAppend, term: 5, index: i,
        entries: [eraftpb.Entry({ term: 5, index: i + 1, data: new Uint8Array([i]) })],
      }),
    }));
    await new Promise<void>((resolve, reject) => {
      const stream = kv.Raft((err, done) => (err ? reject(err) : (expect(done).toStrictEqual(raft_serverpb.Done()), resolve())));
      for (const m of sent) stream.write(m);
      stream.end();
    });
    expect(raftReceived).toStrictEqual(sent);
  });

  it('a 10 MiB snapshot chunk passes with MAX_MESSAGE_BYTES (grpc default is 4 MiB)', async () => {
    expect(MAX_MESSAGE_BYTES).toBe(64 * 1024 * 1024);
    snapshotBytes = 0;
    const data = new Uint8Array(10 * 1024 * 1024).fill(7);
    await new Promise<void>((resolve, reject) => {
      const stream = kv.Snapshot((err) => (err ? reject(err) : resolve()));
      stream.write(raft_serverpb.SnapshotChunk({ message: raft_serverpb.RaftMessage({ regionId: 1 }) }));
      stream.write(raft_serverpb.SnapshotChunk({ data }));
      stream.end();
    });
    expect(snapshotBytes).toBe(data.length);
  });

  it('a bidirectional stream (Tso) answers each request', async () => {
    const answers: schedulerpb.TsoResponse[] = [];
    await new Promise<void>((resolve, reject) => {
      const stream = sched.Tso();
      stream.on('data', (res: schedulerpb.TsoResponse) => answers.push(res));
      stream.on('error', reject);
      stream.on('end', () => resolve());
      stream.write(schedulerpb.TsoRequest({ count: 1 }));
      stream.write(schedulerpb.TsoRequest({ count: 10 }));
      stream.end();
    });
    expect(answers.map((a) => a.count)).toEqual([1, 10]);
    expect(answers.every((a) => a.timestamp !== undefined)).toBe(true);
  });

  it('undecodable request bytes get an error status, and the server keeps serving', async () => {
    // A raw client that sends bytes as they are, bypassing our serializer.
    const RawClient = grpc.makeGenericClientConstructor({
      RawPut: {
        path: '/tinykvpb.TinyKv/RawPut', requestStream: false, responseStream: false,
        requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b,
      },
    }, 'raw');
    const raw = new RawClient(address, grpc.credentials.createInsecure());
    const err = await new Promise<grpc.ServiceError | null>((resolve) => {
      (raw as unknown as { RawPut: (b: Buffer, cb: (e: grpc.ServiceError | null) => void) => void })
        .RawPut(Buffer.from([0x12, 0x7f, 0x01]), (e) => resolve(e));
    });
    raw.close();
    expect(err?.code).toBe(grpc.status.INTERNAL);
    const res = await callUnary(kv, 'RawPut', kvrpcpb.RawPutRequest({ key: new Uint8Array([4]), value: new Uint8Array([5]) }));
    expect(res).toStrictEqual(kvrpcpb.RawPutResponse());
  });
});
