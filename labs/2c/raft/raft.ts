/**
 * The raft consensus algorithm as a pure state machine.
 *
 * A Raft is driven from outside: tick() advances its logical clock, step(m) feeds it a message. It never
 * does I/O and never reads a clock; what it wants sent piles up in `msgs`, what it wants persisted and
 * applied sits in `raftLog`, and RawNode hands both to the application as a Ready.
 *
 * Message types (see proto/eraftpb.proto): MsgHup (local: start an election), MsgBeat (local: the leader's
 * heartbeat timer fired), MsgPropose (append client data), MsgAppend / MsgAppendResponse (log replication),
 * MsgRequestVote / MsgRequestVoteResponse (elections), MsgHeartbeat / MsgHeartbeatResponse, MsgSnapshot
 * (install a snapshot), MsgTransferLeader and MsgTimeoutNow (leadership transfer).
 */
import { eraftpb } from '#proto';
import { NotImplemented } from '../util/not-implemented.ts';
import { SeededRandom, type RandomSource } from '../util/prng.ts';
import {
  CompactedError,
  ConfigError,
  LogInvariantError,
  ProposalDroppedError,
  SnapshotTemporarilyUnavailableError,
  UnavailableError,
} from './errors.ts';
import { RaftLog } from './log.ts';
import type { RaftStorage } from './storage.ts';

type Entry = eraftpb.Entry;
type Message = eraftpb.Message;
type HardState = eraftpb.HardState;
const { MessageType, EntryType } = eraftpb;

/** The term of entry i, or 0 when the log no longer (or not yet) holds it. */
function termOrZero(log: RaftLog, i: number): number {
  try {
    return log.term(i);
  } catch (err) {
    if (err instanceof CompactedError || err instanceof UnavailableError) return 0;
    throw err;
  }
}

/** "No node": no leader known, no vote cast. Real node ids start at 1. */
export const NONE = 0;

export enum StateType {
  Follower = 0,
  Candidate = 1,
  Leader = 2,
}

export interface Config {
  /** This node's id; never 0. */
  id: number;
  /**
   * The ids of every member (this node included) of a new group. Used only when the storage holds no
   * membership (a fresh start); a restarted node takes its members from storage.
   */
  peers?: number[];
  /** Ticks a follower waits without hearing from a leader before it campaigns. Must exceed heartbeatTick. */
  electionTick: number;
  /** Ticks between a leader's heartbeats. */
  heartbeatTick: number;
  /** Where the persisted log, hard state and snapshot are read from. */
  storage: RaftStorage;
  /** The last index the application applied before a restart; raft will not hand out entries up to it again. */
  applied?: number;
  /** Source of the randomized election timeouts. Default: a SeededRandom seeded with the node id. */
  random?: RandomSource;
}

/** Throws ConfigError explaining the first thing wrong with `c`. */
export function validateConfig(c: Config): void {
  if (!Number.isInteger(c.id) || c.id <= 0) {
    throw new ConfigError(`config: id must be a positive integer (0 means "none"), got ${c.id}`);
  }
  if (!Number.isInteger(c.heartbeatTick) || c.heartbeatTick <= 0) {
    throw new ConfigError(`config: heartbeatTick must be a positive integer, got ${c.heartbeatTick}`);
  }
  if (!Number.isInteger(c.electionTick) || c.electionTick <= c.heartbeatTick) {
    throw new ConfigError(
      `config: electionTick must be an integer greater than heartbeatTick (${c.heartbeatTick}), got ${c.electionTick}`,
    );
  }
  if (!c.storage) throw new ConfigError('config: storage is required');
  if (c.applied !== undefined && (!Number.isInteger(c.applied) || c.applied < 0)) {
    throw new ConfigError(`config: applied must be a non-negative integer, got ${c.applied}`);
  }
  if (c.peers !== undefined) {
    for (const p of c.peers) {
      if (!Number.isInteger(p) || p <= 0) throw new ConfigError(`config: peer ids must be positive integers, got ${p}`);
    }
    if (new Set(c.peers).size !== c.peers.length) {
      throw new ConfigError(`config: peers contain a duplicate id: [${c.peers.join(', ')}]`);
    }
  }
}

