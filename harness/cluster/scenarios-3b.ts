/**
 * The hand-written cluster scenarios of TinyKV's 3B suite (transfer leader, conf change, split), as functions
 * of a started cluster, so the staged suite and the kit's determinism test run exactly the same code.
 *
 * Besides TinyKV's own checks, each scenario checks the stores' invariants (harness/cluster/invariants.ts)
 * after the steps that change a store's regions: the region map and range index agree with the peers, a
 * destroyed peer leaves a clean tombstone on disk, a Normal region can be loaded again after a restart.
 */
import { eraftpb, metapb, raft_cmdpb } from '#proto';
import { dropWhere, type Sim } from '../sim/index.ts';
import type { Cluster, ClusterOptions } from './cluster.ts';
import type { RaftMessage } from './raft-network.ts';
import { ClusterCheckError } from './errors.ts';
import { checkStoreInvariants } from './invariants.ts';
import { bytesEqual } from '@impl/util/bytes.ts';
import { bytes, showKey, showRegion } from './keys.ts';
import { checkRaftLogSizes } from './generic-test.ts';

/** A peer with id `peerId` on store `storeId` (TinyKV's NewPeer(storeID, peerID)). */
function newPeer(storeId: number, peerId: number): metapb.Peer {
  return metapb.Peer({ id: peerId, storeId });
}

/** TestTransferLeader3B and the conf change scenarios run on 5 stores with the test configuration. */
export const FIVE_STORES: ClusterOptions = { stores: 5 };

/** TestTransferLeader3B: leadership of the only region goes to each store in turn. */
export async function transferLeaderScenario(cluster: Cluster): Promise<void> {
  const regionId = (await cluster.getRegion(bytes(''))).id;
  for (const store of [1, 2, 3, 4, 5]) await cluster.mustTransferLeader(regionId, newPeer(store, store));
  // Leadership moved by transfers only: every transfer was a raft-level hand-over, the data path still works.
  await cluster.mustPut(bytes('k1'), bytes('v1'));
  await cluster.mustGetEqual(5, bytes('k1'), bytes('v1'));
}

/**
 * TestBasicConfChange3B: shrink region 1 to store 1 alone, grow it again, remove and re-add peers (the same
 * peer id on the same store, and a new peer id on a store that had another one), checking each store's data.
 */
export async function basicConfChangeScenario(cluster: Cluster): Promise<void> {
  await cluster.mustTransferLeader(1, newPeer(1, 1));
  for (const store of [2, 3, 4, 5]) await cluster.mustRemovePeer(1, newPeer(store, store));
  await checkStoreInvariants(cluster);

  // Region 1 has only peer 1 on store 1 now.
  await cluster.mustPut(bytes('k1'), bytes('v1'));
  await cluster.mustGetNoneOnStore(2, bytes('k1'));

  await cluster.mustAddPeer(1, newPeer(2, 2));
  await cluster.mustPut(bytes('k2'), bytes('v2'));
  await cluster.mustGet(bytes('k2'), bytes('v2'));
  await cluster.mustGetEqual(2, bytes('k1'), bytes('v1'));
  await cluster.mustGetEqual(2, bytes('k2'), bytes('v2'));

  const epoch = (await cluster.getRegion(bytes('k1'))).regionEpoch;
  if ((epoch?.confVer ?? 0) <= 1) throw new ClusterCheckError(`region 1's conf_ver is still ${epoch?.confVer ?? 0} after conf changes`);

  // Store 5 was removed and never re-added: it holds nothing.
  await cluster.mustGetNoneOnStore(5, bytes('k1'));

  await cluster.mustAddPeer(1, newPeer(3, 3));
  await cluster.mustRemovePeer(1, newPeer(2, 2));
  await cluster.mustPut(bytes('k3'), bytes('v3'));
  await cluster.mustGet(bytes('k3'), bytes('v3'));
  for (const [k, v] of [['k1', 'v1'], ['k2', 'v2'], ['k3', 'v3']] as const) await cluster.mustGetEqual(3, bytes(k), bytes(v));

  // Peer 2 was removed: its store deleted the region's data.
  await cluster.mustGetNoneOnStore(2, bytes('k1'));
  await cluster.mustGetNoneOnStore(2, bytes('k2'));
  await checkStoreInvariants(cluster);

  // The same peer id comes back on the same store: it must start from a snapshot, not from its old state.
  await cluster.mustAddPeer(1, newPeer(2, 2));
  for (const [k, v] of [['k1', 'v1'], ['k2', 'v2'], ['k3', 'v3']] as const) await cluster.mustGetEqual(2, bytes(k), bytes(v));

  await cluster.mustRemovePeer(1, newPeer(2, 2));
  // A new peer id (4, once used on store 4) on store 2.
  await cluster.mustAddPeer(1, newPeer(2, 4));
  await cluster.mustRemovePeer(1, newPeer(3, 3));
  await cluster.mustPut(bytes('k4'), bytes('v4'));
  await cluster.mustGetEqual(2, bytes('k1'), bytes('v1'));
  await cluster.mustGetEqual(2, bytes('k4'), bytes('v4'));
  await cluster.mustGetNoneOnStore(3, bytes('k1'));
  await cluster.mustGetNoneOnStore(3, bytes('k4'));
  await checkStoreInvariants(cluster);

  // Every store restarts from what it has on disk: removed peers stay destroyed, members come back.
  for (const id of cluster.storeIds()) await cluster.restartStore(id);
  await cluster.mustGet(bytes('k4'), bytes('v4'));
  await cluster.mustGetNoneOnStore(3, bytes('k4'));
  await checkStoreInvariants(cluster);
}

