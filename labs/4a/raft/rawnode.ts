/**
 * RawNode: the application's handle on a Raft.
 *
 * The application's loop: tick() on a timer, step() every message that arrives, propose() client data,
 * and whenever hasReady(), take ready(), then in this order persist its hard state, entries and snapshot,
 * send its messages, apply its committed entries, and call advance(ready).
 */
import { eraftpb } from '#proto';
import { encode } from '#proto/codec.ts';
import { NotImplemented } from '../util/not-implemented.ts';
import { ProposalDroppedError, StepLocalMsgError, StepPeerNotFoundError } from './errors.ts';
import { NONE, Progress, Raft, StateType, type Config, type SoftState } from './raft.ts';
import { isHardStateEqual, isLocalMsg, isResponseMsg, isSoftStateEqual } from './util.ts';

type Entry = eraftpb.Entry;
type Message = eraftpb.Message;
type HardState = eraftpb.HardState;
type Snapshot = eraftpb.Snapshot;
type ConfChange = eraftpb.ConfChange;
type ConfState = eraftpb.ConfState;
const { MessageType, EntryType, ConfChangeType } = eraftpb;

/**
 * What became of a proposal, reported one way whatever the reason: appended to this node's log (it leads) at
 * `index` in `term`; forwarded to the leader (this node follows one: the entry's index is not known here); or
 * dropped, with the reason (no leader known, leadership being transferred, a conf change still pending...).
 */
export type ProposeResult =
  | { readonly outcome: 'appended'; readonly index: number; readonly term: number }
  | { readonly outcome: 'forwarded'; readonly to: number }
  | { readonly outcome: 'dropped'; readonly reason: string };

/** A snapshot of raft's state for the application (etcd's BasicStatus): copies, never live objects. */
export interface RaftStatus {
  readonly id: number;
  readonly term: number;
  readonly vote: number;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  /** The leader this node knows of (NONE: none). */
  readonly lead: number;
  readonly raftState: StateType;
  /** The member leadership is being handed to (NONE: no transfer under way). */
  readonly leadTransferee: number;
}

/** What raft has for the application since the last advance(). Every field is read-only for the application. */
export interface Ready {
  /** The leader and role, present only when they changed since the last Ready. */
  softState?: SoftState;
  /** Term, vote and commit to persist, present only when they changed since the last advance(). */
  hardState?: HardState;
  /** Entries to persist (before sending messages). */
  entries: Entry[];
  /** A snapshot to persist and apply (2C). */
  snapshot?: Snapshot;
  /** Committed entries to apply to the state machine (they have been persisted before). */
  committedEntries: Entry[];
  /** Messages to send once the entries and hard state are persisted. */
  messages: Message[];
}

export class RawNode {
  raft: Raft;
  /** The soft state last handed out in a Ready. */
  private prevSoftState: SoftState;
  /** The hard state last acknowledged by advance() (or loaded at start). */
  private prevHardState: HardState;

  constructor(config: Config) {
    this.raft = new Raft(config);
    this.prevSoftState = this.raft.softState();
    this.prevHardState = this.raft.hardState();
  }

  /** Advances the logical clock by one tick. */
  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now. */
  campaign(): void {
    this.raft.step(eraftpb.Message({ msgType: MessageType.MsgHup, from: this.raft.id, to: this.raft.id }));
  }

  /** Proposes data to append to the log; says where it went (see ProposeResult). */
  propose(data: Uint8Array): ProposeResult {
    // A literal: eraftpb.Entry({ data }) would allocate a default data array only to replace it.
    return this.proposeEntry({ entryType: EntryType.EntryNormal, term: 0, index: 0, data });
  }

  /** Proposes a membership change (the entry carries the encoded ConfChange); says where it went. */
  proposeConfChange(cc: ConfChange): ProposeResult {
    return this.proposeEntry(eraftpb.Entry({ entryType: EntryType.EntryConfChange, data: encode('eraftpb.ConfChange', cc) }));
  }

  private proposeEntry(entry: Entry): ProposeResult {
    const raft = this.raft;
    const lastBefore = raft.raftLog.lastIndex();
    const outbox = raft.msgs.length;
    try {
      raft.step(eraftpb.Message({ msgType: MessageType.MsgPropose, from: raft.id, to: raft.id, entries: [entry] }));
    } catch (err) {
      if (err instanceof ProposalDroppedError) return { outcome: 'dropped', reason: err.message };
      throw err;
    }
    const last = raft.raftLog.lastIndex();
    if (last === lastBefore + 1) return { outcome: 'appended', index: last, term: raft.raftLog.term(last) };
    const forward = raft.msgs.slice(outbox).find((m) => m.msgType === MessageType.MsgPropose);
    if (forward !== undefined) return { outcome: 'forwarded', to: forward.to };
    return { outcome: 'dropped', reason: `node ${raft.id} neither appended nor forwarded the proposal` };
  }

