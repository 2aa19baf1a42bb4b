// The mock scheduler of the test cluster: region bookkeeping from heartbeats (staleness by version AND
// conf_ver, overlapping regions replaced), leaders, id allocation, askSplit, and operators carried in
// heartbeat responses until the region shows them done. Replies go through the store's runtime.post.
import { describe, expect, test } from 'vitest';
import { eraftpb, metapb, schedulerpb } from '#proto';
import type { Job, Runtime, TimerHandle } from '@impl/runtime/runtime.ts';
import { SeededRandom } from '@impl/util/prng.ts';
import { BadSchedulerRequestError, ClusterUsageError, MockScheduler, SchedulerRefusedError, bytes } from '../../cluster/index.ts';

/** A runtime that only collects posted jobs, so the test decides when replies run. */
class PostBox implements Runtime {
  readonly random = new SeededRandom(1);
  readonly posted: { label: string; fn: Job }[] = [];
  now(): number {
    return 0;
  }
  setTimer(): TimerHandle {
    throw new Error('not used');
  }
  every(): TimerHandle {
    throw new Error('not used');
  }
  post(label: string, fn: Job): void {
    this.posted.push({ label, fn });
  }
  spawn(): void {
    throw new Error('not used');
  }
  async runAll(): Promise<void> {
    for (let job = this.posted.shift(); job !== undefined; job = this.posted.shift()) await job.fn();
  }
}

function peer(id: number, storeId: number): metapb.Peer {
  return metapb.Peer({ id, storeId });
}

function region(id: number, start: string, end: string, version: number, confVer: number, peers: metapb.Peer[]): metapb.Region {
  return metapb.Region({
    id,
    startKey: bytes(start),
    endKey: bytes(end),
    regionEpoch: metapb.RegionEpoch({ version, confVer }),
    peers,
  });
}

const PEERS = [peer(1, 1), peer(2, 2), peer(3, 3)];

function newScheduler(): MockScheduler {
  const s = new MockScheduler({ firstId: 4 });
  s.bootstrap(region(1, '', '', 1, 1, PEERS), [1, 2, 3].map((id) => metapb.Store({ id })));
  return s;
}

function heartbeat(r: metapb.Region, leader: metapb.Peer, pending: metapb.Peer[] = []): schedulerpb.RegionHeartbeatRequest {
  return schedulerpb.RegionHeartbeatRequest({ region: r, leader, pendingPeers: pending });
}