/**
 * TestConfChangeRemoveLeader3B: the leader is removed (twice: once with five members, once with two, where
 * the survivor must still be able to commit), and a removed store rejoins and leads again.
 */
export async function confChangeRemoveLeaderScenario(cluster: Cluster): Promise<void> {
  await cluster.mustTransferLeader(1, newPeer(1, 1));
  await cluster.mustRemovePeer(1, newPeer(1, 1));
  await cluster.mustPut(bytes('k0'), bytes('v0'));
  await cluster.mustGetNoneOnStore(1, bytes('k0'));

  // Store 1 rejoins and leads again: it sees everything.
  await cluster.mustAddPeer(1, newPeer(1, 1));
  await cluster.mustTransferLeader(1, newPeer(1, 1));
  await cluster.mustPut(bytes('k1'), bytes('v1'));
  await cluster.mustGetEqual(1, bytes('k0'), bytes('v0'));
  await cluster.mustGetEqual(1, bytes('k1'), bytes('v1'));

  for (const store of [2, 3, 4]) await cluster.mustRemovePeer(1, newPeer(store, store));
  await cluster.mustPut(bytes('k2'), bytes('v2'));
  await cluster.mustGetEqual(1, bytes('k2'), bytes('v2'));
  await cluster.mustGetEqual(5, bytes('k2'), bytes('v2'));

  // Remove the leader of a two-member region: the survivor must end up leading alone.
  await cluster.mustRemovePeer(1, newPeer(1, 1));
  await cluster.mustPut(bytes('k3'), bytes('v3'));
  await cluster.mustGetNoneOnStore(1, bytes('k3'));
  await cluster.mustGetEqual(5, bytes('k3'), bytes('v3'));
  await checkStoreInvariants(cluster);
}

/** TestOneSplit3B splits once the region passes 800 bytes, at about 500. */
export const ONE_SPLIT_OPTIONS: ClusterOptions = { stores: 5, config: { regionMaxSize: 800, regionSplitSize: 500 } };

/**
 * TestOneSplit3B: store 5 is cut off while enough is written to split the region; afterwards the two regions
 * cover the old range exactly, a Get of a key outside the left region is refused with KeyNotInRegion, and
 * store 5 catches up.
 */