  /** Raft's state now (term, vote, commit, applied, last index, leader, role, transfer), as a copy. */
  status(): RaftStatus {
    const raft = this.raft;
    const log = raft.raftLog;
    return {
      id: raft.id,
      term: raft.term,
      vote: raft.vote,
      commit: log.committed,
      applied: log.applied,
      lastIndex: log.lastIndex(),
      lead: raft.lead,
      raftState: raft.state,
      leadTransferee: raft.leadTransferee,
    };
  }

  /** Applies a committed membership change to raft; returns the resulting membership. */
  applyConfChange(cc: ConfChange): ConfState {
    if (cc.nodeId !== NONE) {
      switch (cc.changeType) {
        case ConfChangeType.AddNode:
          this.raft.addNode(cc.nodeId);
          break;
        case ConfChangeType.RemoveNode:
          this.raft.removeNode(cc.nodeId);
          break;
        default:
          throw new RangeError(`applyConfChange: unknown change type ${String(cc.changeType)}`);
      }
    }
    return eraftpb.ConfState({ nodes: [...this.raft.prs.keys()].sort((a, b) => a - b) });
  }

  /**
   * Steps a message received from the network. Throws StepLocalMsgError for local message types and
   * StepPeerNotFoundError for a response from a non-member.
   */
  step(m: Message): void {
    if (isLocalMsg(m.msgType)) {
      throw new StepLocalMsgError(`raft: cannot step local message ${MessageType[m.msgType]} from the network`);
    }
    if (isResponseMsg(m.msgType) && !this.raft.prs.has(m.from)) {
      throw new StepPeerNotFoundError(`raft: ${MessageType[m.msgType]} from node ${m.from}, which is not a member`);
    }
    this.raft.step(m);
  }

  /** Everything raft has for the application now. The messages are handed out once: a second Ready does not repeat them. */
  ready(): Ready {
    // Your code here (2AC): collect unstable entries, committed-but-unapplied entries and the pending snapshot; hand the messages over and clear them; include soft and hard state only when they changed
    const raft = this.raft;
    const log = raft.raftLog;
    const rd: Ready = {
      entries: log.unstableEntries(),
      committedEntries: log.nextEnts(),
      messages: raft.msgs,
    };
    raft.msgs = [];
    const soft = raft.softState();
    if (!isSoftStateEqual(soft, this.prevSoftState)) {
      rd.softState = soft;
      this.prevSoftState = soft;
    }
    const hard = raft.hardState();
    if (!isHardStateEqual(hard, this.prevHardState)) rd.hardState = hard;
    if (log.pendingSnapshot) rd.snapshot = log.pendingSnapshot;
    return rd;
    // End of your code (2AC).
  }

  /** True when ready() would return something to do. */
  hasReady(): boolean {
    // Your code here (2AC): anything new: soft or hard state changed, unstable entries, entries to apply, messages, a pending snapshot
    const raft = this.raft;
    const log = raft.raftLog;
    return (
      !isSoftStateEqual(raft.softState(), this.prevSoftState) ||
      !isHardStateEqual(raft.hardState(), this.prevHardState) ||
      log.lastIndex() > log.stabled ||
      log.committed > log.applied ||
      raft.msgs.length > 0 ||
      log.pendingSnapshot !== undefined
    );
    // End of your code (2AC).
  }

  /** The application has persisted, sent and applied what `rd` held. */
  advance(rd: Ready): void {
    // Your code here (2AC): remember the hard state; move stabled to the last persisted entry and applied to the last applied entry; a pending snapshot is now applied; let the log drop what storage compacted
    const log = this.raft.raftLog;
    if (rd.hardState) this.prevHardState = rd.hardState;
    const lastStable = rd.entries[rd.entries.length - 1];
    if (lastStable) log.stableTo(lastStable.index, lastStable.term);
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastApplied) log.appliedTo(lastApplied.index);
    const snapIndex = rd.snapshot?.metadata?.index;
    if (snapIndex !== undefined) log.stableSnapTo(snapIndex);
    log.maybeCompact();
    // End of your code (2AC).
  }

  /** Each member's progress (copies), when this node is the leader; an empty map otherwise. */
  getProgress(): Map<number, Progress> {
    const prs = new Map<number, Progress>();
    if (this.raft.state === StateType.Leader) {
      for (const [id, pr] of this.raft.prs) prs.set(id, new Progress(pr.match, pr.next));
    }
    return prs;
  }

  /** Asks raft to hand leadership to `transferee` (3A). */
  transferLeader(transferee: number): void {
    this.raft.step(eraftpb.Message({ msgType: MessageType.MsgTransferLeader, from: transferee, to: this.raft.id }));
  }

  /**
   * The transport could not reach node `id`. Only a hint: this raft keeps no per-follower flow control,
   * and the next heartbeat response (or its absence) drives retries, so there is nothing to do.
   */
  reportUnreachable(_id: number): void {
    // intentionally nothing
  }

  /**
   * The snapshot sent to node `id` was delivered (ok) or lost. After a loss the leader forgets its
   * optimistic guess of the follower's next index, so the next heartbeat response sends the snapshot again.
   */
  reportSnapshot(id: number, ok: boolean): void {
    if (ok || this.raft.state !== StateType.Leader) return;
    const pr = this.raft.prs.get(id);
    if (pr) pr.next = pr.match + 1;
  }
}