/** What the leader knows of one follower's log. */
export class Progress {
  /** The highest index known to match the leader's log. */
  match: number;
  /** The index of the next entry to send. */
  next: number;
  constructor(match: number, next: number) {
    this.match = match;
    this.next = next;
  }
}

/** State that changes often and need not be persisted. */
export interface SoftState {
  lead: number;
  raftState: StateType;
}

export class Raft {
  id: number;
  term = 0;
  /** Whom this node voted for in `term` (NONE if nobody yet). */
  vote = NONE;
  raftLog: RaftLog;
  /** The members of the group, with (when leader) each one's replication progress. */
  prs = new Map<number, Progress>();
  state = StateType.Follower;
  /** Votes received in the current election: node id -> granted. */
  votes = new Map<number, boolean>();
  /** Messages waiting to be sent. */
  msgs: Message[] = [];
  /** The leader of the current term, NONE if unknown. */
  lead = NONE;
  /** Ticks between heartbeats. */
  heartbeatTimeout: number;
  /** The base election timeout; the actual one is randomizedElectionTimeout. */
  electionTimeout: number;
  /** Ticks since the last heartbeat was sent (leader only). */
  heartbeatElapsed = 0;
  /**
   * Followers and candidates: ticks since the election timer was last reset. Leader: ticks since a
   * leadership transfer started.
   */
  electionElapsed = 0;
  /** The node leadership is being transferred to, NONE when no transfer is under way (3A). */
  leadTransferee = NONE;
  /**
   * Index of the latest conf change entry that may not be applied yet. A new conf change is refused
   * while pendingConfIndex > applied: only one may be in flight at a time (3A).
   */
  pendingConfIndex = 0;
  /** The election timeout in effect, drawn from [electionTimeout, 2 * electionTimeout). */
  randomizedElectionTimeout: number;
  private readonly random: RandomSource;

  constructor(config: Config) {
    validateConfig(config);
    this.id = config.id;
    this.heartbeatTimeout = config.heartbeatTick;
    this.electionTimeout = config.electionTick;
    this.randomizedElectionTimeout = config.electionTick;
    this.random = config.random ?? new SeededRandom(config.id);
    this.raftLog = new RaftLog(config.storage);
    // Your code here (2AA): restore term, vote and commit from the persisted hard state and the members from the persisted conf state (config.peers only when storage has none), honour config.applied, then start as a follower
    const { hardState, confState } = config.storage.initialState();
    const peers = confState.nodes.length > 0 ? confState.nodes : (config.peers ?? []);
    const next = this.raftLog.lastIndex() + 1;
    for (const id of peers) this.prs.set(id, new Progress(0, next));
    this.term = hardState.term;
    this.vote = hardState.vote;
    const log = this.raftLog;
    if (hardState.commit > log.lastIndex()) {
      throw new LogInvariantError(`restart: persisted commit ${hardState.commit} is beyond the last index ${log.lastIndex()}`);
    }
    log.committed = Math.max(hardState.commit, log.committed);
    if (config.applied !== undefined && config.applied > log.applied) {
      if (config.applied > log.committed) {
        throw new LogInvariantError(`restart: applied index ${config.applied} is beyond the commit index ${log.committed}`);
      }
      log.applied = config.applied;
    }
    this.becomeFollower(this.term, NONE);
    // End of your code (2AA).
  }

  softState(): SoftState {
    return { lead: this.lead, raftState: this.state };
  }

  hardState(): HardState {
    return eraftpb.HardState({ term: this.term, vote: this.vote, commit: this.raftLog.committed });
  }

  /** Queues a message from this node, stamped with the current term. */
  private send(init: Omit<Partial<Message>, 'from' | 'term'>): void {
    const m = eraftpb.Message(init);
    m.from = this.id;
    m.term = this.term;
    this.msgs.push(m);
  }

  /** The number of members that makes a majority. */
  private quorum(): number {
    return Math.floor(this.prs.size / 2) + 1;
  }