export async function oneSplitScenario(cluster: Cluster, sim: Sim): Promise<void> {
  await cluster.mustPut(bytes('k1'), bytes('v1'));
  await cluster.mustPut(bytes('k2'), bytes('v2'));
  const region = await cluster.getRegion(bytes('k1'));
  const region2 = await cluster.getRegion(bytes('k2'));
  if (region.id !== region2.id) throw new ClusterCheckError(`k1 and k2 are in different regions before any split: ${region.id}, ${region2.id}`);

  const cut = cluster.partition([1, 2, 3, 4], [5]);
  for (let i = 100; i < 200; i++) await cluster.mustPut(bytes(`k${i}`), bytes(`v${i}`));
  await sim.sleep(200);
  cut.remove();

  // The scheduler learns the new regions from their leaders' heartbeats. The writes may split the right
  // part again (it keeps growing), so the check is that the regions from k1's to k2's tile the old range.
  const left = await waitForSplit(cluster, sim, bytes('k1'), bytes('k2'));
  const right = await cluster.getRegion(bytes('k2'));
  if (!bytesEqual(region.startKey, left.startKey)) throw new ClusterCheckError(`the left region ${showRegion(left)} does not start where ${showRegion(region)} did`);
  if (!bytesEqual(right.endKey, region.endKey)) throw new ClusterCheckError(`the right region ${showRegion(right)} does not end where ${showRegion(region)} did`);
  let previous = left;
  while (previous.id !== right.id) {
    if (previous.endKey.length === 0) throw new ClusterCheckError(`${showRegion(previous)} reaches the last key before ${showRegion(right)} starts`);
    const next = await cluster.getRegion(previous.endKey);
    if (!bytesEqual(next.startKey, previous.endKey)) throw new ClusterCheckError(`${showRegion(previous)} and ${showRegion(next)} leave a gap or overlap`);
    previous = next;
  }

  // The left region refuses a key that is now the right region's.
  const get = raft_cmdpb.Request({ cmdType: raft_cmdpb.CmdType.Get, get: raft_cmdpb.GetRequest({ cf: 'default', key: bytes('k2') }) });
  const error = await cluster.callOnLeader(left, [get]);
  if (error?.keyNotInRegion === undefined) {
    throw new ClusterCheckError(`a Get of ${showKey(bytes('k2'))} sent to the left region ${showRegion(left)} must answer KeyNotInRegion, got ${error === undefined ? 'success' : error.message || 'another error'}`);
  }

  await cluster.mustGetEqual(5, bytes('k100'), bytes('v100'));
  await checkStoreInvariants(cluster);
}

/** Polls the scheduler (up to 10 virtual seconds) until `a` and `b` lie in different regions; returns a's. */
async function waitForSplit(cluster: Cluster, sim: Sim, a: Uint8Array, b: Uint8Array): Promise<metapb.Region> {
  for (let i = 0; i < 500; i++) {
    const left = await cluster.getRegion(a);
    const right = await cluster.getRegion(b);
    if (left.id !== right.id) return left;
    await sim.sleep(20);
  }
  const region = await cluster.getRegion(a);
  throw new ClusterCheckError(`the region was not split: ${showKey(a)} and ${showKey(b)} are both still in ${showRegion(region)}`);
}

/** The log GC scenario: a small log limit, so a few dozen writes cross it. */
const LOG_GC_LIMIT = 20;
export const LOG_GC_OPTIONS: ClusterOptions = { stores: 5, config: { raftLogGcCountLimit: LOG_GC_LIMIT } };

/**
 * Log GC when each new leader got its log from a snapshot (the cause of a rare 3B failure, "logs were not
 * trimmed"). Region 1 shrinks to stores 1 and 2, whose logs start at the bootstrap index. Then, three times,
 * a peer is added on a fresh store (it starts from a snapshot, so its own log starts at the snapshot's
 * index), made leader, and fed fewer writes than the limit. No leader's own log ever reaches the limit, yet
 * stores 1 and 2 keep every entry since bootstrap: a leader that measures the log by its own compaction
 * point never compacts, and their logs grow past twice the limit.
 */
export async function logGcAfterLeadersFromSnapshotsScenario(cluster: Cluster, sim: Sim): Promise<void> {
  const writesPerLeader = LOG_GC_LIMIT - 5; // with the leader's no-op and a conf change: still under the limit
  await cluster.mustTransferLeader(1, newPeer(1, 1));
  for (const store of [3, 4, 5]) await cluster.mustRemovePeer(1, newPeer(store, store));
  for (const store of [3, 4, 5]) {
    const peer = cluster.allocPeer(store);
    await cluster.mustAddPeer(1, peer);
    await cluster.mustTransferLeader(1, peer);
    for (let i = 0; i < writesPerLeader; i++) await cluster.mustPut(bytes(`s${store}-k${i}`), bytes(`v${i}`));
  }
  await sim.sleep(1000); // several log GC ticks, and time for a CompactLog to be applied everywhere
  await checkRaftLogSizes(cluster, LOG_GC_LIMIT);
  await cluster.mustGetEqual(1, bytes('s5-k0'), bytes('v0'));
  await checkStoreInvariants(cluster);
}

