// The real cluster's raft transport over gRPC on loopback: a store that is still starting refuses streams in
// a way the sender notices (it reconnects and its later messages arrive), and a stream the receiver ends is
// replaced by a new one. Found by the end-to-end cluster test: a restarted store used to destroy an early
// stream, and the sender kept writing into it, every message lost, with no error.
import { afterEach, describe, expect, test } from 'vitest';
import { eraftpb, metapb, raft_serverpb } from '#proto';
import { TinyKvGrpcServer } from '@impl/kv/server/grpc-server.ts';
import { GrpcRaftTransport, RaftServiceGate } from '@impl/kv/server/raft-transport.ts';
import { RealRuntime } from '@impl/runtime/real-runtime.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function heartbeat(n: number): raft_serverpb.RaftMessage {
  return raft_serverpb.RaftMessage({
    regionId: n,
    fromPeer: metapb.Peer({ id: 10, storeId: 1 }),
    toPeer: metapb.Peer({ id: 20, storeId: 2 }),
    regionEpoch: metapb.RegionEpoch({ version: 1, confVer: 1 }),
    message: eraftpb.Message({ msgType: eraftpb.MessageType.MsgHeartbeat, term: 1 }),
  });
}

/** Store 1's transport, sending to `address` for store 2. */
function sender(address: string): GrpcRaftTransport {
  const runtime = new RealRuntime({ name: 'sender', seed: 1 });
  const transport = new GrpcRaftTransport({ storeId: 1, runtime, resolver: { resolve: async () => address } });
  cleanups.push(async () => {
    transport.close();
    await runtime.shutdown();
  });
  return transport;
}

/** Sends one message every 50 ms (as raft's heartbeats would) until `done()` or the timeout. */
async function sendUntil(transport: GrpcRaftTransport, done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let n = 1; !done(); n++) {
    if (Date.now() > deadline) throw new Error(`nothing arrived within ${timeoutMs} ms (sent ${n - 1}, stats ${JSON.stringify(transport.stats)})`);
    transport.send(2, heartbeat(n));
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('kit: raft transport over gRPC', () => {
  test('a store still starting refuses streams; the sender notices, reconnects, and later messages arrive', { timeout: 30_000 }, async () => {
    const gate = new RaftServiceGate();
    const server = await TinyKvGrpcServer.start({}, { addr: '127.0.0.1:0', extraHandlers: { Raft: gate.raftHandler, Snapshot: gate.snapshotHandler } });
    cleanups.push(() => server.forceStop());
    const from1 = sender(server.address);

    // While the gate is shut, the sender's first stream is refused.
    await sendUntil(from1, () => gate.refused > 0, 10_000);

    // The store finishes starting: messages sent from now on reach its raftstore.
    const runtime = new RealRuntime({ name: 'receiver', seed: 2 });
    const receiver = new GrpcRaftTransport({ storeId: 2, runtime, resolver: { resolve: async () => '127.0.0.1:1' } });
    cleanups.push(async () => {
      receiver.close();
      await runtime.shutdown();
    });
    const got: number[] = [];
    receiver.listen((msg) => {
      got.push(msg.regionId);
    });
    gate.open(receiver);
    await sendUntil(from1, () => got.length >= 3, 10_000);
    expect(got.length).toBeGreaterThanOrEqual(3);
  });

  test('a stream the receiver ends is replaced by a new one on the next message', { timeout: 30_000 }, async () => {
    let calls = 0;
    const got: number[] = [];
    const server = await TinyKvGrpcServer.start(
      {},
      {
        addr: '127.0.0.1:0',
        extraHandlers: {
          Raft: (call, callback) => {
            calls++;
            // The first stream takes one message and then the receiver ends it; later ones stay open.
            const first = calls === 1;
            call.on('data', (msg: raft_serverpb.RaftMessage) => {
              got.push(msg.regionId);
              if (first) callback(null, raft_serverpb.Done());
            });
            call.on('end', () => {
              if (!first) callback(null, raft_serverpb.Done());
            });
            call.on('error', () => undefined);
          },
        },
      },
    );
    cleanups.push(() => server.forceStop());
    const from1 = sender(server.address);
    await sendUntil(from1, () => calls >= 2 && got.length >= 3, 10_000);
    expect(calls).toBeGreaterThanOrEqual(2);
  });
});
