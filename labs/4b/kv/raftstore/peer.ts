/**
 * A peer: this store's member of one region's raft group. It owns the raft group (RawNode), its storage,
 * the callbacks of the commands it proposed, and a cache of the other members (to address messages).
 * What a peer does with messages, ticks, commands and Readies is in peer-msg-handler.ts and apply.ts.
 */
import { eraftpb, metapb, raft_serverpb, schedulerpb } from '#proto';
import { RawNode } from '../../raft/rawnode.ts';
import { StateType } from '../../raft/raft.ts';
import type { Logger } from '../../util/log.ts';
import type { Callback } from './callback.ts';
import { errorResponse, staleCommandError } from './cmd-resp.ts';
import type { StoreContext } from './context.ts';
import { mergeAppends } from './message-batching.ts';
import { PeerStorage } from './peer-storage.ts';
import { cloneEpoch, clonePeer, cloneRegion, findPeerById, findPeerOnStore, isInitialMessage } from './region-util.ts';

/** A command this peer proposed, waiting for its entry (index, term) to be applied. */
export interface Proposal {
  index: number;
  term: number;
  cb: Callback;
}

export class PeerCreateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PeerCreateError';
  }
}

export class Peer {
  /** This peer (id and store). */
  readonly meta: metapb.Peer;
  readonly regionId: number;
  readonly storage: PeerStorage;
  readonly raftGroup: RawNode;
  readonly logger: Logger;
  /** Proposals waiting for their entry, in increasing index order (see addProposal). */
  private proposals: Proposal[] = [];
  /** Log GC has been scheduled for every entry below this index. */
  private logGcBelow = 0;
  private proposedCompactIndex = 0;
  private appliedCompactIndex = 0;
  private commitKnownByOthers = 0;
  private heldRemoval: number | undefined;
  private stoppedFlag = false;
  /** Bytes written since the last split check (3B). */
  private sizeDiffHint = 0;
  private measuredSize: number | undefined;
  private splitCheckRunning = false;
  /** Other members of the group, by peer id (members learned from messages too, before the region says so). */
  private readonly peerCache = new Map<number, metapb.Peer>();

  private constructor(meta: metapb.Peer, storage: PeerStorage, raftGroup: RawNode, logger: Logger) {
    this.meta = meta;
    this.regionId = storage.region.id;
    this.storage = storage;
    this.raftGroup = raftGroup;
    this.logger = logger;
  }

  /**
   * Creates the peer of `region` on this store (bootstrap, restart, split): the region must list a peer on
   * this store. Its raft group starts from the persisted state.
   */
  static async createFromRegion(ctx: StoreContext, region: metapb.Region): Promise<Peer> {
    const meta = findPeerOnStore(region, ctx.storeId);
    if (meta === undefined) {
      throw new PeerCreateError(`region ${region.id} has no peer on store ${ctx.storeId}`);
    }
    return Peer.create(ctx, region, clonePeer(meta));
  }

  /**
   * Creates an empty peer for a region this store does not know yet, because a message was sent to it
   * (a member added by a conf change): it knows only its region id and peer id, and waits for a snapshot.
   */
  static async replicate(ctx: StoreContext, regionId: number, meta: metapb.Peer): Promise<Peer> {
    const region = metapb.Region({ id: regionId, regionEpoch: metapb.RegionEpoch({ confVer: 0, version: 0 }) });
    return Peer.create(ctx, region, clonePeer(meta));
  }

  private static async create(ctx: StoreContext, region: metapb.Region, meta: metapb.Peer): Promise<Peer> {
    if (meta.id === 0) throw new PeerCreateError(`region ${region.id}: invalid peer id 0`);
    const logger = ctx.logger.with('region', region.id).with('peer', meta.id);
    const storage = await PeerStorage.open(ctx.engines, region, { runner: ctx, logger });
    const raftGroup = new RawNode({
      id: meta.id,
      electionTick: ctx.cfg.raftElectionTimeoutTicks,
      heartbeatTick: ctx.cfg.raftHeartbeatTicks,
      applied: storage.appliedIndex(),
      storage,
      random: ctx.runtime.random,
    });
    const peer = new Peer(meta, storage, raftGroup, logger);
    peer.forgetSize(ctx);
    // A region with a single member (this one) needs no election: become leader at once.
    if (region.peers.length === 1 && region.peers[0]!.storeId === ctx.storeId) peer.raftGroup.campaign();
    logger.info('peer created', { initialized: storage.isInitialized(), applied: storage.appliedIndex() });
    return peer;
  }