describe('mock scheduler', () => {
  test('bootstrap records the first region without a leader; ids start above the bootstrap ids', () => {
    const s = newScheduler();
    const info = s.getRegion(bytes('any key'));
    expect(info?.region.id).toBe(1);
    expect(info?.leader).toBeUndefined();
    expect(s.allocId()).toBe(4);
    expect(s.allocId()).toBe(5);
    expect(() => s.bootstrap(region(1, '', '', 1, 1, PEERS), [])).toThrow(ClusterUsageError);
  });

  test('a heartbeat sets the leader; the returned region is a copy', () => {
    const s = newScheduler();
    const box = new PostBox();
    s.clientFor(2, box).regionHeartbeat(heartbeat(region(1, '', '', 1, 1, PEERS), peer(2, 2)));
    const info = s.getRegionById(1)!;
    expect(info.leader).toEqual(peer(2, 2));
    info.region.peers.length = 0;
    expect(s.getRegionById(1)!.region.peers).toHaveLength(3);
    expect(box.posted).toHaveLength(0); // no operator, no response
  });

  test('staleness compares version and conf_ver: older in either one is ignored', () => {
    const s = newScheduler();
    const box = new PostBox();
    const client = s.clientFor(1, box);
    client.regionHeartbeat(heartbeat(region(1, '', '', 2, 2, PEERS), peer(1, 1)));
    // Newer conf_ver but older version: stale.
    client.regionHeartbeat(heartbeat(region(1, '', '', 1, 5, PEERS.slice(0, 2)), peer(1, 1)));
    expect(s.getRegionById(1)!.region.peers).toHaveLength(3);
    // Newer version but older conf_ver: stale.
    s.clientFor(3, box).regionHeartbeat(heartbeat(region(1, '', '', 5, 1, PEERS), peer(3, 3)));
    expect(s.getRegionById(1)!.region.regionEpoch).toEqual(metapb.RegionEpoch({ version: 2, confVer: 2 }));
    expect(s.leaderOf(1)).toEqual(peer(1, 1)); // a stale heartbeat does not move the leader either
    expect(s.stats.staleHeartbeats).toBe(2);
    // Newer in both: taken.
    client.regionHeartbeat(heartbeat(region(1, '', '', 2, 3, PEERS.slice(0, 2)), peer(1, 1)));
    expect(s.getRegionById(1)!.region.peers).toHaveLength(2);
  });

  test('after a split, the newer half replaces the overlapping old range; the gap closes when the other half reports', () => {
    const s = newScheduler();
    const box = new PostBox();
    const client = s.clientFor(1, box);
    client.regionHeartbeat(heartbeat(region(1, '', '', 1, 1, PEERS), peer(1, 1)));
    client.regionHeartbeat(heartbeat(region(9, 'm', '', 2, 1, [peer(10, 1), peer(11, 2), peer(12, 3)]), peer(10, 1)));
    expect(s.getRegion(bytes('z'))?.region.id).toBe(9);
    expect(s.getRegion(bytes('a'))).toBeUndefined();
    expect(s.getRegionById(1)).toBeUndefined();
    // The old, wider region reported by a lagging leader is stale against the newer split.
    client.regionHeartbeat(heartbeat(region(1, '', '', 1, 1, PEERS), peer(1, 1)));
    expect(s.getRegion(bytes('a'))).toBeUndefined();
    client.regionHeartbeat(heartbeat(region(1, '', 'm', 2, 1, PEERS), peer(1, 1)));
    expect(s.getRegion(bytes('a'))?.region.id).toBe(1);
    expect(s.getRegion(bytes('m'))?.region.id).toBe(9);
    expect(s.allRegions().map((r) => r.id)).toEqual([1, 9]);
  });

  test('add-peer operator: sent until the peer is in the region, done once it is no longer pending', async () => {
    const s = newScheduler();
    const box = new PostBox();
    const client = s.clientFor(1, box);
    const seen: schedulerpb.RegionHeartbeatResponse[] = [];
    client.onRegionHeartbeatResponse((resp) => void seen.push(resp));
    s.addPeer(1, peer(7, 4));
    client.regionHeartbeat(heartbeat(region(1, '', '', 1, 1, PEERS), peer(1, 1)));
    expect(seen).toHaveLength(0); // delivered through the store's runtime, not inline
    await box.runAll();
    expect(seen).toHaveLength(1);
    expect(seen[0]!.changePeer).toEqual(schedulerpb.ChangePeer({ changeType: eraftpb.ConfChangeType.AddNode, peer: peer(7, 4) }));
    expect(seen[0]!.targetPeer).toEqual(peer(1, 1));
    const grown = region(1, '', '', 1, 2, [...PEERS, peer(7, 4)]);
    client.regionHeartbeat(heartbeat(grown, peer(1, 1), [peer(7, 4)]));
    client.regionHeartbeat(heartbeat(grown, peer(1, 1), [peer(7, 4)]));
    await box.runAll();
    expect(seen).toHaveLength(1); // added; waiting for it to catch up
    expect(s.operatorOf(1)?.type).toBe('addPeer');
    client.regionHeartbeat(heartbeat(grown, peer(1, 1)));
    expect(s.operatorOf(1)).toBeUndefined();
  });

  test('remove-peer and transfer-leader operators repeat until the region shows them done', async () => {
    const s = newScheduler();
    const box = new PostBox();
    const client = s.clientFor(1, box);
    const seen: schedulerpb.RegionHeartbeatResponse[] = [];
    client.onRegionHeartbeatResponse((resp) => void seen.push(resp));
    s.removePeer(1, peer(3, 3));
    client.regionHeartbeat(heartbeat(region(1, '', '', 1, 1, PEERS), peer(1, 1)));
    client.regionHeartbeat(heartbeat(region(1, '', '', 1, 1, PEERS), peer(1, 1)));
    await box.runAll();
    expect(seen.map((r) => r.changePeer?.changeType)).toEqual([eraftpb.ConfChangeType.RemoveNode, eraftpb.ConfChangeType.RemoveNode]);
    client.regionHeartbeat(heartbeat(region(1, '', '', 1, 2, PEERS.slice(0, 2)), peer(1, 1)));
    expect(s.operatorOf(1)).toBeUndefined();

    s.transferLeader(1, peer(2, 2));
    client.regionHeartbeat(heartbeat(region(1, '', '', 1, 2, PEERS.slice(0, 2)), peer(1, 1)));
    await box.runAll();
    expect(seen.at(-1)!.transferLeader?.peer).toEqual(peer(2, 2));
    const box2 = new PostBox();
    s.clientFor(2, box2).regionHeartbeat(heartbeat(region(1, '', '', 1, 2, PEERS.slice(0, 2)), peer(2, 2)));
    expect(s.operatorOf(1)).toBeUndefined();
    expect(s.leaderOf(1)).toEqual(peer(2, 2));
  });

  test('askSplit allocates a region id and one peer id per peer; refuses unknown or stale regions', async () => {
    const s = newScheduler();
    const box = new PostBox();
    const client = s.clientFor(1, box);
    const answers: (schedulerpb.AskSplitResponse | Error)[] = [];
    client.askSplit(region(1, '', '', 1, 1, PEERS), (a) => void answers.push(a));
    client.askSplit(region(1, '', '', 0, 1, PEERS), (a) => void answers.push(a));
    client.askSplit(region(42, '', '', 1, 1, PEERS), (a) => void answers.push(a));
    expect(answers).toHaveLength(0);
    await box.runAll();
    const ok = answers[0] as schedulerpb.AskSplitResponse;
    expect(ok.newRegionId).toBe(4);
    expect(ok.newPeerIds).toEqual([5, 6, 7]);
    expect(answers[1]).toBeInstanceOf(SchedulerRefusedError);
    expect(String(answers[1])).toMatch(/stale/);
    expect(answers[2]).toBeInstanceOf(SchedulerRefusedError);
    expect(String(answers[2])).toMatch(/not known/);
  });

  test('malformed heartbeats are reported as raftstore bugs', () => {
    const s = newScheduler();
    const client = s.clientFor(1, new PostBox());
    expect(() => client.regionHeartbeat(schedulerpb.RegionHeartbeatRequest({ leader: peer(1, 1) }))).toThrow(BadSchedulerRequestError);
    expect(() => client.regionHeartbeat(heartbeat(region(1, '', '', 1, 1, PEERS), peer(2, 2)))).toThrow(/names a leader on store 2/);
    expect(() => client.regionHeartbeat(heartbeat(region(1, 'b', 'a', 1, 1, PEERS), peer(1, 1)))).toThrow(/start key/);
    expect(() => s.clientFor(9, new PostBox())).toThrow(ClusterUsageError);
  });

  test('randomRegion picks among regions with a known leader', () => {
    const s = newScheduler();
    const random = new SeededRandom(7);
    expect(s.randomRegion(random)).toBeUndefined();
    s.clientFor(1, new PostBox()).regionHeartbeat(heartbeat(region(1, '', '', 1, 1, PEERS), peer(1, 1)));
    expect(s.randomRegion(random)?.id).toBe(1);
  });
});
