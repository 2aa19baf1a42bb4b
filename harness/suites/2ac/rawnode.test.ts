/**
 * Project 2AC: RawNode, the Ready / Advance interface (raft/rawnode.ts).
 *
 * TinyKV's two 2AC scenarios, then the rules of a Ready that the raftstore (2B) relies on: state is reported
 * only when it changed, messages and entries are handed out once, advance() acknowledges exactly what the
 * Ready held, and a restarted node takes its term, vote, commit and members from storage.
 */
import { describe, expect, it } from 'vitest';
import { eraftpb } from '#proto';
import { RawNode } from '@impl/raft/rawnode.ts';
import { MemoryStorage } from '@impl/raft/storage.ts';
import { StateType } from '@impl/raft/raft.ts';
import { StepLocalMsgError, StepPeerNotFoundError } from '@impl/raft/errors.ts';
import {
  MessageType,
  bytes,
  ent,
  msg,
  newTestConfig,
  newTestMemoryStorage,
  summarizeEntries,
  text,
} from '../../raft-testing/helpers.ts';
import { handleReady, persistReady } from '../../raft-testing/ready-helpers.ts';

/** A RawNode over `storage` with the suite's usual timing (election 10, heartbeat 1). */
function newRawNode(id: number, peers: number[] | undefined, storage: MemoryStorage, applied?: number): RawNode {
  const cfg = newTestConfig(id, peers ?? [], 10, 1, storage);
  if (peers === undefined) delete cfg.peers;
  if (applied !== undefined) cfg.applied = applied;
  return new RawNode(cfg);
}

/** A storage that looks like a node that ran before: members, entries and a hard state on disk. */
function restartedStorage(members: number[], ents: eraftpb.Entry[], hs: eraftpb.HardState): MemoryStorage {
  const s = newTestMemoryStorage(members);
  s.append(ents);
  s.setHardState(hs);
  return s;
}

describe('2AC: TinyKV scenarios', () => {
  // A single node campaigns, commits its no-op, then takes and commits a proposal; afterwards nothing is left.
  it('TestRawNodeStart2AC', () => {
    const storage = new MemoryStorage();
    const rn = newRawNode(1, [1], storage);
    rn.campaign();
    let rd = rn.ready();
    storage.append(rd.entries);
    rn.advance(rd);

    rn.propose(bytes('foo'));
    rd = rn.ready();
    expect(rd.entries).toHaveLength(1);
    expect(rd.committedEntries).toHaveLength(1);
    expect(text(rd.entries[0]!.data)).toBe('foo');
    expect(text(rd.committedEntries[0]!.data)).toBe('foo');
    storage.append(rd.entries);
    rn.advance(rd);

    expect(rn.hasReady()).toBe(false);
  });

  // A restarted node hands out the entries committed before the restart, and nothing else: no entries to
  // persist (they are on disk), no hard state (unchanged), no soft state (still a leaderless follower).
  it('TestRawNodeRestart2AC', () => {
    const entries = [ent(1, 1), ent(2, 1, 'foo')];
    const storage = new MemoryStorage();
    storage.setHardState(eraftpb.HardState({ term: 1, commit: 1 }));
    storage.append(entries);
    const rn = newRawNode(1, undefined, storage);

    const rd = rn.ready();
    expect(rd.entries).toEqual([]);
    expect(summarizeEntries(rd.committedEntries)).toEqual(summarizeEntries(entries.slice(0, 1)));
    expect(rd.hardState).toBeUndefined();
    expect(rd.softState).toBeUndefined();
    expect(rd.snapshot).toBeUndefined();
    expect(rd.messages).toEqual([]);
    rn.advance(rd);
    expect(rn.hasReady()).toBe(false);
  });
});