  /** Draws a new election timeout in [electionTimeout, 2 * electionTimeout) from the injected random source. */
  resetRandomizedElectionTimeout(): void {
    // Your code here (2AA): draw from this.random, the injected source, never a global one (tests must be repeatable)
    this.randomizedElectionTimeout = this.electionTimeout + this.random.nextInt(this.electionTimeout);
    // End of your code (2AA).
  }

  /** Advances the logical clock by one tick. */
  tick(): void {
    // Your code here (2AA): followers and candidates campaign (MsgHup) when the randomized election timeout passes; a leader sends heartbeats (MsgBeat) every heartbeatTimeout ticks
    if (this.state === StateType.Leader) {
      this.heartbeatElapsed++;
      if (this.heartbeatElapsed >= this.heartbeatTimeout) {
        this.heartbeatElapsed = 0;
        this.step(eraftpb.Message({ msgType: MessageType.MsgBeat, from: this.id, to: this.id }));
      }
    } else {
      this.electionElapsed++;
      if (this.electionElapsed >= this.randomizedElectionTimeout) {
        this.electionElapsed = 0;
        this.step(eraftpb.Message({ msgType: MessageType.MsgHup, from: this.id, to: this.id }));
      }
    }
    // End of your code (2AA).
    // Your code here (3A): a leader whose transfer has not finished within an election timeout gives it up (the target may be down)
    // End of your code (3A).
  }

  /** Clears the per-term state when the term changes or the role changes. */
  private reset(term: number): void {
    // Your code here (2AA): a new term clears the vote; every role change clears the leader, timers, votes and transfer, draws a new election timeout and restarts every progress at (match 0, next lastIndex + 1)
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.leadTransferee = NONE;
    this.votes = new Map();
    const next = this.raftLog.lastIndex() + 1;
    for (const id of this.prs.keys()) this.prs.set(id, new Progress(0, next));
    // End of your code (2AA).
  }

  becomeFollower(term: number, lead: number): void {
    // Your code here (2AA): reset for `term`, become a follower of `lead`
    this.reset(term);
    this.state = StateType.Follower;
    this.lead = lead;
    // End of your code (2AA).
  }

  becomeCandidate(): void {
    // Your code here (2AA): move to the next term and vote for yourself
    this.reset(this.term + 1);
    this.state = StateType.Candidate;
    this.vote = this.id;
    this.votes.set(this.id, true);
    // End of your code (2AA).
  }

  becomeLeader(): void {
    // Your code here (3A): any conf change in the log may still be unapplied: treat the whole log as pending
    // End of your code (3A).
    // Your code here (2AA): reset (same term), lead yourself, append an empty no-op entry of your term and broadcast appends at once
    this.reset(this.term);
    this.state = StateType.Leader;
    this.lead = this.id;
    this.appendEntries([eraftpb.Entry()]);
    this.bcastAppend();
    // End of your code (2AA).
  }

  /** The entry point of every message, local or remote. Throws ProposalDroppedError for refused proposals. */
  step(m: Message): void {
    // Your code here (2AA): a higher term makes you a follower first (of the sender if it is a leader's message); a lower term is stale: answer it with your term so the sender learns it, and stop; then dispatch on your role
    if (m.term !== 0 && m.term > this.term) {
      const fromLeader =
        m.msgType === MessageType.MsgAppend ||
        m.msgType === MessageType.MsgHeartbeat ||
        m.msgType === MessageType.MsgSnapshot;
      this.becomeFollower(m.term, fromLeader ? m.from : NONE);
    } else if (m.term !== 0 && m.term < this.term) {
      this.answerStaleMessage(m);
      return;
    }
    switch (this.state) {
      case StateType.Follower:
        this.stepFollower(m);
        break;
      case StateType.Candidate:
        this.stepCandidate(m);
        break;
      case StateType.Leader:
        this.stepLeader(m);
        break;
    }
    // End of your code (2AA).
  }