  region(): metapb.Region {
    return this.storage.region;
  }

  // ---- lifecycle ----

  /** Set when the peer is destroyed or the store stops: it handles nothing any more. */
  get stopped(): boolean {
    return this.stoppedFlag;
  }

  stop(): void {
    this.stoppedFlag = true;
  }

  // ---- log GC bookkeeping (2C) ----

  /** The highest compact index this peer proposed as leader (so a pending CompactLog is not proposed again). */
  get lastProposedCompactIndex(): number {
    return this.proposedCompactIndex;
  }

  noteCompactLogProposed(compactIndex: number): void {
    this.proposedCompactIndex = Math.max(this.proposedCompactIndex, compactIndex);
  }

  /**
   * The compact index of the last CompactLog this peer applied since it started (0: none yet). Every member
   * that applied that entry has truncated its log at least that far, so no member's log holds more than
   * applied - this entries; the log GC tick counts from here (see onRaftGcLogTick).
   */
  get lastAppliedCompactIndex(): number {
    return this.appliedCompactIndex;
  }

  noteCompactLogApplied(compactIndex: number): void {
    this.appliedCompactIndex = Math.max(this.appliedCompactIndex, compactIndex);
  }

  /**
   * The log was truncated up to `truncatedIndex`: the range [start, end) of log keys not yet handed to log GC,
   * now handed over (undefined when there is none).
   */
  takeLogGcRange(truncatedIndex: number): { start: number; end: number } | undefined {
    const start = this.logGcBelow;
    const end = truncatedIndex + 1;
    if (end <= start) return undefined;
    this.logGcBelow = end;
    return { start, end };
  }

  // ---- removal of this peer (3B) ----

  /**
   * The highest commit index another member has sent this peer (in an append or a heartbeat): that member
   * knows every entry up to it is committed. A conf change that removes this peer waits for it (see
   * PeerMsgHandler.holdOwnRemoval).
   */
  get commitKnownElsewhere(): number {
    return this.commitKnownByOthers;
  }

  noteCommitFromOther(commit: number): void {
    this.commitKnownByOthers = Math.max(this.commitKnownByOthers, commit);
  }

  /** The conf change removing this peer that is held back from applying, if any. */
  get heldRemovalIndex(): number | undefined {
    return this.heldRemoval;
  }

  /** Holds back the removal at `index`; true if it was not held already (worth a log line). */
  holdRemoval(index: number): boolean {
    const fresh = this.heldRemoval !== index;
    this.heldRemoval = index;
    return fresh;
  }

  releaseRemoval(): void {
    this.heldRemoval = undefined;
  }

  // ---- size of the region (3B: the split checker) ----

  /** The region's size as last measured by the split checker, if known. */
  get approximateSize(): number | undefined {
    return this.measuredSize;
  }

  /** A Put of `bytes` (as stored) was applied. */
  noteWrite(bytes: number): void {
    this.sizeDiffHint += bytes;
  }

  /** A Delete of a key of `bytes` was applied. */
  noteDelete(bytes: number): void {
    this.sizeDiffHint = Math.max(0, this.sizeDiffHint - bytes);
  }

  /** The region was split: the left part's size is not known, and no writes count towards the next check. */
  resetSizeHints(): void {
    this.sizeDiffHint = 0;
    this.measuredSize = undefined;
  }

  /**
   * The region's size is not known (the peer was just created from disk, by a split or restart, or its data
   * came whole from a snapshot): the split checker measures it at its next tick, if this peer leads.
   */
  forgetSize(ctx: StoreContext): void {
    this.measuredSize = undefined;
    this.sizeDiffHint = Math.max(this.sizeDiffHint, ctx.cfg.regionSplitSize / 8);
  }

  /**
   * Starts a split check if enough was written since the last one (`threshold` bytes) and none is running;
   * returns whether it started.
   */
  startSplitCheck(threshold: number): boolean {
    if (this.splitCheckRunning || this.sizeDiffHint < threshold) return false;
    this.sizeDiffHint = 0;
    this.splitCheckRunning = true;
    return true;
  }

  /** The split check finished; `size` is what it measured (undefined: it failed). */
  finishSplitCheck(size: number | undefined): void {
    this.splitCheckRunning = false;
    if (size !== undefined) this.measuredSize = size;
  }

  /** Replace the region (the caller has persisted it and updates the store's region map). */
  setRegion(region: metapb.Region): void {
    this.storage.setRegion(region);
  }

