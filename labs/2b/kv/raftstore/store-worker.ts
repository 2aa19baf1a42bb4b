/**
 * Store-level handling of raft messages: a message for a region with a peer here goes to that peer; a message
 * for a region this store does not know may create an empty peer (a member added by a conf change, which
 * then waits for the leader's snapshot); stale messages for destroyed peers are dropped.
 */
import { raft_serverpb } from '#proto';
import type { StoreContext } from './context.ts';
import { getRegionLocalState } from './meta.ts';
import { Peer } from './peer.ts';
import { PeerMsgHandler } from './peer-msg-handler.ts';
import { sendTombstone } from './destroy.ts';
import { findPeerById, isEpochStale, isFirstVoteMessage, isInitialMessage } from './region-util.ts';

export class StoreWorker {
  constructor(private readonly ctx: StoreContext) {}

  /** A raft message that arrived from another store. */
  async onRaftMessage(msg: raft_serverpb.RaftMessage): Promise<void> {
    const ctx = this.ctx;
    if ((msg.message === undefined && !msg.isTombstone) || msg.fromPeer === undefined || msg.toPeer === undefined) {
      ctx.logger.warn('dropping a raft message with missing fields', { region: msg.regionId });
      return;
    }
    if (msg.toPeer.storeId !== ctx.storeId) {
      ctx.logger.warn('dropping a raft message for another store', { region: msg.regionId, to: msg.toPeer.storeId });
      return;
    }
    if (msg.regionEpoch === undefined) {
      ctx.logger.warn('dropping a raft message without a region epoch', { region: msg.regionId });
      return;
    }
    const existing = ctx.router.get(msg.regionId);
    if (existing !== undefined) {
      await new PeerMsgHandler(existing, ctx).onRaftMessage(msg);
      return;
    }
    if (msg.isTombstone) return; // the peer it wants destroyed does not exist here
    if (await this.isStaleForDestroyedRegion(msg)) return;
    const created = await this.maybeCreatePeer(msg);
    if (created !== undefined) await new PeerMsgHandler(created, ctx).onRaftMessage(msg);
  }

  /**
   * True (drop it) when this store has a persisted state for the region but no peer: a destroyed
   * (tombstone) peer, or a region whose split has not created its peer yet.
   */
  private async isStaleForDestroyedRegion(msg: raft_serverpb.RaftMessage): Promise<boolean> {
    const ctx = this.ctx;
    const local = await getRegionLocalState(ctx.engines.kv, msg.regionId);
    if (local === undefined) return false;
    if (local.state !== raft_serverpb.PeerState.Tombstone) {
      // The region exists on disk but has no peer yet (a split being applied, 3B). Keep a first vote for later.
      if (isFirstVoteMessage(msg.message!) && !ctx.storeMeta.regions.has(msg.regionId)) {
        ctx.storeMeta.holdVote(msg);
      }
      return true;
    }
    const region = local.region;
    if (region === undefined) return true;
    if (isEpochStale(msg.regionEpoch, region.regionEpoch)) {
      // The sender is behind this store's last view of the region; if it is no longer a member either, it
      // was removed without hearing of it (it keeps campaigning): tell it.
      if (findPeerById(region, msg.fromPeer!.id) === undefined) sendTombstone(ctx, region, msg.toPeer!, msg.fromPeer!);
      ctx.logger.debug('message for a destroyed peer', { region: msg.regionId });
      return true;
    }
    if ((msg.regionEpoch?.confVer ?? 0) === (region.regionEpoch?.confVer ?? 0)) {
      ctx.logger.info('message for a destroyed peer with the same conf version, dropped', { region: msg.regionId });
      return true;
    }
    return false;
  }

  /**
   * Creates an empty peer for the message's region when the message may create one (a vote request or a
   * leader's first heartbeat) and its range overlaps no region of this store. Returns the new peer.
   */
  private async maybeCreatePeer(msg: raft_serverpb.RaftMessage): Promise<Peer | undefined> {
    const ctx = this.ctx;
    const m = msg.message!;
    if (!isInitialMessage(m)) {
      ctx.logger.debug('no peer for a message that cannot create one', { region: msg.regionId, to: msg.toPeer!.id });
      return undefined;
    }
    const overlaps = ctx.storeMeta.overlapping({ startKey: msg.startKey, endKey: msg.endKey });
    if (overlaps.length > 0) {
      // Most likely a region split off a region here whose split this store has not applied yet (3B):
      // the vote is kept and replayed when the split creates the peer; other messages will be resent.
      if (isFirstVoteMessage(m)) ctx.storeMeta.holdVote(msg);
      ctx.logger.debug('message for a new region overlapping existing ones', { region: msg.regionId, overlaps: overlaps.length });
      return undefined;
    }
    const peer = await Peer.replicate(ctx, msg.regionId, msg.toPeer!);
    ctx.storeMeta.setRegion(peer.region());
    ctx.router.register(peer);
    ctx.logger.info('created an empty peer for a message', { region: msg.regionId, peer: peer.peerId });
    return peer;
  }
}
