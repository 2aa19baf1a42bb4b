// The test cluster's network of RaftMessages: request/reply classes for drop rates, trace descriptions,
// copies by an encode/decode round trip, and the filters by message type, region and direction.
import { describe, expect, test } from 'vitest';
import { eraftpb, metapb, raft_serverpb } from '#proto';
import {
  classifyRaftMessage,
  copyRaftMessage,
  createRaftNetwork,
  describeRaftMessage,
  dropMessageTypes,
  dropOneWay,
  dropRegion,
  type MessageCounts,
  type RaftMessage,
} from '../../cluster/index.ts';
import { Sim } from '../../sim/index.ts';

const { MessageType } = eraftpb;

function raftMessage(msgType: eraftpb.MessageType, regionId = 1, extra: Partial<eraftpb.Message> = {}): RaftMessage {
  return raft_serverpb.RaftMessage({
    regionId,
    fromPeer: metapb.Peer({ id: 1, storeId: 1 }),
    toPeer: metapb.Peer({ id: 2, storeId: 2 }),
    regionEpoch: metapb.RegionEpoch({ version: 1, confVer: 1 }),
    message: eraftpb.Message({ msgType, from: 1, to: 2, term: 3, ...extra }),
  });
}

describe('cluster raft network', () => {
  test('responses are replies, everything else (tombstones too) is a request', () => {
    const replies = [MessageType.MsgAppendResponse, MessageType.MsgRequestVoteResponse, MessageType.MsgHeartbeatResponse];
    const requests = [
      MessageType.MsgAppend,
      MessageType.MsgRequestVote,
      MessageType.MsgSnapshot,
      MessageType.MsgHeartbeat,
      MessageType.MsgTransferLeader,
      MessageType.MsgTimeoutNow,
    ];
    for (const t of replies) expect(classifyRaftMessage(raftMessage(t))).toBe('reply');
    for (const t of requests) expect(classifyRaftMessage(raftMessage(t))).toBe('request');
    expect(classifyRaftMessage(raft_serverpb.RaftMessage({ regionId: 1, isTombstone: true }))).toBe('request');
  });

  test('descriptions name the region, type, term and the indexes that matter', () => {
    const append = raftMessage(MessageType.MsgAppend, 7, {
      index: 5,
      commit: 4,
      entries: [eraftpb.Entry({ index: 6, term: 3 }), eraftpb.Entry({ index: 7, term: 3 })],
    });
    expect(describeRaftMessage(append)).toBe('r7 MsgAppend t3 i5 n2 c4');
    expect(describeRaftMessage(raftMessage(MessageType.MsgAppendResponse, 1, { index: 9, reject: true }))).toBe('r1 MsgAppendResponse t3 i9 reject');
    const snap = raftMessage(MessageType.MsgSnapshot, 2, {
      snapshot: eraftpb.Snapshot({ data: new Uint8Array(10), metadata: eraftpb.SnapshotMetadata({ index: 20, term: 3 }) }),
    });
    expect(describeRaftMessage(snap)).toBe('r2 MsgSnapshot t3 snap i20 t3 10B');
  });

  test('a copy equals the original and shares no objects with it', () => {
    const original = raftMessage(MessageType.MsgAppend, 3, { entries: [eraftpb.Entry({ index: 1, term: 1, data: new Uint8Array([1, 2, 3]) })] });
    const copy = copyRaftMessage(original);
    expect(copy).toEqual(original);
    expect(copy.message).not.toBe(original.message);
    copy.message!.entries[0]!.data[0] = 9;
    expect(original.message!.entries[0]!.data[0]).toBe(1);
  });

  test('filters by type, region and direction drop only what they name; counts tally every send', async () => {
    const sim = new Sim({ seed: 5 });
    const counts: MessageCounts = new Map();
    const net = createRaftNetwork(sim, {}, counts);
    const got: string[] = [];
    for (const id of [1, 2]) {
      sim.addNode(id, {
        start: (rt) => {
          const t = net.transport(rt);
          t.listen((msg, from) => void got.push(`${from}->${id} ${describeRaftMessage(msg)}`));
          return t;
        },
      });
    }
    net.addFilter(dropMessageTypes([MessageType.MsgHeartbeat]));
    net.addFilter(dropRegion(9));
    net.addFilter(dropOneWay(2, 1));
    await sim.main(
      async () => {
        await sim.startNode(1);
        await sim.startNode(2);
        const t1 = sim.instance<{ send(to: number, m: RaftMessage): void }>(1);
        const t2 = sim.instance<{ send(to: number, m: RaftMessage): void }>(2);
        t1.send(2, raftMessage(MessageType.MsgHeartbeat));
        t1.send(2, raftMessage(MessageType.MsgAppend, 9));
        t1.send(2, raftMessage(MessageType.MsgAppend, 1));
        t2.send(1, raftMessage(MessageType.MsgAppendResponse, 1));
        await sim.sleep(50);
      },
      { maxVirtualMs: 1000 },
    );
    expect(got).toEqual(['1->2 r1 MsgAppend t3 i0 n0 c0']);
    expect(counts.get('MsgAppend')).toBe(2);
    expect(counts.get('MsgHeartbeat')).toBe(1);
    expect(counts.get('MsgAppendResponse')).toBe(1);
  });
});