  /** A message from an older term: tell the sender our term (it will step down); never act on it. */
  private answerStaleMessage(m: Message): void {
    // Your code here (2AA): answer stale heartbeats, appends and vote requests with a response carrying your term; ignore the rest
    switch (m.msgType) {
      case MessageType.MsgHeartbeat:
        this.send({ msgType: MessageType.MsgHeartbeatResponse, to: m.from });
        break;
      case MessageType.MsgAppend:
        this.send({ msgType: MessageType.MsgAppendResponse, to: m.from, reject: true });
        break;
      case MessageType.MsgRequestVote:
        this.send({ msgType: MessageType.MsgRequestVoteResponse, to: m.from, reject: true });
        break;
      default:
        break;
    }
    // End of your code (2AA).
  }

  private stepFollower(m: Message): void {
    // Your code here (2AA): campaign on MsgHup; forward proposals to the leader (or drop them if none is known); a message from the leader resets the election timer and records the leader; answer vote requests
    switch (m.msgType) {
      case MessageType.MsgHup:
        this.campaign();
        break;
      case MessageType.MsgPropose:
        if (this.lead === NONE) throw new ProposalDroppedError(`node ${this.id} is a follower and knows no leader`);
        this.msgs.push({ ...m, to: this.lead });
        break;
      case MessageType.MsgAppend:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        break;
      case MessageType.MsgHeartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        break;
      case MessageType.MsgSnapshot:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        break;
      case MessageType.MsgRequestVote:
        this.handleRequestVote(m);
        break;
      case MessageType.MsgTransferLeader:
        this.handleTransferLeader(m);
        break;
      case MessageType.MsgTimeoutNow:
        this.handleTimeoutNow(m);
        break;
      default:
        break; // responses and MsgBeat mean nothing to a follower
    }
    // End of your code (2AA).
  }

  private stepCandidate(m: Message): void {
    // Your code here (2AA): campaign again on MsgHup; drop proposals; a leader's message of your term makes you its follower; count vote responses
    switch (m.msgType) {
      case MessageType.MsgHup:
        this.campaign();
        break;
      case MessageType.MsgPropose:
        throw new ProposalDroppedError(`node ${this.id} is a candidate: no leader to take the proposal`);
      case MessageType.MsgAppend:
      case MessageType.MsgHeartbeat:
      case MessageType.MsgSnapshot:
        this.becomeFollower(this.term, m.from);
        this.stepFollower(m);
        break;
      case MessageType.MsgRequestVote:
        this.handleRequestVote(m);
        break;
      case MessageType.MsgRequestVoteResponse:
        this.handleRequestVoteResponse(m);
        break;
      default:
        break; // no leader to forward a transfer to; a candidate ignores MsgTimeoutNow
    }
    // End of your code (2AA).
  }

  private stepLeader(m: Message): void {
    // Your code here (2AA): send heartbeats on MsgBeat; handle proposals, append and heartbeat responses, vote requests and transfer requests (MsgHup changes nothing)
    switch (m.msgType) {
      case MessageType.MsgBeat:
        this.bcastHeartbeat();
        break;
      case MessageType.MsgPropose:
        this.handlePropose(m);
        break;
      case MessageType.MsgAppendResponse:
        this.handleAppendResponse(m);
        break;
      case MessageType.MsgHeartbeatResponse:
        this.handleHeartbeatResponse(m);
        break;
      case MessageType.MsgRequestVote:
        this.handleRequestVote(m);
        break;
      case MessageType.MsgTransferLeader:
        this.handleTransferLeader(m);
        break;
      default:
        break; // MsgHup: already leader; appends of our own term cannot come from another leader
    }
    // End of your code (2AA).
  }

  /** Starts an election: become a candidate and ask every other member for its vote. */
  private campaign(): void {
    // Your code here (2AA): only a member may campaign; become candidate; a group of one wins at once (no vote will ever arrive); otherwise send MsgRequestVote with your last index and term to every other member
    if (!this.prs.has(this.id)) return;
    this.becomeCandidate();
    if (this.votes.size >= this.quorum()) {
      this.becomeLeader();
      return;
    }
    const index = this.raftLog.lastIndex();
    const logTerm = this.raftLog.lastTerm();
    for (const to of this.prs.keys()) {
      if (to !== this.id) this.send({ msgType: MessageType.MsgRequestVote, to, index, logTerm });
    }
    // End of your code (2AA).
  }

