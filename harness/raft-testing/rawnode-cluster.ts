/**
 * A small group of RawNodes driven the way a raftstore drives them, for end-to-end raft scenarios (2C, 3A):
 * every Ready is persisted to the node's MemoryStorage, its messages delivered in memory, its committed
 * entries applied to a toy state machine (the list of proposal payloads, in order), and then advanced.
 * Conf change entries are applied with applyConfChange. A node's application may take a snapshot of its
 * state machine and compact its log; a snapshot received from the leader replaces the state machine.
 *
 * Everything is deterministic: nodes are visited in id order and messages delivered first in, first out.
 */
import { eraftpb } from '#proto';
import { RaftError } from '@impl/raft/errors.ts';
import { StateType, type Config } from '@impl/raft/raft.ts';
import { RawNode, type Ready } from '@impl/raft/rawnode.ts';
import { MemoryStorage } from '@impl/raft/storage.ts';
import { newTestConfig, newTestMemoryStorage } from './helpers.ts';
import { text } from './helpers.ts';
import { decodeConfChange } from './membership-helpers.ts';

const { EntryType } = eraftpb;
type Message = eraftpb.Message;

/** What the application of one node holds. */
export interface Member {
  id: number;
  node: RawNode;
  storage: MemoryStorage;
  /** The payloads of every applied normal entry with data, in log order. */
  state: string[];
  /** The index of the last applied entry (or of the last applied snapshot). */
  appliedIndex: number;
  /** How many snapshots from the leader this node applied. */
  snapshotsApplied: number;
  /** Set when the node applied a conf change removing itself; it then takes no more part. */
  removed: boolean;
}

const MAX_ROUNDS = 100_000;

export class RawNodeCluster {
  readonly members = new Map<number, Member>();
  /** Every message delivered, in order (for assertions on what crossed the network). */
  readonly delivered: Message[] = [];
  private queue: Message[] = [];
  private blocked = new Set<number>();
  private readonly configure?: (c: Config) => void;

  /** Nodes `ids` bootstrapped as one group with members `ids`. */
  constructor(ids: number[], configure?: (c: Config) => void) {
    this.configure = configure;
    for (const id of ids) this.addMember(id, ids);
  }

  /** Starts a node with id `id` whose storage reports members `peers` (empty for a node still to be added). */
  addMember(id: number, peers: number[]): Member {
    const storage = newTestMemoryStorage(peers);
    const cfg = newTestConfig(id, peers, 10, 1, storage);
    this.configure?.(cfg);
    const m: Member = {
      id, node: new RawNode(cfg), storage, state: [], appliedIndex: 0, snapshotsApplied: 0, removed: false,
    };
    this.members.set(id, m);
    return m;
  }

  member(id: number): Member {
    const m = this.members.get(id);
    if (!m) throw new Error(`cluster: no node ${id}`);
    return m;
  }

  /** No message to or from `id` until recover(). */
  isolate(id: number): void {
    this.blocked.add(id);
  }

  recover(): void {
    this.blocked.clear();
  }

  /** The leader with the highest term, or undefined. */
  leader(): Member | undefined {
    let best: Member | undefined;
    for (const m of this.members.values()) {
      if (m.removed || m.node.raft.state !== StateType.Leader) continue;
      if (!best || m.node.raft.term > best.node.raft.term) best = m;
    }
    return best;
  }

  /** Handles one Ready of `m` if it has one; returns whether it had one. */
  handleReady(m: Member): boolean {
    if (m.removed || !m.node.hasReady()) return false;
    const rd: Ready = m.node.ready();
    if (rd.snapshot && rd.snapshot.metadata && rd.snapshot.metadata.index > 0) {
      m.storage.applySnapshot(rd.snapshot);
      m.state = JSON.parse(text(rd.snapshot.data)) as string[];
      m.appliedIndex = rd.snapshot.metadata.index;
      m.snapshotsApplied++;
    }
    m.storage.append(rd.entries);
    if (rd.hardState) m.storage.setHardState(rd.hardState);
    for (const msg of rd.messages) this.queue.push(msg);
    for (const e of rd.committedEntries) {
      if (e.index <= m.appliedIndex) throw new Error(`cluster: node ${m.id} was handed entry ${e.index} again (applied ${m.appliedIndex})`);
      if (e.index !== m.appliedIndex + 1) throw new Error(`cluster: node ${m.id} was handed entry ${e.index} after ${m.appliedIndex} (a gap)`);
      m.appliedIndex = e.index;
      if (e.entryType === EntryType.EntryConfChange) {
        const cc = decodeConfChange(e.data);
        m.node.applyConfChange(cc);
        if (cc.changeType === eraftpb.ConfChangeType.RemoveNode && cc.nodeId === m.id) m.removed = true;
      } else if (e.data.length > 0) {
        m.state.push(text(e.data));
      }
    }
    m.node.advance(rd);
    return true;
  }

  /** Delivers one message (dropped when either end is isolated or absent). */
  private deliver(msg: Message): void {
    if (this.blocked.has(msg.from) || this.blocked.has(msg.to)) return;
    const target = this.members.get(msg.to);
    if (!target || target.removed) return;
    this.delivered.push(msg);
    try {
      target.node.step(msg);
    } catch (err) {
      if (!(err instanceof RaftError)) throw err; // e.g. a response from a node no longer a member
    }
  }

  /** Handles Readies and delivers messages until nothing is left to do. */
  settle(): void {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      let busy = false;
      for (const m of this.members.values()) busy = this.handleReady(m) || busy;
      const batch = this.queue;
      this.queue = [];
      for (const msg of batch) {
        busy = true;
        this.deliver(msg);
      }
      if (!busy) return;
    }
    throw new Error(`cluster: still busy after ${MAX_ROUNDS} rounds; the nodes keep messaging each other forever`);
  }

  /** Ticks every live node `n` times, settling after each tick. */
  tick(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const m of this.members.values()) if (!m.removed) m.node.tick();
      this.settle();
    }
  }

  /** `id` campaigns and the group settles. */
  campaign(id: number): void {
    this.member(id).node.campaign();
    this.settle();
  }

  /** Proposes `data` at node `id` (which should be the leader) and settles. */
  propose(id: number, data: string): void {
    this.member(id).node.propose(new TextEncoder().encode(data));
    this.settle();
  }

  proposeConfChange(id: number, cc: eraftpb.ConfChange): void {
    this.member(id).node.proposeConfChange(cc);
    this.settle();
  }

  /**
   * The application of `id` snapshots its state machine at its applied index and compacts the log there
   * (what the raftstore's log GC does).
   */
  compact(id: number): number {
    const m = this.member(id);
    const index = m.appliedIndex;
    const nodes = [...m.node.raft.prs.keys()].sort((a, b) => a - b);
    m.storage.createSnapshot(index, eraftpb.ConfState({ nodes }), new TextEncoder().encode(JSON.stringify(m.state)));
    m.storage.compact(index);
    return index;
  }

  /** How many messages of `type` were delivered to `to`. */
  deliveredCount(type: eraftpb.MessageType, to?: number): number {
    return this.delivered.filter((msg) => msg.msgType === type && (to === undefined || msg.to === to)).length;
  }
}

