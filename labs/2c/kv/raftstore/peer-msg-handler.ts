/**
 * What a peer does with what reaches it: raft messages from other stores, commands from clients, ticks,
 * and — at the end of every job of the store's actor — the Ready of its raft group.
 *
 * Handling a Ready, in this order (the order is the point):
 *   1. persist the new entries, the hard state and any snapshot (PeerStorage.saveReadyState);
 *   2. only then send the messages (a vote or an append acknowledgement promises what is on disk);
 *   3. apply the committed entries to the kv engine and answer the waiting proposals (apply.ts);
 *   4. advance the raft group.
 *
 * Admin commands (3B): TransferLeader is answered at once (raft hands leadership over); ChangePeer becomes a
 * ConfChange entry carrying the whole command; Split is checked and proposed like data. Tombstone messages
 * and messages for a newer peer of the region destroy a peer that was removed (destroy.ts).
 */
import { decode, encode, eraftpb, metapb, raft_cmdpb, raft_serverpb, schedulerpb } from '#proto';
import { RaftError } from '../../raft/errors.ts';
import { StateType, type SoftState } from '../../raft/raft.ts';
import type { Ready } from '../../raft/rawnode.ts';
import { NotImplemented } from '../../util/not-implemented.ts';
import { Applier, type ApplyResult } from './apply.ts';
import { checkRequests, epochMismatch } from './command-checks.ts';
import { onceCallback, type Callback } from './callback.ts';
import {
  epochNotMatchError,
  errorResponse,
  keyNotInRegionError,
  newCmdResponse,
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
import { destroyPeer, finishDestroy, sendTombstone } from './destroy.ts';
import { createSplitPeer } from './split-peer.ts';
import { clonePeer, cloneEpoch, cloneRegion, findPeerById, isEpochStale, keyInRegion } from './region-util.ts';
import { checkRegionSplit, type SplitCheckResult } from './split-check.ts';
import { checkSplitRequest } from './split.ts';
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
  async onRaftMessage(msg: raft_serverpb.RaftMessage): Promise<void> {
    const { peer, ctx } = this;
    if (peer.stopped) return;
    if (msg.fromPeer === undefined || msg.toPeer === undefined || msg.regionEpoch === undefined) {
      peer.logger.warn('dropping a raft message with missing fields');
      return;
    }
    if (msg.toPeer.storeId !== ctx.storeId) {
      peer.logger.warn('dropping a raft message for another store', { to: msg.toPeer.storeId });
      return;
    }
    if (msg.isTombstone) {
      await this.onTombstoneMessage(msg);
      return;
    }
    const m = msg.message;
    if (m === undefined) {
      peer.logger.warn('dropping a raft message without a raft message inside');
      return;
    }
    if (await this.isStaleMessage(msg)) return;
    if ((m.msgType === MessageType.MsgAppend || m.msgType === MessageType.MsgHeartbeat) && msg.fromPeer.id !== peer.peerId) {
      peer.noteCommitFromOther(m.commit);
    }
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

  /**
   * A member with a newer view of the region says this peer is no longer in it (3B): destroy this peer if
   * the message is meant for it and its epoch is newer than this peer's.
   */
  private async onTombstoneMessage(msg: raft_serverpb.RaftMessage): Promise<void> {
    const { peer, ctx } = this;
    const ours = cloneEpoch(peer.region().regionEpoch);
    const theirs = cloneEpoch(msg.regionEpoch);
    if (msg.toPeer!.id !== peer.peerId || theirs.confVer <= ours.confVer) {
      peer.logger.debug('tombstone message ignored', { to: msg.toPeer!.id, confVer: theirs.confVer });
      return;
    }
    await destroyPeer(ctx, peer, `peer ${msg.fromPeer!.id} says this peer was removed (conf_ver ${theirs.confVer} > ${ours.confVer})`);
  }

  /** True (drop it) when the message is meant for an older or newer incarnation of this peer, or is stale. */
  private async isStaleMessage(msg: raft_serverpb.RaftMessage): Promise<boolean> {
    const { peer, ctx } = this;
    const region = peer.region();
    const from = msg.fromPeer!;
    const to = msg.toPeer!;
    if (isEpochStale(msg.regionEpoch, region.regionEpoch) && findPeerById(region, from.id) === undefined) {
      // A member that was removed while it could not hear about it: tell it to destroy itself.
      if (peer.isInitialized()) sendTombstone(ctx, region, peer.meta, from);
      peer.logger.debug('stale message from a removed peer', { from: from.id });
      return true;
    }
    if (to.id < peer.peerId) {
      peer.logger.debug('message for an older peer of this region', { to: to.id });
      return true;
    }
    if (to.id > peer.peerId) {
      // This peer was removed and the region later added a new peer on this store: make way for it.
      await destroyPeer(ctx, peer, `a message is for peer ${to.id}, a newer peer of this region on this store`);
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
        if (admin.transferLeader?.peer === undefined) break;
        this.proposeTransferLeader(admin.transferLeader.peer, cb);
        return;
      case raft_cmdpb.AdminCmdType.ChangePeer:
        if (admin.changePeer?.peer === undefined) break;
        this.proposeConfChange(req, cb);
        return;
      case raft_cmdpb.AdminCmdType.Split:
        if (admin.split === undefined) break;
        this.proposeSplit(req, cb);
        return;
      default:
        break;
    }
    cb.done({ response: errorResponse(otherError(`malformed admin command ${String(admin.cmdType)}`), this.peer.term()) });
  }

  /**
   * TransferLeader is not replicated: the leader asks its raft group to hand over and answers at once.
   * The client sees the new leader in the scheduler's heartbeats (or retries).
   */
  private proposeTransferLeader(target: metapb.Peer, cb: Callback): void {
    // Your code here (3B): ask the raft group to transfer leadership to the target peer (RawNode.transferLeader) and answer at once with a TransferLeader admin response
    throw new NotImplemented('3B', 'PeerMsgHandler.proposeTransferLeader');
    // End of your code (3B).
  }

  /**
   * A membership change goes through the log as a ConfChange entry; the whole admin command travels in the
   * ConfChange's context, so every peer applying it can check its epoch again.
   *
   * A leader asked to remove itself hands leadership over first and refuses the command (the scheduler
   * asks the new leader again). Removing itself directly can leave the group stuck: in a group of two, the
   * survivor may never learn that the removal committed, and can never win an election without the
   * removed peer's vote.
   */
  private proposeConfChange(req: RaftCmdRequest, cb: Callback): void {
    // Your code here (3B): refuse to remove the leader itself (transfer leadership to another member first and answer an error); otherwise build a ConfChange (change type, node id = the peer's id, context = the encoded request), propose it (RawNode.proposeConfChange; unless it was appended, answer StaleCommand at once) and record the proposal at the index and term it got, like proposeData
    throw new NotImplemented('3B', 'PeerMsgHandler.proposeConfChange');
    // End of your code (3B).
  }

  /** The member (other than this leader) with the most of the log: the best one to lead next. */
  private bestSuccessor(): number | undefined {
    let best: { id: number; match: number } | undefined;
    for (const [id, progress] of this.peer.raftGroup.getProgress()) {
      if (id === this.peer.peerId) continue;
      if (best === undefined || progress.match > best.match) best = { id, match: progress.match };
    }
    return best?.id;
  }

  /** A Split is checked against the region now (it is checked again when applied), then proposed as an entry. */
  private proposeSplit(req: RaftCmdRequest, cb: Callback): void {
    // Your code here (3B): refuse a split whose key is not inside the region (KeyNotInRegion) or that checkSplitRequest rejects; otherwise propose it like a data command (proposeData)
    throw new NotImplemented('3B', 'PeerMsgHandler.proposeSplit');
    // End of your code (3B).
  }

  /**
   * Proposes `req` as a normal log entry and remembers the callback under the entry's (index, term), as raft
   * reports them. The callback is answered when an entry at that index is applied (see apply.ts): with the
   * result if it is this entry, StaleCommand if not.
   */
  private proposeData(req: RaftCmdRequest, cb: Callback): void {
    // Your code here (2B): propose the encoded request (RawNode.propose says where it went); unless it was appended, answer StaleCommand at once; else record the proposal at the index and term it got (peer.addProposal)
    const { peer, ctx } = this;
    const placed = peer.raftGroup.propose(encode('raft_cmdpb.RaftCmdRequest', req));
    if (placed.outcome !== 'appended') {
      const why = placed.outcome === 'dropped' ? `proposal dropped: ${placed.reason}` : 'the proposal was not appended to the log';
      cb.done({ response: errorResponse(staleCommandError(why), peer.term()) });
      return;
    }
    peer.addProposal({ index: placed.index, term: placed.term, cb });
    ctx.markDirty(peer);
    // End of your code (2B).
  }

  // ---------------------------------------------------------------------------------------------------
  // Ticks

  onRaftBaseTick(): void {
    if (this.peer.stopped) return;
    this.peer.raftGroup.tick();
    this.ctx.markDirty(this.peer);
  }

  /**
   * Log GC check: as leader, propose a CompactLog up to the applied index once the region's longest log
   * may hold raftLogGcCountLimit applied entries.
   *
   * The count starts at the last compaction the whole region went through (the compact index of the last
   * CompactLog this peer applied), not at this peer's own truncated index: a peer whose log began with a
   * snapshot has a short log of its own while the members that applied every entry keep theirs from the
   * last CompactLog. A peer that has applied none since it started (restarted, or created from a snapshot)
   * cannot tell where the others' logs start, and counts from 0: it compacts soon after becoming leader.
   */
  onRaftGcLogTick(): void {
    const { peer, ctx } = this;
    if (peer.stopped || !peer.isLeader()) return;
    const applied = peer.storage.appliedIndex();
    if (applied - peer.lastAppliedCompactIndex < ctx.cfg.raftLogGcCountLimit) return;
    if (applied <= peer.lastProposedCompactIndex) return; // proposed already; the applied index has not moved since
    const term = peer.storage.term(applied);
    peer.noteCompactLogProposed(applied);
    const req = newCompactLogRequest(peer, applied, term);
    this.proposeRaftCommand(
      req,
      onceCallback(({ response }) => {
        const error = response.header?.error;
        if (error !== undefined) peer.logger.debug('CompactLog not applied', { error: error.message });
      }),
    );
  }

  onSchedulerHeartbeatTick(): void {
    if (this.peer.stopped || !this.peer.isLeader()) return;
    this.peer.heartbeatScheduler(this.ctx);
  }

  /**
   * Split check (3B): a leader whose region has taken enough writes since the last check measures it in the
   * background; if it is bigger than regionMaxSize, it asks the scheduler for ids and proposes a Split.
   */
  onSplitRegionCheckTick(): void {
    const { peer, ctx } = this;
    if (peer.stopped || !peer.isLeader()) return;
    if (!peer.startSplitCheck(ctx.cfg.regionSplitSize / 8)) return;
    const region = cloneRegion(peer.region());
    // Taken now, between jobs: the engine holds exactly what was applied so far.
    const view = ctx.engines.kv.snapshot();
    ctx.spawn(`split check of region ${region.id}`, async () => {
      let outcome: SplitCheckResult | Error;
      try {
        outcome = await checkRegionSplit(view, region, ctx.cfg.regionMaxSize, ctx.cfg.regionSplitSize);
      } catch (err) {
        outcome = err instanceof Error ? err : new Error(String(err));
      } finally {
        await view.close();
      }
      ctx.post(`split check of region ${region.id} done`, () => new PeerMsgHandler(peer, ctx).onSplitCheckResult(region, outcome));
    });
  }

  /** The background split check measured `checked` (the region as it was then). */
  private onSplitCheckResult(checked: metapb.Region, outcome: SplitCheckResult | Error): void {
    const { peer, ctx } = this;
    peer.finishSplitCheck(outcome instanceof Error ? undefined : outcome.size);
    if (peer.stopped) return;
    if (outcome instanceof Error) {
      peer.logger.error('split check failed', { error: outcome.message });
      return;
    }
    const splitKey = outcome.splitKey;
    if (splitKey === undefined || !peer.isLeader()) return;
    if (cloneEpoch(peer.region().regionEpoch).version !== cloneEpoch(checked.regionEpoch).version) return; // the range changed meanwhile
    peer.logger.info('region is too big: asking the scheduler for a split', { size: outcome.size });
    ctx.scheduler.askSplit(cloneRegion(peer.region()), (answer) =>
      ctx.post(`askSplit answer for region ${peer.regionId}`, () => new PeerMsgHandler(peer, ctx).proposeSplitWithIds(splitKey, answer)),
    );
  }

  /** The scheduler answered an askSplit: propose the split at `splitKey` with the ids it gave. */
  private proposeSplitWithIds(splitKey: Uint8Array, answer: schedulerpb.AskSplitResponse | Error): void {
    const { peer } = this;
    if (peer.stopped || !peer.isLeader()) return;
    if (answer instanceof Error) {
      peer.logger.info('the scheduler refused a split', { error: answer.message });
      return;
    }
    const req = raft_cmdpb.RaftCmdRequest({
      header: raft_cmdpb.RaftRequestHeader({
        regionId: peer.regionId,
        peer: clonePeer(peer.meta),
        regionEpoch: cloneEpoch(peer.region().regionEpoch),
      }),
      adminRequest: raft_cmdpb.AdminRequest({
        cmdType: raft_cmdpb.AdminCmdType.Split,
        split: raft_cmdpb.SplitRequest({ splitKey, newRegionId: answer.newRegionId, newPeerIds: [...answer.newPeerIds] }),
      }),
    });
    this.proposeRaftCommand(
      req,
      onceCallback(({ response }) => {
        const error = response.header?.error;
        if (error !== undefined) peer.logger.info('split not applied', { error: error.message });
      }),
    );
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
    if (this.holdOwnRemoval(ready) && isEmptyReady(ready)) return;
    // Your code here (2B): persist the ready (peer storage's saveReadyState) BEFORE anything else; if it applied a snapshot call onSnapshotApplied; then send the messages; then apply the committed entries (Applier.applyEntries) and act on what it returns (actOnApplied); then advance the raft group (unless the peer stopped meanwhile)
    const snapResult = await peer.storage.saveReadyState(ready);
    if (snapResult !== undefined) this.onSnapshotApplied(snapResult);
    peer.sendRaftMessages(ctx, ready.messages);
    if (ready.committedEntries.length > 0) await this.actOnApplied(await new Applier(peer, ctx).applyEntries(ready.committedEntries));
    if (peer.stopped) return;
    peer.raftGroup.advance(ready);
    // End of your code (2B).
    this.logRoleChange(ready.softState);
    // A new leader tells the scheduler at once, so clients find it without waiting for the heartbeat tick.
    if (ready.softState?.raftState === StateType.Leader) peer.heartbeatScheduler(ctx);
  }

  /** A role change is worth a log line: who leads, from when, is what one looks for first in a failure. */
  private logRoleChange(soft: SoftState | undefined): void {
    if (soft === undefined) return;
    this.peer.logger.info('role changed', { role: StateType[soft.raftState], term: this.peer.term(), leader: soft.lead });
  }

  /**
   * A conf change that removes this peer is applied (and the peer destroyed) only once another member has
   * shown that it knows the entry is committed (it sent this peer a commit index that covers it). Until then
   * the committed entries from that one on are taken out of `ready` (raft hands them out again later), and
   * a leader hands leadership to its most up-to-date follower, whose own commit will then tell this peer.
   * Why (3B): if this peer led when its removal committed and vanished before the others heard of the
   * commit, a region of two would be left with one member that still counts the removed one, and that
   * cannot win an election without its vote. Returns true when something was held back.
   */
  private holdOwnRemoval(ready: Ready): boolean {
    const { peer, ctx } = this;
    const at = ready.committedEntries.findIndex((e) => removesPeer(e, peer.peerId));
    if (at < 0) {
      peer.releaseRemoval();
      return false;
    }
    const entry = ready.committedEntries[at]!;
    const othersRemain = peer.region().peers.some((p) => p.id !== peer.peerId);
    if (peer.commitKnownElsewhere >= entry.index || !othersRemain) {
      peer.releaseRemoval();
      return false;
    }
    ready.committedEntries = ready.committedEntries.slice(0, at);
    if (peer.holdRemoval(entry.index)) {
      peer.logger.info('holding back the conf change that removes this peer until another member knows it is committed', {
        index: entry.index,
        knownElsewhere: peer.commitKnownElsewhere,
      });
    }
    if (peer.isLeader()) {
      const successor = this.bestSuccessor();
      if (successor !== undefined) {
        peer.raftGroup.transferLeader(successor);
        ctx.markDirty(peer);
      }
    }
    return true;
  }

  /**
   * Acts on what applying did, write by write: answers the proposals the write allows, then acts on its
   * effects on the store; a peer that was removed is destroyed last.
   */
  async actOnApplied(applied: ApplyResult): Promise<void> {
    const { peer, ctx } = this;
    let destroyed = false;
    for (const batch of applied.batches) {
      for (const { cb, result } of batch.answers) cb.done(result);
      for (const effect of batch.effects) {
        switch (effect.kind) {
          case 'compacted':
            peer.logger.debug('log compacted', { index: effect.index, term: peer.storage.truncatedTerm() });
            this.scheduleCompactLog(effect.index);
            break;
          case 'split': {
            const { peer: created, heldVotes } = await createSplitPeer(ctx, effect.region, peer.isLeader());
            for (const vote of heldVotes) await new PeerMsgHandler(created, ctx).onRaftMessage(vote);
            break;
          }
          case 'regionChanged':
            if (peer.isLeader()) peer.heartbeatScheduler(ctx);
            break;
          case 'destroyed':
            destroyed = true;
            break;
        }
      }
      // Those waiting for this write's answers go first, before the store acts on the next write: clients
      // hear back and the store acts in the order of the writes.
      await Promise.resolve();
    }
    if (destroyed) await finishDestroy(ctx, peer);
  }

  /** A snapshot was applied to this peer: the store's region map follows the new region. */
  onSnapshotApplied(result: ApplySnapResult): void {
    const { peer, ctx } = this;
    // Your code here (3B): the store's region map and range index must follow the snapshot's region: drop the old range (if the peer had one), record the new region and insert its range
    // End of your code (3B).
    // The region's data came whole from the snapshot: its size is unknown until the split checker measures it.
    peer.forgetSize(ctx);
    // Entries up to the snapshot's index were never applied here one by one: their proposals cannot be matched.
    const applied = peer.storage.appliedIndex();
    // Entries below the old compaction point may still wait for log GC: everything up to the snapshot goes.
    this.scheduleCompactLog(applied);
    for (const p of peer.takeProposalsUpTo(applied)) p.cb.done({ response: errorResponse(staleCommandError(), peer.term()) });
    peer.logger.info('snapshot applied', { index: applied });
  }

  /**
   * After a CompactLog (or a snapshot) was applied and its truncated state written: delete the keys of the
   * entries up to `truncatedIndex` in the background. The task reports back to the actor when done.
   */
  scheduleCompactLog(truncatedIndex: number): void {
    const { peer, ctx } = this;
    const range = peer.takeLogGcRange(truncatedIndex);
    if (range === undefined) return;
    const { start, end } = range;
    ctx.spawn(`raft log gc of region ${peer.regionId} below ${end}`, async () => {
      const deleted = await gcRaftLog(ctx.engines.raft, peer.regionId, start, end);
      ctx.post(`raft log gc of region ${peer.regionId} done`, () => {
        peer.logger.debug('raft log entries deleted', { deleted, below: end });
      });
    });
  }
}

/** True when `entry` is a conf change entry that removes the peer with id `peerId`. */
function removesPeer(entry: eraftpb.Entry, peerId: number): boolean {
  if (entry.entryType !== eraftpb.EntryType.EntryConfChange) return false;
  try {
    const cc = decode('eraftpb.ConfChange', entry.data);
    return cc.changeType === eraftpb.ConfChangeType.RemoveNode && cc.nodeId === peerId;
  } catch {
    return false; // not a conf change: the applier skips it
  }
}

/** Nothing to persist, send or apply. */
function isEmptyReady(ready: Ready): boolean {
  return (
    ready.softState === undefined &&
    ready.hardState === undefined &&
    ready.snapshot === undefined &&
    ready.entries.length === 0 &&
    ready.committedEntries.length === 0 &&
    ready.messages.length === 0
  );
}

/** A CompactLog admin command from `peer` (the store proposes it itself: no client waits for it). */
function newCompactLogRequest(peer: Peer, compactIndex: number, compactTerm: number): RaftCmdRequest {
  return raft_cmdpb.RaftCmdRequest({
    header: raft_cmdpb.RaftRequestHeader({ regionId: peer.regionId, peer: clonePeer(peer.meta) }),
    adminRequest: raft_cmdpb.AdminRequest({
      cmdType: raft_cmdpb.AdminCmdType.CompactLog,
      compactLog: raft_cmdpb.CompactLogRequest({ compactIndex, compactTerm }),
    }),
  });
}