  /** Grants the vote at most once per term, and only to a candidate whose log is at least as up to date. */
  private handleRequestVote(m: Message): void {
    // Your code here (2AA): grant if you have not voted for someone else this term (and follow no leader), and the candidate's log (m.index, m.logTerm) is at least as up to date as yours
    const canVote = this.vote === m.from || (this.vote === NONE && this.lead === NONE);
    const grant = canVote && this.raftLog.isUpToDate(m.index, m.logTerm);
    if (grant) {
      this.vote = m.from;
      this.electionElapsed = 0;
    }
    this.send({ msgType: MessageType.MsgRequestVoteResponse, to: m.from, reject: !grant });
    // End of your code (2AA).
  }

  private handleRequestVoteResponse(m: Message): void {
    // Your code here (2AA): record the vote; a majority of grants makes you leader, a majority of rejections sends you back to follower
    if (!this.prs.has(m.from)) return;
    this.votes.set(m.from, !m.reject);
    let granted = 0;
    for (const v of this.votes.values()) if (v) granted++;
    const rejected = this.votes.size - granted;
    if (granted >= this.quorum()) {
      this.becomeLeader();
    } else if (rejected >= this.quorum()) {
      this.becomeFollower(this.term, NONE);
    }
    // End of your code (2AA).
  }

  private bcastHeartbeat(): void {
    for (const to of this.prs.keys()) {
      if (to !== this.id) this.sendHeartbeat(to);
    }
  }

  /** Sends a heartbeat. Its commit is capped at what the follower is known to hold. */
  sendHeartbeat(to: number): void {
    // Your code here (2AA): send MsgHeartbeat with commit = min(the follower's match, committed): a follower may hold stale entries beyond its match
    const pr = this.prs.get(to);
    const commit = Math.min(pr?.match ?? 0, this.raftLog.committed);
    this.send({ msgType: MessageType.MsgHeartbeat, to, commit });
    // End of your code (2AA).
  }

  /** A follower's handling of the leader's heartbeat (the election timer was reset by step). */
  handleHeartbeat(m: Message): void {
    // Your code here (2AB): advance the commit index to m.commit, never beyond your last index
    if (m.commit > this.raftLog.committed) {
      this.raftLog.commitTo(Math.min(m.commit, this.raftLog.lastIndex()));
    }
    // End of your code (2AB).
    // Your code here (2AA): answer with MsgHeartbeatResponse
    this.send({ msgType: MessageType.MsgHeartbeatResponse, to: m.from });
    // End of your code (2AA).
  }

  /** Sends appends to every other member. */
  private bcastAppend(): void {
    for (const to of this.prs.keys()) {
      if (to !== this.id) this.sendAppend(to);
    }
  }

  /**
   * The leader appends new entries to its own log, stamped with its term and the next indexes, and counts
   * them as replicated on itself (a group of one commits them at once).
   */
  private appendEntries(ents: Entry[]): void {
    // Your code here (2AB): stamp copies of ents with your term and consecutive indexes, append them, update your own progress (if you are still a member) and try to commit
    const last = this.raftLog.lastIndex();
    // A plain literal with every field: eraftpb.Entry() would first allocate a default data array.
    const stamped = ents.map(
      (e, k): Entry => ({ entryType: e.entryType, data: e.data, term: this.term, index: last + 1 + k }),
    );
    this.raftLog.append(stamped);
    const self = this.prs.get(this.id);
    if (self) {
      self.match = this.raftLog.lastIndex();
      self.next = self.match + 1;
    }
    this.maybeCommit();
    // End of your code (2AB).
  }