/**
 * The removed peer led the region when its removal committed, and its last word was lost. Region 1 shrinks to
 * peers 1 (store 1, leader) and 2 (store 2); the leader proposes removing peer 2, which appends the entry but
 * whose acknowledgement is lost, so the entry is not committed. Peer 2 then wins an election (it stops hearing
 * from store 1, whose vote it still gets) and commits the entry itself in its new term; the messages
 * that would tell store 1 of that commit are lost. Store 1 can only learn it from peer 2: in a region of two, it
 * cannot win an election without peer 2's vote. A peer that destroys itself as soon as it applies its own
 * removal leaves store 1 campaigning forever; it must stay until another member knows of the commit.
 */
export async function removedLeaderLastWordLostScenario(cluster: Cluster, sim: Sim): Promise<void> {
  const { MessageType } = eraftpb;
  const survivor = newPeer(1, 1);
  const removed = newPeer(2, 2);
  await cluster.mustTransferLeader(1, survivor);
  for (const store of [3, 4, 5]) await cluster.mustRemovePeer(1, newPeer(store, store));
  await cluster.mustPut(bytes('k1'), bytes('v1'));

  const between = (m: RaftMessage, from: number, to: number) => m.regionId === 1 && m.fromPeer?.storeId === from && m.toPeer?.storeId === to;
  const typeOf = (m: RaftMessage) => m.message?.msgType;
  // The index of the entry that removes peer 2, once the leader has sent it.
  let removalIndex = Number.POSITIVE_INFINITY;
  const watch = cluster.addFilter(
    dropWhere<RaftMessage>('(watch for the removal entry)', ({ msg }) => {
      if (between(msg, 1, 2) && typeOf(msg) === MessageType.MsgAppend) {
        const cc = msg.message!.entries.find((e) => e.entryType === eraftpb.EntryType.EntryConfChange);
        if (cc !== undefined) removalIndex = Math.min(removalIndex, cc.index);
      }
      return false;
    }),
  );
  // Peer 2's acknowledgements of the leader's appends are lost: the removal is appended on both, committed by neither.
  const noAcks = cluster.addFilter(
    dropWhere<RaftMessage>('acks from store 2 to store 1', ({ msg }) => between(msg, 2, 1) && typeOf(msg) === MessageType.MsgAppendResponse),
  );
  // Whatever tells store 1 that the removal committed is lost, for good.
  cluster.addFilter(
    dropWhere<RaftMessage>('commit news from store 2 to store 1', ({ msg }) =>
      between(msg, 2, 1) &&
      (typeOf(msg) === MessageType.MsgAppend || typeOf(msg) === MessageType.MsgHeartbeat) &&
      msg.message!.commit >= removalIndex,
    ),
  );
  cluster.scheduler.removePeer(1, removed);
  for (let waited = 0; !Number.isFinite(removalIndex); waited += 10) {
    if (waited > 20_000) throw new ClusterCheckError('the leader never sent the entry that removes peer 2 (the setup, not the store, is at fault)');
    await sim.sleep(10);
  }
  await sim.sleep(100); // the entry reaches store 2
  // Store 2 stops hearing from the leader, so it campaigns; votes still pass, and store 1 votes for it.
  const silence = cluster.addFilter(
    dropWhere<RaftMessage>('appends and heartbeats from store 1 to store 2', ({ msg }) =>
      between(msg, 1, 2) && (typeOf(msg) === MessageType.MsgAppend || typeOf(msg) === MessageType.MsgHeartbeat),
    ),
  );

  // Wait until peer 2 leads (it reports to the scheduler when it wins), then let everything else through.
  for (let waited = 0; ; waited += 10) {
    const leader = await cluster.leaderOfRegion(1);
    if (leader?.id === removed.id) break;
    if (waited > 20_000) throw new ClusterCheckError('the scenario could not make peer 2 the leader (the setup, not the store, is at fault)');
    await sim.sleep(10);
  }
  watch.remove();
  noAcks.remove();
  silence.remove();

  // The region must end with peer 1 alone and serving.
  await cluster.mustNonePeer(1, removed, 30_000);
  await cluster.mustPut(bytes('k2'), bytes('v2'));
  await cluster.mustGetEqual(1, bytes('k2'), bytes('v2'));
  await cluster.mustGetNoneOnStore(2, bytes('k1'));
  await checkStoreInvariants(cluster);
}