describe('2AC: what a Ready holds', () => {
  it('TestRawNodeFreshNodeHasNoReady2AC', () => {
    const rn = newRawNode(1, [1, 2, 3], new MemoryStorage());
    expect(rn.hasReady()).toBe(false);
  });

  // catches known bug 9: Ready reports unchanged soft/hard state, or repeats messages.
  it('TestRawNodeReadyReportsOnlyChangedState2AC', () => {
    const storage = new MemoryStorage();
    const rn = newRawNode(1, [1, 2, 3], storage);

    rn.campaign();
    expect(rn.hasReady()).toBe(true);
    let rd = rn.ready();
    expect(rd.softState).toEqual({ lead: 0, raftState: StateType.Candidate });
    expect(rd.hardState).toEqual(eraftpb.HardState({ term: 1, vote: 1, commit: 0 }));
    expect(rd.messages.map((m) => [m.msgType, m.to]).sort()).toEqual([
      [MessageType.MsgRequestVote, 2],
      [MessageType.MsgRequestVote, 3],
    ]);
    persistReady(storage, rd);
    rn.advance(rd);

    // Nothing happened since: nothing to report, and a Ready taken anyway is empty.
    expect(rn.hasReady()).toBe(false);
    rd = rn.ready();
    expect(rd.softState).toBeUndefined();
    expect(rd.hardState).toBeUndefined();
    expect(rd.messages).toEqual([]);
    expect(rd.entries).toEqual([]);
    expect(rd.committedEntries).toEqual([]);
    rn.advance(rd);

    // Winning the election changes the soft state but not term, vote or commit: no hard state.
    rn.step(msg({ msgType: MessageType.MsgRequestVoteResponse, from: 2, to: 1, term: 1 }));
    rd = rn.ready();
    expect(rd.softState).toEqual({ lead: 1, raftState: StateType.Leader });
    expect(rd.hardState).toBeUndefined();
    expect(summarizeEntries(rd.entries)).toEqual([{ index: 1, term: 1, data: '' }]);
    expect(rd.messages.filter((m) => m.msgType === MessageType.MsgAppend).map((m) => m.to).sort()).toEqual([2, 3]);
    persistReady(storage, rd);
    rn.advance(rd);

    // A late vote changes nothing.
    rn.step(msg({ msgType: MessageType.MsgRequestVoteResponse, from: 3, to: 1, term: 1 }));
    expect(rn.hasReady()).toBe(false);

    // The no-op commits: only the commit index of the hard state changed; the soft state did not.
    rn.step(msg({ msgType: MessageType.MsgAppendResponse, from: 2, to: 1, term: 1, index: 1 }));
    rd = rn.ready();
    expect(rd.softState).toBeUndefined();
    expect(rd.hardState).toEqual(eraftpb.HardState({ term: 1, vote: 1, commit: 1 }));
    expect(summarizeEntries(rd.committedEntries)).toEqual([{ index: 1, term: 1, data: '' }]);
    expect(rd.entries).toEqual([]);
    persistReady(storage, rd);
    rn.advance(rd);
    expect(rn.hasReady()).toBe(false);
  });

  // catches known bug 9: a follower whose commit alone moves reports a hard state; an unchanged one does not.
  it('TestRawNodeFollowerHardStateOnlyWhenChanged2AC', () => {
    const storage = new MemoryStorage();
    const rn = newRawNode(2, [1, 2, 3], storage);

    rn.step(msg({ msgType: MessageType.MsgAppend, from: 1, to: 2, term: 1, index: 0, logTerm: 0, entries: [ent(1, 1)] }));
    let rd = rn.ready();
    expect(rd.softState).toEqual({ lead: 1, raftState: StateType.Follower });
    expect(rd.hardState).toEqual(eraftpb.HardState({ term: 1, vote: 0, commit: 0 }));
    expect(summarizeEntries(rd.entries)).toEqual([{ index: 1, term: 1, data: '' }]);
    expect(rd.messages.map((m) => [m.msgType, m.to, m.index, m.reject])).toEqual([[MessageType.MsgAppendResponse, 1, 1, false]]);
    persistReady(storage, rd);
    rn.advance(rd);

    rn.step(msg({ msgType: MessageType.MsgHeartbeat, from: 1, to: 2, term: 1, commit: 1 }));
    rd = rn.ready();
    expect(rd.softState).toBeUndefined();
    expect(rd.hardState).toEqual(eraftpb.HardState({ term: 1, vote: 0, commit: 1 }));
    expect(summarizeEntries(rd.committedEntries)).toEqual([{ index: 1, term: 1, data: '' }]);
    persistReady(storage, rd);
    rn.advance(rd);

    // The same heartbeat again: only its answer is new.
    rn.step(msg({ msgType: MessageType.MsgHeartbeat, from: 1, to: 2, term: 1, commit: 1 }));
    rd = rn.ready();
    expect(rd.hardState).toBeUndefined();
    expect(rd.softState).toBeUndefined();
    expect(rd.committedEntries).toEqual([]);
    expect(rd.entries).toEqual([]);
    expect(rd.messages.map((m) => m.msgType)).toEqual([MessageType.MsgHeartbeatResponse]);
    rn.advance(rd);
    expect(rn.hasReady()).toBe(false);
  });

  // catches known bug 9: messages are handed out once (raft's outbox must be emptied when a Ready takes them).
  it('TestRawNodeMessagesHandedOutOnce2AC', () => {
    const storage = new MemoryStorage();
    const rn = newRawNode(1, [1, 2, 3], storage);
    rn.campaign();
    handleReady(rn, storage);
    rn.step(msg({ msgType: MessageType.MsgRequestVoteResponse, from: 2, to: 1, term: 1 }));
    handleReady(rn, storage);

    rn.propose(bytes('a'));
    const first = rn.ready();
    const appends = first.messages.filter((m) => m.msgType === MessageType.MsgAppend);
    expect(appends.map((m) => m.to).sort()).toEqual([2, 3]);
    // A second Ready before advance() must not hand the same messages out again.
    const second = rn.ready();
    expect(second.messages).toEqual([]);
    persistReady(storage, first);
    rn.advance(first);
    rn.advance(second);
    expect(rn.hasReady()).toBe(false);
    expect(rn.ready().messages).toEqual([]);

    // The next proposal produces only the next messages, each carrying the new entry.
    rn.propose(bytes('b'));
    const third = rn.ready();
    const newAppends = third.messages.filter((m) => m.msgType === MessageType.MsgAppend);
    expect(newAppends.map((m) => m.to).sort()).toEqual([2, 3]);
    for (const m of newAppends) expect(m.entries.map((e) => text(e.data))).toContain('b');
  });

  // catches known bug 9 (entries side): committed entries are handed out once, and advance() acknowledges only
  // what its Ready held, not whatever raft learned in between.
  it('TestRawNodeAdvanceAcknowledgesOnlyItsReady2AC', () => {
    const storage = new MemoryStorage();
    const rn = newRawNode(1, [1], storage);
    rn.campaign();
    const rd1 = rn.ready();
    expect(summarizeEntries(rd1.committedEntries)).toEqual([{ index: 1, term: 1, data: '' }]);

    // Taken but not yet advanced; a proposal arrives (a group of one commits it at once).
    rn.propose(bytes('x'));
    persistReady(storage, rd1);
    rn.advance(rd1);

    const rd2 = rn.ready();
    expect(summarizeEntries(rd2.entries)).toEqual([{ index: 2, term: 1, data: 'x' }]);
    expect(summarizeEntries(rd2.committedEntries)).toEqual([{ index: 2, term: 1, data: 'x' }]);
    persistReady(storage, rd2);
    rn.advance(rd2);

    rn.propose(bytes('y'));
    rn.propose(bytes('z'));
    const rd3 = rn.ready();
    expect(summarizeEntries(rd3.committedEntries).map((e) => e.data)).toEqual(['y', 'z']);
    expect(summarizeEntries(rd3.entries).map((e) => e.data)).toEqual(['y', 'z']);
    persistReady(storage, rd3);
    rn.advance(rd3);
    expect(rn.hasReady()).toBe(false);
    expect(rn.raft.raftLog.applied).toBe(4);
    expect(rn.raft.raftLog.stabled).toBe(4);
  });

  it('TestRawNodeProposeWithoutLeaderIsDropped2AC', () => {
    const rn = newRawNode(1, [1, 2, 3], new MemoryStorage());
    expect(rn.propose(bytes('lost'))).toMatchObject({ outcome: 'dropped' });
    expect(rn.raft.raftLog.lastIndex()).toBe(0);
  });

  it('TestRawNodeStepRefusesLocalAndStrangerMessages2AC', () => {
    const rn = newRawNode(1, [1, 2, 3], new MemoryStorage());
    expect(() => rn.step(msg({ msgType: MessageType.MsgHup, from: 1, to: 1 }))).toThrow(StepLocalMsgError);
    expect(() => rn.step(msg({ msgType: MessageType.MsgBeat, from: 1, to: 1 }))).toThrow(StepLocalMsgError);
    expect(() => rn.step(msg({ msgType: MessageType.MsgAppendResponse, from: 9, to: 1, term: 1 }))).toThrow(StepPeerNotFoundError);
    expect(rn.raft.state).toBe(StateType.Follower);
    expect(rn.raft.term).toBe(0);
  });
});