  /**
   * Sends the follower the entries from its next index on, with the index and term of the entry before
   * them and the leader's commit. Falls back to a snapshot when those entries are compacted.
   * Returns true if a message was sent.
   */
  sendAppend(to: number): boolean {
    // Your code here (2AB): build MsgAppend from pr.next (index = next - 1, logTerm = its term, entries next..last, commit; optional, for speed: once the follower has acked something, move next past what you sent); if the log no longer holds them (CompactedError) send a snapshot instead
    const pr = this.prs.get(to);
    if (!pr) return false;
    this.raftLog.maybeCompact();
    const last = this.raftLog.lastIndex();
    if (pr.next > last + 1) pr.next = last + 1;
    const prevIndex = pr.next - 1;
    let prevTerm: number;
    let entries: Entry[];
    try {
      prevTerm = this.raftLog.term(prevIndex);
      entries = this.raftLog.slice(pr.next, last + 1);
    } catch (err) {
      if (err instanceof CompactedError) return this.sendSnapshot(to);
      throw err;
    }
    this.send({
      msgType: MessageType.MsgAppend,
      to,
      index: prevIndex,
      logTerm: prevTerm,
      entries,
      commit: this.raftLog.committed,
    });
    // Once the follower has acknowledged an entry (match > 0) we know where its log matches ours: assume
    // these entries arrive too, so the next append carries only newer ones instead of repeating every
    // unacknowledged entry. If one is lost, the follower rejects a later append and the reject's hint
    // brings next back (handleAppendResponse). Before that first ack, a repeated call resends the same.
    if (pr.match > 0) pr.next = last + 1;
    return true;
    // End of your code (2AB).
  }

  /** The leader takes a proposal: append it to its log and replicate it. */
  private handlePropose(m: Message): void {
    // Your code here (3A): refuse proposals while transferring leadership or after being removed; allow one conf change at a time (pending means pendingConfIndex > applied) and record its index
    // End of your code (3A).
    // Your code here (2AB): append the entries to your log and send them to every follower
    if (m.entries.length === 0) throw new ProposalDroppedError('a proposal must carry at least one entry');
    this.appendEntries(m.entries);
    this.bcastAppend();
    // End of your code (2AB).
  }

  /** A follower's handling of MsgAppend from the leader of its term. */
  handleAppendEntries(m: Message): void {
    // Your code here (2C): while a snapshot waits to be applied, ignore appends (the leader retries later)
    // End of your code (2C).
    // Your code here (2AB): if (m.index, m.logTerm) matches, append and reply with the last new index; otherwise reject with a hint (an index and its term) so the leader can skip back fast; entries up to your commit index need no check (they may even be compacted)
    const log = this.raftLog;
    let prevIndex = m.index;
    let prevTerm = m.logTerm;
    let ents = m.entries;
    if (prevIndex < log.committed) {
      // Committed entries are in every later leader's log: skip them and match at our commit index,
      // whose term we still know even if everything before it was compacted.
      ents = ents.slice(Math.min(ents.length, log.committed - prevIndex));
      prevIndex = log.committed;
      prevTerm = log.term(prevIndex);
    }
    const lastNew = log.maybeAppend(prevIndex, prevTerm, m.commit, ents);
    if (lastNew !== undefined) {
      this.send({ msgType: MessageType.MsgAppendResponse, to: m.from, index: lastNew });
      return;
    }
    const hintIndex = log.findConflictByTerm(Math.min(m.index, log.lastIndex()), m.logTerm);
    const hintTerm = termOrZero(log, hintIndex);
    this.send({ msgType: MessageType.MsgAppendResponse, to: m.from, reject: true, index: hintIndex, logTerm: hintTerm });
    // End of your code (2AB).
  }

  /** The leader's handling of a follower's answer to MsgAppend (or MsgSnapshot). */
  private handleAppendResponse(m: Message): void {
    const pr = this.prs.get(m.from);
    if (!pr) return;
    // Your code here (2AB): on reject, move next back using the hint (never below match + 1) and retry; on success, raise match and next, try to commit (broadcast if the commit moved), and send a follower what it has not been sent yet
    if (m.reject) {
      let probe = m.index;
      if (m.logTerm > 0) probe = this.raftLog.findConflictByTerm(m.index, m.logTerm);
      pr.next = Math.max(pr.match + 1, Math.min(pr.next - 1, probe + 1));
      this.sendAppend(m.from);
    } else if (m.index > pr.match && m.index <= this.raftLog.lastIndex()) {
      pr.match = m.index;
      pr.next = Math.max(pr.next, m.index + 1);
      if (this.maybeCommit()) {
        this.bcastAppend();
      } else if (pr.next <= this.raftLog.lastIndex()) {
        this.sendAppend(m.from);
      }
    }
    // End of your code (2AB).
    // Your code here (3A): once the transfer target has caught up, tell it to campaign now (MsgTimeoutNow)
    // End of your code (3A).
  }

