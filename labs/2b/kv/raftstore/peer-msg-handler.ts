/**
 * What a peer does with what reaches it: raft messages from other stores, commands from clients, ticks,
 * and — at the end of every job of the store's actor — the Ready of its raft group.
 *
 * Handling a Ready, in this order (the order is the point):
 *   1. persist the new entries, the hard state and any snapshot (PeerStorage.saveReadyState);
 *   2. only then send the messages (a vote or an append acknowledgement promises what is on disk);
 *   3. apply the committed entries to the kv engine and answer the waiting proposals (apply.ts);
 *   4. advance the raft group.
 */
import { encode, eraftpb, metapb, raft_cmdpb, raft_serverpb } from '#proto';
import { ProposalDroppedError, RaftError } from '../../raft/errors.ts';
import { StateType } from '../../raft/raft.ts';
import { NotImplemented } from '../../util/not-implemented.ts';
import { Applier, checkRequests } from './apply.ts';
import { onceCallback, type Callback } from './callback.ts';
import {
  epochNotMatchError,
  errorResponse,
  notLeaderError,
  otherError,
  regionNotFoundError,
  staleCommandError,
  storeNotMatchError,
} from './cmd-resp.ts';
import type { StoreContext } from './context.ts';
import type { Peer } from './peer.ts';
import type { ApplySnapResult } from './peer-storage.ts';
import { gcRaftLog } from './raftlog-gc.ts';
import { clonePeer, cloneEpoch, epochMismatch, findPeerOnStore, isEpochStale } from './region-util.ts';
import { parseSnapshotData, SnapshotDataError } from './snapshot-data.ts';

const { MessageType } = eraftpb;
type RaftCmdRequest = raft_cmdpb.RaftCmdRequest;

export class PeerMsgHandler {
  constructor(
    readonly peer: Peer,
    readonly ctx: StoreContext,
  ) {}

  // ---------------------------------------------------------------------------------------------------
  // Raft messages

  /** A raft message for this peer (the store routed it here by region id). */
  onRaftMessage(msg: raft_serverpb.RaftMessage): void {
    const { peer, ctx } = this;
    if (peer.stopped) return;
    const m = msg.message;
    if (m === undefined || msg.fromPeer === undefined || msg.toPeer === undefined || msg.regionEpoch === undefined) {
      peer.logger.warn('dropping a raft message with missing fields');
      return;
    }
    if (msg.toPeer.storeId !== ctx.storeId) {
      peer.logger.warn('dropping a raft message for another store', { to: msg.toPeer.storeId });
      return;
    }
    if (msg.isTombstone) {
      // TODO(3B): this peer was removed from the group: destroy it if the sender's epoch is newer.
      peer.logger.info('tombstone message ignored (peer destruction comes with 3B)');
      return;
    }
    if (this.isStaleMessage(msg)) return;
    if (m.msgType === MessageType.MsgSnapshot && !this.acceptSnapshot(msg)) return;
    peer.insertPeerCache(msg.fromPeer);
    try {
      peer.raftGroup.step(m);
    } catch (err) {
      if (!(err instanceof RaftError)) throw err;
      peer.logger.debug('raft refused a message', { type: MessageType[m.msgType], from: msg.fromPeer.id, error: err.message });
      return;
    }
    ctx.markDirty(peer);
  }

  /** True (drop it) when the message is meant for an older or newer incarnation of this peer, or is stale. */
  private isStaleMessage(msg: raft_serverpb.RaftMessage): boolean {
    const peer = this.peer;
    const region = peer.region();
    const from = msg.fromPeer!;
    const to = msg.toPeer!;
    if (isEpochStale(msg.regionEpoch, region.regionEpoch) && findPeerOnStore(region, from.storeId) === undefined) {
      // From a peer that is no longer a member. TODO(3B): tell a stale voter to destroy itself (gc message).
      peer.logger.debug('stale message from a removed peer', { from: from.id });
      return true;
    }
    if (to.id < peer.peerId) {
      peer.logger.debug('message for an older peer of this region', { to: to.id });
      return true;
    }
    if (to.id > peer.peerId) {
      // TODO(3B): this peer was removed and re-added with a new id: destroy it so the store creates the new one.
      peer.logger.info('message for a newer peer of this region', { to: to.id });
      return true;
    }
    return false;
  }