describe('2AC: restart', () => {
  // catches known bug 10: a restarted raft takes term, vote and commit from the persisted hard state.
  it('TestRawNodeRestartRestoresHardState2AC', () => {
    const ents = [ent(1, 1), ent(2, 1, 'a'), ent(3, 2, 'b'), ent(4, 2, 'c'), ent(5, 3, 'd')];
    const storage = restartedStorage([1, 2, 3], ents, eraftpb.HardState({ term: 4, vote: 3, commit: 4 }));
    const rn = newRawNode(1, undefined, storage);

    expect(rn.raft.term).toBe(4);
    expect(rn.raft.vote).toBe(3);
    expect(rn.raft.raftLog.committed).toBe(4);
    expect(rn.raft.state).toBe(StateType.Follower);

    const rd = rn.ready();
    expect(rd.hardState).toBeUndefined();
    expect(rd.entries).toEqual([]);
    expect(summarizeEntries(rd.committedEntries).map((e) => e.index)).toEqual([1, 2, 3, 4]);
    rn.advance(rd);
    expect(rn.hasReady()).toBe(false);

    // Having voted for 3 in term 4, it refuses node 2 in that term.
    rn.step(msg({ msgType: MessageType.MsgRequestVote, from: 2, to: 1, term: 4, index: 5, logTerm: 3 }));
    const answer = rn.ready().messages;
    expect(answer.map((m) => [m.msgType, m.to, m.reject])).toEqual([[MessageType.MsgRequestVoteResponse, 2, true]]);

    // Its next campaign is for term 5 and advertises its persisted log.
    rn.campaign();
    const rd2 = rn.ready();
    expect(rd2.hardState).toEqual(eraftpb.HardState({ term: 5, vote: 1, commit: 4 }));
    const votes = rd2.messages.filter((m) => m.msgType === MessageType.MsgRequestVote);
    expect(votes.map((m) => [m.to, m.term, m.index, m.logTerm]).sort()).toEqual([
      [2, 5, 5, 3],
      [3, 5, 5, 3],
    ]);
  });

  // catches known bug 10: the members come from the storage's conf state, not from a stale config.
  it('TestRawNodeRestartTakesMembersFromConfState2AC', () => {
    const storage = restartedStorage([1, 2, 3, 4, 5], [ent(1, 1)], eraftpb.HardState({ term: 1, commit: 1 }));
    // The config still lists the node alone (as when it was bootstrapped). Storage wins.
    const rn = newRawNode(1, [1], storage);
    expect([...rn.raft.prs.keys()].sort()).toEqual([1, 2, 3, 4, 5]);

    rn.campaign();
    const rd = rn.ready();
    expect(rn.raft.state).toBe(StateType.Candidate); // one vote out of five is no majority
    expect(rd.messages.filter((m) => m.msgType === MessageType.MsgRequestVote).map((m) => m.to).sort()).toEqual([2, 3, 4, 5]);
  });

  it('TestRawNodeFreshStartTakesMembersFromConfig2AC', () => {
    const rn = newRawNode(2, [1, 2, 3], new MemoryStorage());
    expect([...rn.raft.prs.keys()].sort()).toEqual([1, 2, 3]);
  });

  it('TestRawNodeRestartHonoursApplied2AC', () => {
    const ents = [ent(1, 1), ent(2, 1, 'a'), ent(3, 1, 'b'), ent(4, 1, 'c')];
    const storage = restartedStorage([1, 2, 3], ents, eraftpb.HardState({ term: 1, commit: 4 }));
    const rn = newRawNode(1, undefined, storage, 2);
    const rd = rn.ready();
    expect(summarizeEntries(rd.committedEntries).map((e) => e.data)).toEqual(['b', 'c']);
    rn.advance(rd);
    expect(rn.hasReady()).toBe(false);
  });

  // A node restarted from its own persisted Readies continues where it stopped.
  it('TestRawNodeRestartAfterPersistedReadies2AC', () => {
    const storage = new MemoryStorage();
    const rn = newRawNode(1, [1], storage);
    rn.campaign();
    handleReady(rn, storage);
    for (const d of ['a', 'b', 'c']) {
      rn.propose(bytes(d));
      handleReady(rn, storage);
    }
    const term = rn.raft.term;

    const again = newRawNode(1, [1], storage, 4);
    expect(again.raft.term).toBe(term);
    expect(again.raft.vote).toBe(1);
    expect(again.raft.raftLog.committed).toBe(4);
    expect(again.raft.raftLog.lastIndex()).toBe(4);
    expect(again.hasReady()).toBe(false);

    again.campaign();
    handleReady(again, storage);
    expect(again.raft.state).toBe(StateType.Leader);
    expect(again.raft.term).toBe(term + 1);
    again.propose(bytes('d'));
    const rd = handleReady(again, storage);
    expect(summarizeEntries(rd.committedEntries).map((e) => e.data)).toEqual(['d']);
    expect(rd.committedEntries[0]!.index).toBe(6);
  });
});