  private handleHeartbeatResponse(m: Message): void {
    // Your code here (2AB): a follower that lacks entries gets them now
    const pr = this.prs.get(m.from);
    if (pr && pr.match < this.raftLog.lastIndex()) this.sendAppend(m.from);
    // End of your code (2AB).
  }

  /**
   * Commits the highest index that a majority holds, but only if that entry is of the current term
   * (entries of earlier terms are committed indirectly, Raft paper section 5.4.2). Returns true if the
   * commit index moved.
   */
  private maybeCommit(): boolean {
    // Your code here (2AB): take the quorum-th highest match; commit it only if it is above committed and its term is the current term
    const matches: number[] = [];
    for (const pr of this.prs.values()) matches.push(pr.match);
    matches.sort((a, b) => b - a);
    if (matches.length === 0) return false;
    const candidate = matches[this.quorum() - 1]!;
    if (candidate <= this.raftLog.committed) return false;
    if (this.raftLog.term(candidate) !== this.term) return false;
    this.raftLog.commitTo(candidate);
    return true;
    // End of your code (2AB).
  }

  /**
   * Sends the storage's snapshot to a follower whose next entries are compacted. Returns false (and sends
   * nothing) while the storage is still preparing the snapshot; the next heartbeat response retries.
   */
  private sendSnapshot(to: number): boolean {
    // Your code here (2C): get storage.snapshot() (SnapshotTemporarilyUnavailableError: try later), send MsgSnapshot, and set the follower's next after the snapshot
    return false;
    // End of your code (2C).
  }

  /**
   * A follower installs the leader's snapshot: ignored while another is pending or when it is not newer
   * than the commit index; fast-forwards the commit when the log already has the snapshot's last entry;
   * otherwise restores the log and takes the members from the snapshot. Answers with MsgAppendResponse.
   */
  handleSnapshot(m: Message): void {
    // Your code here (2C): see the comment above; reply MsgAppendResponse with the index you now hold committed
    throw new NotImplemented('2C', 'Raft.handleSnapshot');
    // End of your code (2C).
  }

  /**
   * MsgTransferLeader: `m.from` is the node that should become leader. A follower forwards it to its leader.
   * The leader ignores a transfer to itself (cancelling one under way) or to a non-member, refuses
   * proposals while it lasts, and sends MsgTimeoutNow once the target's log is up to date.
   */
  private handleTransferLeader(m: Message): void {
    // Your code here (3A): see the comment above; catch the target up with sendAppend first if it lags
    throw new NotImplemented('3A', 'Raft.handleTransferLeader');
    // End of your code (3A).
  }

  /** MsgTimeoutNow: the leader wants this node to take over; campaign at once (members only). */
  private handleTimeoutNow(_m: Message): void {
    // Your code here (3A): a member campaigns immediately, without waiting for its election timeout
    throw new NotImplemented('3A', 'Raft.handleTimeoutNow');
    // End of your code (3A).
  }

  /** Adds a member. A new follower's progress starts at match 0, next = the leader's last index + 1. */
  addNode(id: number): void {
    // Your code here (3A): add the node to prs if absent
    throw new NotImplemented('3A', 'Raft.addNode');
    // End of your code (3A).
  }

  /**
   * Removes a member. A smaller group may commit entries the larger one could not, so the leader re-checks
   * its commit. A leader that removed itself has no progress of its own any more and must not touch it.
   */
  removeNode(id: number): void {
    // Your code here (3A): delete the node from prs; as leader, cancel a transfer to it and re-check the commit (broadcast if it moved)
    throw new NotImplemented('3A', 'Raft.removeNode');
    // End of your code (3A).
  }
}