  /** A snapshot is stepped only if it is well formed, includes this peer, and overlaps no other region here. */
  private acceptSnapshot(msg: raft_serverpb.RaftMessage): boolean {
    const { peer, ctx } = this;
    let region: metapb.Region;
    try {
      region = parseSnapshotData(msg.message!.snapshot?.data ?? new Uint8Array(0)).region;
    } catch (err) {
      if (!(err instanceof SnapshotDataError)) throw err;
      peer.logger.warn('dropping a malformed snapshot', { error: err.message });
      return false;
    }
    if (!region.peers.some((p) => p.id === msg.toPeer!.id)) {
      peer.logger.info('snapshot does not include this peer, dropped', { region: region.id });
      return false;
    }
    const overlaps = ctx.storeMeta.overlapping(region).filter((r) => r.id !== peer.regionId);
    if (overlaps.length > 0) {
      peer.logger.info('snapshot overlaps other regions of this store, dropped', { overlaps: overlaps.map((r) => r.id).join(',') });
      return false;
    }
    return true;
  }

  // ---------------------------------------------------------------------------------------------------
  // Commands

  /** A client command for this region. `cb` is answered exactly once: now (refused) or when applied. */
  proposeRaftCommand(req: RaftCmdRequest, cb: Callback): void {
    const peer = this.peer;
    if (peer.stopped) {
      cb.done({ response: errorResponse(regionNotFoundError(peer.regionId)) });
      return;
    }
    const refusal = this.preProposeRaftCommand(req);
    if (refusal !== undefined) {
      cb.done({ response: errorResponse(refusal, peer.term()) });
      return;
    }
    if (req.adminRequest !== undefined) this.proposeAdmin(req, cb);
    else this.proposeData(req, cb);
  }

  /** The checks before proposing: right store, leader, right peer, recent term, current epoch, valid requests. */
  private preProposeRaftCommand(req: RaftCmdRequest) {
    const { peer, ctx } = this;
    const header = req.header;
    if (header === undefined || header.peer === undefined) return otherError('the command has no header or no peer in its header');
    if (header.peer.storeId !== ctx.storeId) return storeNotMatchError(header.peer.storeId, ctx.storeId);
    if (!peer.isLeader()) return notLeaderError(peer.regionId, peer.getPeerFromCache(peer.leaderId()));
    if (header.peer.id !== peer.peerId) return otherError(`the command is for peer ${header.peer.id}, this is peer ${peer.peerId}`);
    // A command from two or more terms ago was routed with stale leadership information.
    if (header.term !== 0 && peer.term() > header.term + 1) return staleCommandError(`the command's term ${header.term} is stale`);
    const region = peer.region();
    if (epochMismatch(req, region)) {
      const e = cloneEpoch(region.regionEpoch);
      const regions = [region];
      const next = ctx.storeMeta.nextRegion(region);
      if (next !== undefined) regions.push(next); // a region split from this one may hold the key now
      return epochNotMatchError(
        `region ${region.id} is at epoch v${e.version}/c${e.confVer}, the command has v${header.regionEpoch?.version ?? 0}/c${header.regionEpoch?.confVer ?? 0}`,
        regions,
      );
    }
    if (req.adminRequest === undefined) {
      if (req.requests.length === 0) return otherError('the command has no requests');
      return checkRequests(req.requests, region);
    }
    return undefined;
  }

  private proposeAdmin(req: RaftCmdRequest, cb: Callback): void {
    const admin = req.adminRequest!;
    switch (admin.cmdType) {
      case raft_cmdpb.AdminCmdType.CompactLog:
        if (admin.compactLog === undefined) break;
        this.proposeData(req, cb);
        return;
      case raft_cmdpb.AdminCmdType.TransferLeader:
      case raft_cmdpb.AdminCmdType.ChangePeer:
      case raft_cmdpb.AdminCmdType.Split:
        // TODO(3B): transfer leader (answered at once), conf change (proposeConfChange), split (checked, then proposed).
        cb.done({
          response: errorResponse(otherError(`${raft_cmdpb.AdminCmdType[admin.cmdType]} is not supported yet (Project 3B)`), this.peer.term()),
        });
        return;
      default:
        break;
    }
    cb.done({ response: errorResponse(otherError(`malformed admin command ${String(admin.cmdType)}`), this.peer.term()) });
  }

  /**
   * Proposes `req` as a normal log entry and remembers the callback under the entry's (index, term): the
   * entry goes right after the leader's last entry, in the leader's term. The callback is answered when an
   * entry at that index is applied (see apply.ts): with the result if it is this entry, StaleCommand if not.
   */
  private proposeData(req: RaftCmdRequest, cb: Callback): void {
    // Your code here (2B): note the index (nextProposalIndex) and term the entry will get; propose the encoded request (a refused proposal is answered StaleCommand at once); record the proposal (peer.addProposal)
    throw new NotImplemented('2B', 'PeerMsgHandler.proposeData');
  }