  isInitialized(): boolean {
    return this.storage.isInitialized();
  }

  get peerId(): number {
    return this.meta.id;
  }

  get storeId(): number {
    return this.meta.storeId;
  }

  isLeader(): boolean {
    return this.raftGroup.status().raftState === StateType.Leader;
  }

  leaderId(): number {
    return this.raftGroup.status().lead;
  }

  term(): number {
    return this.raftGroup.status().term;
  }

  /**
   * Records a proposal, keeping the list ordered by index. A new proposal normally has the largest index;
   * after this peer lost and regained leadership its log may be shorter than its oldest waiting proposals,
   * and both stay: whichever entry is applied at an index decides which of them (if any) succeeded.
   */
  addProposal(p: Proposal): void {
    let at = this.proposals.length;
    while (at > 0 && this.proposals[at - 1]!.index > p.index) at--;
    this.proposals.splice(at, 0, p);
  }

  /**
   * Removes and returns the waiting proposals at or before `index`, oldest first. The one at `index` whose term
   * is the entry's is that entry's proposal; every other one can never be applied any more.
   */
  takeProposalsUpTo(index: number): Proposal[] {
    let n = 0;
    while (n < this.proposals.length && this.proposals[n]!.index <= index) n++;
    return this.proposals.splice(0, n);
  }

  /** How many proposals wait for their entry. */
  pendingProposals(): number {
    return this.proposals.length;
  }

  insertPeerCache(peer: metapb.Peer): void {
    this.peerCache.set(peer.id, clonePeer(peer));
  }

  removePeerCache(peerId: number): void {
    this.peerCache.delete(peerId);
  }

  /** The member with id `peerId` (from the cache, else the region), or undefined if unknown. */
  getPeerFromCache(peerId: number): metapb.Peer | undefined {
    const cached = this.peerCache.get(peerId);
    if (cached !== undefined) return cached;
    const inRegion = findPeerById(this.region(), peerId);
    if (inRegion !== undefined) this.insertPeerCache(inRegion);
    return inRegion;
  }

  /** Wraps raft messages with routing facts and hands them to the transport (appends that continue each other as one). */
  sendRaftMessages(ctx: StoreContext, messages: eraftpb.Message[]): void {
    for (const m of mergeAppends(messages)) {
      const to = this.getPeerFromCache(m.to);
      if (to === undefined) {
        this.logger.warn('cannot send: unknown peer', { to: m.to, type: eraftpb.MessageType[m.msgType] });
        continue;
      }
      const region = this.region();
      const msg = raft_serverpb.RaftMessage({
        regionId: this.regionId,
        fromPeer: clonePeer(this.meta),
        toPeer: clonePeer(to),
        message: m,
        regionEpoch: cloneEpoch(region.regionEpoch),
      });
      // A message that may create the target peer carries the range, so the target's store can check it
      // against its own regions first (3B).
      if (this.isInitialized() && isInitialMessage(m)) {
        msg.startKey = Uint8Array.from(region.startKey);
        msg.endKey = Uint8Array.from(region.endKey);
      }
      ctx.transport.send(to.storeId, msg);
    }
  }

  /** Members whose log is so far behind that they need a snapshot (only a leader knows). */
  collectPendingPeers(): metapb.Peer[] {
    const pending: metapb.Peer[] = [];
    const truncated = this.storage.truncatedIndex();
    for (const [id, progress] of this.raftGroup.getProgress()) {
      if (id === this.peerId || progress.match >= truncated) continue;
      const peer = this.getPeerFromCache(id);
      if (peer !== undefined) pending.push(clonePeer(peer));
    }
    return pending;
  }

  /** Tell the scheduler about this region (leaders only, the caller checks). */
  heartbeatScheduler(ctx: StoreContext): void {
    ctx.scheduler.regionHeartbeat(
      schedulerpb.RegionHeartbeatRequest({
        region: cloneRegion(this.region()),
        leader: clonePeer(this.meta),
        pendingPeers: this.collectPendingPeers(),
        approximateSize: this.approximateSize ?? 0,
      }),
    );
  }

  /** Answer every waiting proposal with `error` (the peer is going away or the store stops). */
  answerAllProposals(error = staleCommandError('the peer stopped before the command was applied')): void {
    const proposals = this.proposals;
    this.proposals = [];
    for (const p of proposals) p.cb.done({ response: errorResponse(error, this.term()) });
  }
}