  // ---------------------------------------------------------------------------------------------------
  // Ticks

  onRaftBaseTick(): void {
    if (this.peer.stopped) return;
    this.peer.raftGroup.tick();
    this.ctx.markDirty(this.peer);
  }

  /** Log GC check: a leader whose log holds many applied entries proposes to compact it. */
  onRaftGcLogTick(): void {
    // Your code here (2C): as leader, once applied - truncated >= raftLogGcCountLimit, propose a CompactLog admin command up to the applied index (with that entry's term); do not propose the same compaction twice
  }

  onSchedulerHeartbeatTick(): void {
    if (this.peer.stopped || !this.peer.isLeader()) return;
    this.peer.heartbeatScheduler(this.ctx);
  }

  onSplitRegionCheckTick(): void {
    // TODO(3B): as leader, when the region may have grown past regionMaxSize, scan it in the background
    // for a split key and ask the scheduler for ids (askSplit), then propose the Split.
  }

  // ---------------------------------------------------------------------------------------------------
  // Ready

  /**
   * Handles one Ready of the raft group, if it has one: persist, send, apply, advance (in this order).
   */
  async handleRaftReady(): Promise<void> {
    const { peer, ctx } = this;
    if (peer.stopped || !peer.raftGroup.hasReady()) return;
    const ready = peer.raftGroup.ready();
    // Your code here (2B): persist the ready (peer storage's saveReadyState) BEFORE anything else; if it applied a snapshot call onSnapshotApplied; then send the messages; then apply the committed entries (Applier.applyEntries); then advance the raft group (unless the peer stopped meanwhile)
    throw new NotImplemented('2B', 'PeerMsgHandler.handleRaftReady');
    // A new leader tells the scheduler at once, so clients find it without waiting for the heartbeat tick.
    if (ready.softState?.raftState === StateType.Leader) peer.heartbeatScheduler(ctx);
  }

  /** A snapshot was applied to this peer: the store's region map follows the new region. */
  onSnapshotApplied(result: ApplySnapResult): void {
    const { peer, ctx } = this;
    const meta = ctx.storeMeta;
    if (result.prevRegion.peers.length > 0) meta.removeRange(result.prevRegion.id);
    const region = peer.region();
    meta.setRegion(region);
    meta.insertRange(region);
    // Entries up to the snapshot's index were never applied here one by one: their proposals cannot be matched.
    const applied = peer.storage.appliedIndex();
    // Entries below the old compaction point may still wait for log GC: everything up to the snapshot goes.
    this.scheduleCompactLog(applied);
    const stale = peer.proposals.filter((p) => p.index <= applied);
    peer.proposals = peer.proposals.filter((p) => p.index > applied);
    for (const p of stale) p.cb.done({ response: errorResponse(staleCommandError(), peer.term()) });
    peer.logger.info('snapshot applied', { index: applied });
  }

  /**
   * After a CompactLog (or a snapshot) was applied and its truncated state written: delete the keys of the
   * entries up to `truncatedIndex` in the background. The task reports back to the actor when done.
   */
  scheduleCompactLog(truncatedIndex: number): void {
    const { peer, ctx } = this;
    const start = peer.lastCompactedIdx;
    const end = truncatedIndex + 1;
    if (end <= start) return;
    peer.lastCompactedIdx = end;
    ctx.spawn(`raft log gc of region ${peer.regionId} below ${end}`, async () => {
      const deleted = await gcRaftLog(ctx.engines.raft, peer.regionId, start, end);
      ctx.post(`raft log gc of region ${peer.regionId} done`, () => {
        peer.logger.debug('raft log entries deleted', { deleted, below: end });
      });
    });
  }
}

/** A CompactLog admin command from `peer` (the store proposes it itself: no client waits for it). */
export function newCompactLogRequest(peer: Peer, compactIndex: number, compactTerm: number): RaftCmdRequest {
  return raft_cmdpb.RaftCmdRequest({
    header: raft_cmdpb.RaftRequestHeader({ regionId: peer.regionId, peer: clonePeer(peer.meta) }),
    adminRequest: raft_cmdpb.AdminRequest({
      cmdType: raft_cmdpb.AdminCmdType.CompactLog,
      compactLog: raft_cmdpb.CompactLogRequest({ compactIndex, compactTerm }),
    }),
  });
}
