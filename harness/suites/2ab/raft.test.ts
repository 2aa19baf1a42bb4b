/**
 * 2AB, log replication: TinyKV's replication scenarios over the in-memory network, and the classic
 * replication pitfalls (the known-bug comments name the bug of shared/known-bugs.md a test is there to catch).
 */
import { expect, test } from 'vitest';
import { NONE, StateType, type Raft } from '@impl/raft/raft.ts';
import { MemoryStorage } from '@impl/raft/storage.ts';
import {
  MessageType,
  beat,
  ent,
  entsWithTerms,
  hup,
  logSummary,
  msg,
  newLogWithEnts,
  newMemoryStorageWithEnts,
  newTestConfig,
  newTestRaft,
  nextEnts,
  propose,
  readMessages,
  summarizeEntries,
  type LogSummary,
  type Message,
} from '../../raft-testing/helpers.ts';
import { newNetwork, newNetworkWithConfig, nopStepper } from '../../raft-testing/network.ts';
import { Raft as RaftImpl } from '@impl/raft/raft.ts';

function stateName(s: StateType): string {
  return StateType[s] ?? String(s);
}

function expectState(r: Raft, state: StateType, what: string): void {
  expect(stateName(r.state), what).toBe(stateName(state));
}

/** The summary of a log holding (index, term, data) entries 1..n with the given commit (applied 0). */
function wantLog(committed: number, ...ents: [number, string?][]): LogSummary {
  return {
    committed,
    applied: 0,
    entries: ents.map(([term, data], i) => ({ index: i + 1, term, data: data ?? '' })),
  };
}

const emptyLog: LogSummary = { committed: 0, applied: 0, entries: [] };

// The leader's own progress follows its log: match = last index, next = match + 1, after every proposal.
test('TestProgressLeader2AB', () => {
  const r = newTestRaft(1, [1, 2], 5, 1, new MemoryStorage());
  r.becomeCandidate();
  r.becomeLeader();

  for (let i = 0; i < 5; i++) {
    const pr = r.prs.get(r.id)!;
    expect(pr.match, `before proposal ${i}: match`).toBe(i + 1);
    expect(pr.next, `before proposal ${i}: next`).toBe(pr.match + 1);
    expect(() => r.step(propose(1, 1, 'foo')), `proposal ${i}`).not.toThrow();
  }
});

// A newly elected leader whose log lacks the newest (highest-term) entries overwrites them on the others.
test('TestLeaderElectionOverwriteNewerLogs2AB', () => {
  const cfg = (c: { peers?: number[] }): void => {
    c.peers = [1, 2, 3, 4, 5];
  };
  /** A node whose log holds entries of the given terms, at the last one's term. */
  function entsWithConfig(id: number, ...terms: number[]): Raft {
    const config = newTestConfig(id, [], 5, 1, newMemoryStorageWithEnts(entsWithTerms(...terms)));
    cfg(config);
    const sm = new RaftImpl(config);
    sm.term = terms[terms.length - 1]!;
    return sm;
  }
  /** A node that voted for `vote` in `term` but never got its logs. */
  function votedWithConfig(id: number, vote: number, term: number): Raft {
    const storage = new MemoryStorage();
    storage.setHardState({ term, vote, commit: 0 });
    const config = newTestConfig(id, [], 5, 1, storage);
    cfg(config);
    const sm = new RaftImpl(config);
    sm.term = term;
    return sm;
  }
  // Node 1 won term 1 and replicated one entry to node 2 only; node 3 won term 2 (votes of 4 and 5),
  // wrote an entry and died before sending it.
  const n = newNetworkWithConfig(
    cfg,
    entsWithConfig(1, 1),
    entsWithConfig(2, 1),
    entsWithConfig(3, 2),
    votedWithConfig(4, 3, 2),
    votedWithConfig(5, 3, 2),
  );

  // Node 1 campaigns in term 2: a quorum knows of term 2's election, so it fails; node 1 moves to term 2.
  n.send(hup(1));
  const sm1 = n.raft(1);
  expectState(sm1, StateType.Follower, 'node 1 after its first campaign');
  expect(sm1.term, 'node 1 term').toBe(2);

  // Node 1 campaigns again, in term 3, and wins.
  n.send(hup(1));
  expectState(sm1, StateType.Leader, 'node 1 after its second campaign');
  expect(sm1.term, 'node 1 term').toBe(3);

  // Everybody now has term 1 at index 1 and term 3 at index 2.
  for (const id of [1, 2, 3, 4, 5]) {
    const entries = n.raft(id).raftLog.allEntries();
    expect(entries.length, `node ${id}: entries`).toBe(2);
    expect(entries[0]!.term, `node ${id}: term at index 1`).toBe(1);
    expect(entries[1]!.term, `node ${id}: term at index 2`).toBe(3);
  }
});

test('TestLogReplication2AB', () => {
  const cases: { peers: number; msgs: Message[]; wcommitted: number }[] = [
    { peers: 3, msgs: [propose(1, 1, 'somedata')], wcommitted: 2 },
    { peers: 3, msgs: [propose(1, 1, 'somedata'), hup(2), propose(1, 2, 'somedata')], wcommitted: 4 },
  ];
  cases.forEach((tt, i) => {
    const nt = newNetwork(null, null, null);
    nt.send(hup(1));
    for (const m of tt.msgs) nt.send(m);

    const props = tt.msgs.filter((m) => m.msgType === MessageType.MsgPropose);
    for (const id of [1, 2, 3]) {
      const sm = nt.raft(id);
      expect(sm.raftLog.committed, `#${i}.${id}: committed`).toBe(tt.wcommitted);
      const applied = nextEnts(sm, nt.storage.get(id)!).filter((e) => e.data.length > 0);
      expect(applied.length, `#${i}.${id}: applied proposals`).toBe(props.length);
      props.forEach((m, k) => {
        expect(applied[k]!.data, `#${i}.${id}: data of proposal ${k}`).toEqual(m.entries[0]!.data);
      });
    }
  });
});

test('TestSingleNodeCommit2AB', () => {
  const tt = newNetwork(null);
  tt.send(hup(1));
  tt.send(propose(1, 1, 'some data'));
  tt.send(propose(1, 1, 'some data'));
  expect(tt.raft(1).raftLog.committed).toBe(3);
});

// Entries of an old term are committed once the new leader's no-op (its own term) is, with no new proposal.
test('TestCommitWithoutNewTermEntry2AB', () => {
  const tt = newNetwork(null, null, null, null, null);
  tt.send(hup(1));

  // 1 cannot reach 3, 4, 5
  tt.cut(1, 3);
  tt.cut(1, 4);
  tt.cut(1, 5);

  tt.send(propose(1, 1, 'some data'));
  tt.send(propose(1, 1, 'some data'));

  const sm = tt.raft(1);
  expect(sm.raftLog.committed, 'committed while cut off').toBe(1);

  tt.recover();
  // elect 2 in term 2: its no-op commits everything before it
  tt.send(hup(2));

  expect(sm.raftLog.committed, 'committed after the new election').toBe(4);
});

// A heartbeat response from a follower that lacks entries makes the leader send them.
// catches: a leader that ignores heartbeat responses (an isolated node never catches up).
test('TestCommitWithHeartbeat2AB', () => {
  const tt = newNetwork(null, null, null, null, null);
  tt.send(hup(1));

  tt.isolate(5);
  tt.send(propose(1, 1, 'some data'));
  tt.send(propose(1, 1, 'some data'));

  const sm = tt.raft(5);
  expect(sm.raftLog.committed, 'isolated node commit').toBe(1);

  tt.recover();
  tt.send(beat(1));

  expect(sm.raftLog.committed, 'commit after a heartbeat round').toBe(3);
});

// catches known bug 2 (node 3 must give up when both others reject it) and bug 3 (they reject it because
// its log is behind).
test('TestDuelingCandidates2AB', () => {
  const a = newTestRaft(1, [1, 2, 3], 10, 1, new MemoryStorage());
  const b = newTestRaft(2, [1, 2, 3], 10, 1, new MemoryStorage());
  const c = newTestRaft(3, [1, 2, 3], 10, 1, new MemoryStorage());

  const nt = newNetwork(a, b, c);
  nt.cut(1, 3);

  nt.send(hup(1));
  nt.send(hup(3));

  // 1 wins with the votes of 1 and 2
  expectState(a, StateType.Leader, 'node 1');
  // 3 stays candidate: its own vote and a rejection from 2
  expectState(c, StateType.Candidate, 'node 3');

  nt.recover();

  // 3 campaigns again with a higher term, which disrupts the leader; 1 and 2 reject it (its log is
  // shorter), so everybody ends as a follower in term 2
  nt.send(hup(3));

  const cases = [
    { sm: a, state: StateType.Follower, term: 2, log: wantLog(1, [1]) },
    { sm: b, state: StateType.Follower, term: 2, log: wantLog(1, [1]) },
    { sm: c, state: StateType.Follower, term: 2, log: emptyLog },
  ];
  cases.forEach((tt, i) => {
    expectState(tt.sm, tt.state, `#${i}: state`);
    expect(tt.sm.term, `#${i}: term`).toBe(tt.term);
    expect(logSummary(tt.sm.raftLog), `#${i}: log`).toEqual(tt.log);
  });
});

test('TestCandidateConcede2AB', () => {
  const tt = newNetwork(null, null, null);
  tt.isolate(1);

  tt.send(hup(1));
  tt.send(hup(3));

  // heal the partition
  tt.recover();
  // a heartbeat makes the isolated candidate a follower
  tt.send(beat(3));

  // a proposal to 3 brings node 1's log up to date
  tt.send(propose(3, 3, 'force follower'));
  // a heartbeat brings the commit
  tt.send(beat(3));

  const a = tt.raft(1);
  expectState(a, StateType.Follower, 'node 1');
  expect(a.term, 'node 1 term').toBe(1);
  const want = wantLog(2, [1], [1, 'force follower']);
  for (const id of [1, 2, 3]) {
    expect(logSummary(tt.raft(id).raftLog), `node ${id}: log`).toEqual(want);
  }
});

// An append from a deposed leader (older term) is ignored.
test('TestOldMessages2AB', () => {
  const tt = newNetwork(null, null, null);
  // make 1 leader in term 3
  tt.send(hup(1));
  tt.send(hup(2));
  tt.send(hup(1));
  // an old leader of term 2 trying to make progress: must be ignored
  tt.send(msg({ from: 2, to: 1, msgType: MessageType.MsgAppend, term: 2, entries: [ent(3, 2)] }));
  // commit a new entry
  tt.send(propose(1, 1, 'somedata'));

  const want = wantLog(4, [1], [2], [3], [3, 'somedata']);
  for (const id of [1, 2, 3]) {
    expect(logSummary(tt.raft(id).raftLog), `node ${id}: log`).toEqual(want);
  }
});

// A proposal is replicated and committed when a leader could be elected; otherwise nothing is written.
test('TestProposal2AB', () => {
  const cases = [
    { nt: newNetwork(null, null, null), success: true },
    { nt: newNetwork(null, null, nopStepper), success: true },
    { nt: newNetwork(null, nopStepper, nopStepper), success: false },
    { nt: newNetwork(null, nopStepper, nopStepper, null), success: false },
    { nt: newNetwork(null, nopStepper, nopStepper, null, null), success: true },
  ];
  cases.forEach((tt, i) => {
    // make 1 leader (if it can be), then propose to it
    tt.nt.send(hup(1));
    tt.nt.send(propose(1, 1, 'somedata'));

    const want = tt.success ? wantLog(2, [1], [1, 'somedata']) : emptyLog;
    for (const [id, p] of tt.nt.peers) {
      if (p === nopStepper) continue;
      expect(logSummary(tt.nt.raft(id).raftLog), `#${i}.${id}: log`).toEqual(want);
    }
    expect(tt.nt.raft(1).term, `#${i}: term`).toBe(1);
  });
});

// The follower side of MsgAppend:
// 1. reject if the log has no entry at prevLogIndex with term prevLogTerm;
// 2. replace an existing entry that conflicts with a new one, and everything after it; add the new ones;
// 3. commit min(leaderCommit, index of the last new entry).
// catches known bug 7: the cases without entries (and the one appending entry 2 of the same term) conflict
// with nothing, so the follower's log must stay as long as it was. Also catches a follower that commits
// up to its own last index instead of the last entry the append vouched for.
test('TestHandleMessageType_MsgAppend2AB', () => {
  const app = (init: Partial<Message>): Message => msg({ msgType: MessageType.MsgAppend, ...init });
  const cases = [
    // 1
    { m: app({ term: 3, logTerm: 3, index: 2, commit: 3 }), wIndex: 2, wCommit: 0, wReject: true }, // previous entry mismatches
    { m: app({ term: 3, logTerm: 3, index: 3, commit: 3 }), wIndex: 2, wCommit: 0, wReject: true }, // previous entry does not exist
    // 2
    { m: app({ term: 2, logTerm: 1, index: 1, commit: 1 }), wIndex: 2, wCommit: 1, wReject: false },
    { m: app({ term: 2, logTerm: 0, index: 0, commit: 1, entries: [ent(1, 2)] }), wIndex: 1, wCommit: 1, wReject: false },
    { m: app({ term: 2, logTerm: 2, index: 2, commit: 3, entries: [ent(3, 2), ent(4, 2)] }), wIndex: 4, wCommit: 3, wReject: false },
    { m: app({ term: 2, logTerm: 2, index: 2, commit: 4, entries: [ent(3, 2)] }), wIndex: 3, wCommit: 3, wReject: false },
    { m: app({ term: 2, logTerm: 1, index: 1, commit: 4, entries: [ent(2, 2)] }), wIndex: 2, wCommit: 2, wReject: false },
    // 3
    { m: app({ term: 2, logTerm: 1, index: 1, commit: 3 }), wIndex: 2, wCommit: 1, wReject: false }, // commit up to the last new entry, 1
    { m: app({ term: 2, logTerm: 1, index: 1, commit: 3, entries: [ent(2, 2)] }), wIndex: 2, wCommit: 2, wReject: false },
    { m: app({ term: 2, logTerm: 2, index: 2, commit: 3 }), wIndex: 2, wCommit: 2, wReject: false },
    { m: app({ term: 2, logTerm: 2, index: 2, commit: 4 }), wIndex: 2, wCommit: 2, wReject: false }, // commit up to the last index
  ];
  cases.forEach((tt, i) => {
    const sm = newTestRaft(1, [1], 10, 1, newMemoryStorageWithEnts([ent(1, 1), ent(2, 2)]));
    sm.becomeFollower(2, NONE);

    sm.handleAppendEntries(tt.m);

    expect(sm.raftLog.lastIndex(), `#${i}: lastIndex`).toBe(tt.wIndex);
    expect(sm.raftLog.committed, `#${i}: committed`).toBe(tt.wCommit);
    const m = readMessages(sm);
    expect(m.length, `#${i}: messages`).toBe(1);
    expect(m[0]!.reject, `#${i}: reject`).toBe(tt.wReject);
  });
});

// Vote requests against a log [(1, term 2), (2, term 2)], with both terms equal: granted only to an
// up-to-date log and only if the vote is still free (or already given to that candidate).
// catches known bug 3 (the log up-to-date check).
test('TestRecvMessageType_MsgRequestVote2AB', () => {
  const cases: { state: StateType; index: number; logTerm: number; voteFor: number; wreject: boolean }[] = [
    { state: StateType.Follower, index: 0, logTerm: 0, voteFor: NONE, wreject: true },
    { state: StateType.Follower, index: 0, logTerm: 1, voteFor: NONE, wreject: true },
    { state: StateType.Follower, index: 0, logTerm: 2, voteFor: NONE, wreject: true },
    { state: StateType.Follower, index: 0, logTerm: 3, voteFor: NONE, wreject: false },

    { state: StateType.Follower, index: 1, logTerm: 0, voteFor: NONE, wreject: true },
    { state: StateType.Follower, index: 1, logTerm: 1, voteFor: NONE, wreject: true },
    { state: StateType.Follower, index: 1, logTerm: 2, voteFor: NONE, wreject: true },
    { state: StateType.Follower, index: 1, logTerm: 3, voteFor: NONE, wreject: false },

    { state: StateType.Follower, index: 2, logTerm: 0, voteFor: NONE, wreject: true },
    { state: StateType.Follower, index: 2, logTerm: 1, voteFor: NONE, wreject: true },
    { state: StateType.Follower, index: 2, logTerm: 2, voteFor: NONE, wreject: false },
    { state: StateType.Follower, index: 2, logTerm: 3, voteFor: NONE, wreject: false },

    { state: StateType.Follower, index: 3, logTerm: 0, voteFor: NONE, wreject: true },
    { state: StateType.Follower, index: 3, logTerm: 1, voteFor: NONE, wreject: true },
    { state: StateType.Follower, index: 3, logTerm: 2, voteFor: NONE, wreject: false },
    { state: StateType.Follower, index: 3, logTerm: 3, voteFor: NONE, wreject: false },

    { state: StateType.Follower, index: 3, logTerm: 2, voteFor: 2, wreject: false },
    { state: StateType.Follower, index: 3, logTerm: 2, voteFor: 1, wreject: true },

    { state: StateType.Leader, index: 3, logTerm: 3, voteFor: 1, wreject: true },
    { state: StateType.Candidate, index: 3, logTerm: 3, voteFor: 1, wreject: true },
  ];
  cases.forEach((tt, i) => {
    const sm = newTestRaft(1, [1, 2], 10, 1, new MemoryStorage());
    sm.state = tt.state;
    sm.vote = tt.voteFor;
    sm.raftLog = newLogWithEnts([ent(1, 2), ent(2, 2)]);

    // Same term on both sides: this checks the log comparison and the one-vote rule, not term changes.
    const term = Math.max(sm.raftLog.term(sm.raftLog.lastIndex()), tt.logTerm);
    sm.term = term;
    sm.step(msg({ msgType: MessageType.MsgRequestVote, term, from: 2, index: tt.index, logTerm: tt.logTerm }));

    const msgs = readMessages(sm);
    expect(msgs.length, `#${i}: messages`).toBe(1);
    expect(msgs[0]!.msgType, `#${i}: type`).toBe(MessageType.MsgRequestVoteResponse);
    expect(msgs[0]!.reject, `#${i}: reject`).toBe(tt.wreject);
  });
});

// Every role steps down to follower on a vote request or an append of a higher term; an append names the leader.
test('TestAllServerStepdown2AB', () => {
  const cases = [
    { state: StateType.Follower, wstate: StateType.Follower, wterm: 3, windex: 0 },
    { state: StateType.Candidate, wstate: StateType.Follower, wterm: 3, windex: 0 },
    { state: StateType.Leader, wstate: StateType.Follower, wterm: 3, windex: 1 },
  ];
  const types = [MessageType.MsgRequestVote, MessageType.MsgAppend];
  const tterm = 3;
  cases.forEach((tt, i) => {
    const sm = newTestRaft(1, [1, 2, 3], 10, 1, new MemoryStorage());
    if (tt.state === StateType.Follower) {
      sm.becomeFollower(1, NONE);
    } else if (tt.state === StateType.Candidate) {
      sm.becomeCandidate();
    } else {
      sm.becomeCandidate();
      sm.becomeLeader();
    }

    types.forEach((msgType, j) => {
      sm.step(msg({ from: 2, msgType, term: tterm, logTerm: tterm }));

      expectState(sm, tt.wstate, `#${i}.${j}: state`);
      expect(sm.term, `#${i}.${j}: term`).toBe(tt.wterm);
      expect(sm.raftLog.lastIndex(), `#${i}.${j}: last index`).toBe(tt.windex);
      expect(sm.raftLog.allEntries().length, `#${i}.${j}: entries`).toBe(tt.windex);
      const wlead = msgType === MessageType.MsgRequestVote ? NONE : 2;
      expect(sm.lead, `#${i}.${j}: lead`).toBe(wlead);
    });
  });
});

// A heartbeat carries at most what the follower is known to hold (min(match, committed)): a node that
// comes back from a partition with entries of a deposed leader must not commit them.
// catches: a heartbeat that carries the leader's whole commit index (node 1 would commit stale entries).
test('TestHeartbeatUpdateCommit2AB', () => {
  const cases = [
    { failCnt: 1, successCnt: 1 },
    { failCnt: 5, successCnt: 3 },
    { failCnt: 5, successCnt: 10 },
  ];
  cases.forEach((tt, i) => {
    const sm1 = newTestRaft(1, [1, 2, 3], 10, 1, new MemoryStorage());
    const sm2 = newTestRaft(2, [1, 2, 3], 10, 1, new MemoryStorage());
    const sm3 = newTestRaft(3, [1, 2, 3], 10, 1, new MemoryStorage());
    const nt = newNetwork(sm1, sm2, sm3);
    nt.send(hup(1));
    nt.isolate(1);
    // proposals to the old leader cannot commit
    for (let k = 0; k < tt.failCnt; k++) nt.send(propose(1, 1));
    expect(sm1.raftLog.committed, `#${i}: old leader commit`).toBeLessThanOrEqual(1);

    // proposals to the rest succeed
    nt.send(hup(2));
    for (let k = 0; k < tt.successCnt; k++) nt.send(propose(2, 2));
    const wCommit = 2 + tt.successCnt; // two elections
    expect(sm2.raftLog.committed, `#${i}: node 2 commit`).toBe(wCommit);
    expect(sm3.raftLog.committed, `#${i}: node 3 commit`).toBe(wCommit);

    nt.recover();
    nt.ignore(MessageType.MsgAppend);
    nt.send(beat(2));
    expect(sm1.raftLog.committed, `#${i}: node 1 commit after a heartbeat`).toBeLessThanOrEqual(1);
  });
});

// The leader's next index for a follower moves past what the follower acknowledged.
test('TestLeaderIncreaseNext2AB', () => {
  const previousEnts = [ent(1, 1), ent(2, 1), ent(3, 1)];
  // previous entries + no-op + proposal, plus one
  const wnext = previousEnts.length + 1 + 1 + 1;

  const sm = newTestRaft(1, [1, 2], 10, 1, newMemoryStorageWithEnts(previousEnts));
  const nt = newNetwork(sm, null, null);
  nt.send(hup(1));
  nt.send(propose(1, 1, 'somedata'));

  expect(sm.prs.get(2)?.next).toBe(wnext);
});

// ---- pitfalls ----

// catches known bug 5: a new leader appends an empty entry of its term and sends it to every follower at
// once, before any proposal.
test('TestLeaderAppendsNoopAndBroadcasts2AB', () => {
  const r = newTestRaft(1, [1, 2, 3], 10, 1, newMemoryStorageWithEnts([ent(1, 1), ent(2, 1)]));
  r.term = 1;
  r.becomeCandidate();
  r.becomeLeader();

  expect(summarizeEntries(r.raftLog.allEntries()), 'log').toEqual(summarizeEntries([ent(1, 1), ent(2, 1), ent(3, 2)]));
  const appends = readMessages(r).filter((m) => m.msgType === MessageType.MsgAppend);
  expect(appends.map((m) => m.to).sort(), 'appends sent at once').toEqual([2, 3]);
  for (const m of appends) {
    expect(m.term, `to ${m.to}: term`).toBe(2);
    expect(summarizeEntries(m.entries).at(-1), `to ${m.to}: last entry`).toEqual({ index: 3, term: 2, data: '' });
  }
});

// catches known bug 6: a log that starts after a compaction point (index 100). Index arithmetic must use
// log indexes, not array positions: reading, appending, truncating a conflict, committing, handing out.
test('TestLogIndexArithmeticAfterCompaction2AB', () => {
  const storage = newMemoryStorageWithEnts([ent(101, 5), ent(102, 5), ent(103, 6)], 5);
  const r = newTestRaft(2, [1, 2, 3], 10, 1, storage);
  r.becomeFollower(7, 1);
  const log = r.raftLog;
  expect(log.lastIndex(), 'lastIndex').toBe(103);
  expect(summarizeEntries(log.unstableEntries()), 'unstable at start').toEqual([]);

  // an append right after the compaction point, matching entries 101 and 102, conflicting at 103
  r.step(
    msg({
      from: 1,
      to: 2,
      msgType: MessageType.MsgAppend,
      term: 7,
      index: 100,
      logTerm: 5,
      entries: [ent(101, 5), ent(102, 5), ent(103, 7), ent(104, 7)],
      commit: 102,
    }),
  );
  const resp = readMessages(r);
  expect(resp.map((m) => [m.reject, m.index]), 'response').toEqual([[false, 104]]);
  expect(summarizeEntries(log.allEntries()), 'entries').toEqual(
    summarizeEntries([ent(101, 5), ent(102, 5), ent(103, 7), ent(104, 7)]),
  );
  expect(summarizeEntries(log.unstableEntries()), 'unstable').toEqual(summarizeEntries([ent(103, 7), ent(104, 7)]));
  expect(log.committed, 'committed').toBe(102);
  expect(summarizeEntries(log.nextEnts()), 'nextEnts').toEqual(summarizeEntries([ent(101, 5), ent(102, 5)]));

  // a stale, shorter append must not cut the tail; a mismatching one is rejected with a usable hint
  r.step(msg({ from: 1, to: 2, msgType: MessageType.MsgAppend, term: 7, index: 102, logTerm: 5, commit: 102 }));
  expect(log.lastIndex(), 'lastIndex after a stale append').toBe(104);
  r.step(msg({ from: 1, to: 2, msgType: MessageType.MsgAppend, term: 7, index: 110, logTerm: 7, commit: 102 }));
  const reject = readMessages(r).at(-1)!;
  expect(reject.reject, 'append beyond the log rejected').toBe(true);
  expect(reject.index, 'reject hint').toBeLessThanOrEqual(104);
  expect(reject.index, 'reject hint').toBeGreaterThanOrEqual(102);
});

// catches known bug 6 (leader side): a cluster whose logs all start after a compaction point elects a
// leader, replicates to a follower that lags behind and to one with a conflicting tail, and commits.
test('TestReplicationAfterCompaction2AB', () => {
  const mk = (id: number, ents: ReturnType<typeof ent>[]): Raft => {
    const s = newMemoryStorageWithEnts(ents, 5);
    s.setHardState({ term: 6, vote: 0, commit: 101 });
    return newTestRaft(id, [1, 2, 3], 10, 1, s);
  };
  const a = mk(1, [ent(101, 5), ent(102, 6), ent(103, 6)]);
  const b = mk(2, [ent(101, 5)]); // lags behind
  const c = mk(3, [ent(101, 5), ent(102, 5)]); // conflicting tail
  const nt = newNetwork(a, b, c);

  nt.send(hup(1));
  expectState(a, StateType.Leader, 'node 1');
  nt.send(propose(1, 1, 'x'));

  const want = summarizeEntries([ent(101, 5), ent(102, 6), ent(103, 6), ent(104, 7), ent(105, 7, 'x')]);
  for (const r of [a, b, c]) {
    expect(summarizeEntries(r.raftLog.allEntries()), `node ${r.id}: entries`).toEqual(want);
    expect(r.raftLog.committed, `node ${r.id}: committed`).toBe(105);
  }
});

// catches known bug 7: appends that conflict with nothing (empty, or repeating entries the follower has,
// or arriving late after a longer one) never shorten the follower's log.
test('TestFollowerKeepsLogOnNonConflictingAppend2AB', () => {
  const r = newTestRaft(1, [1, 2, 3], 10, 1, newMemoryStorageWithEnts([ent(1, 1), ent(2, 1), ent(3, 1)]));
  r.becomeFollower(1, 2);
  const appends = [
    msg({ from: 2, to: 1, msgType: MessageType.MsgAppend, term: 1, index: 1, logTerm: 1 }),
    msg({ from: 2, to: 1, msgType: MessageType.MsgAppend, term: 1, index: 0, logTerm: 0, entries: [ent(1, 1)] }),
    msg({ from: 2, to: 1, msgType: MessageType.MsgAppend, term: 1, index: 1, logTerm: 1, entries: [ent(2, 1)] }),
    msg({ from: 2, to: 1, msgType: MessageType.MsgAppend, term: 1, index: 3, logTerm: 1 }),
  ];
  appends.forEach((m, i) => {
    r.step(m);
    expect(r.raftLog.lastIndex(), `after append #${i}: lastIndex`).toBe(3);
    expect(summarizeEntries(r.raftLog.unstableEntries()), `after append #${i}: unstable`).toEqual([]);
    const resp = readMessages(r);
    expect(resp.map((x) => x.reject), `after append #${i}: accepted`).toEqual([false]);
  });
});

// The leader skips back over a follower's missing entries in one step, using the follower's hint, instead
// of retrying one index at a time.
test('TestFastBackoffOnRejectedAppend2AB', () => {
  const leaderEnts = Array.from({ length: 200 }, (_, i) => ent(i + 1, 1));
  const followerEnts = leaderEnts.slice(0, 10);
  const lead = newTestRaft(1, [1, 2, 3], 10, 1, newMemoryStorageWithEnts(leaderEnts));
  const follower = newTestRaft(2, [1, 2, 3], 10, 1, newMemoryStorageWithEnts(followerEnts));
  lead.term = 1;
  follower.term = 1;
  const nt = newNetwork(lead, follower, nopStepper);
  let appendsToFollower = 0;
  nt.msgHook = (m) => {
    if (m.msgType === MessageType.MsgAppend && m.to === 2) appendsToFollower++;
    return true;
  };

  nt.send(hup(1));

  expectState(lead, StateType.Leader, 'node 1');
  expect(follower.raftLog.lastIndex(), 'follower caught up').toBe(201);
  expect(follower.raftLog.committed, 'follower commit').toBe(201);
  expect(appendsToFollower, 'appends needed to catch up a follower 190 entries behind').toBeLessThanOrEqual(4);
});

// A proposal with no entry (bad input) leaves the leader's log as it was.
test('TestEmptyProposalIsRefused2AB', () => {
  const r = newTestRaft(1, [1], 10, 1, new MemoryStorage());
  r.step(hup(1));
  const last = r.raftLog.lastIndex();
  try {
    r.step(msg({ msgType: MessageType.MsgPropose, from: 1, to: 1, entries: [] }));
  } catch {
    // refusing it with an error is fine too
  }
  expect(r.raftLog.lastIndex(), 'last index').toBe(last);
});

// catches known bug 8 (Raft paper, figure 8): a leader of term 4 finds an entry of term 2 on a majority.
// Counting replicas must not commit it (a node holding a term-3 entry at that index could still win and
// overwrite it); it becomes committed only together with an entry of term 4.
test('TestLeaderCommitsOldTermOnlyThroughNewEntry2AB', () => {
  const storage = newMemoryStorageWithEnts([ent(1, 1), ent(2, 2)]);
  storage.setHardState({ term: 3, vote: 0, commit: 1 });
  const r = newTestRaft(1, [1, 2, 3, 4, 5], 10, 1, storage);
  r.becomeCandidate(); // term 4
  r.becomeLeader(); // no-op at index 3, term 4
  readMessages(r);

  const ack = (from: number, index: number): void =>
    r.step(msg({ from, to: 1, msgType: MessageType.MsgAppendResponse, term: r.term, index }));
  ack(2, 2);
  ack(3, 2);
  expect(r.raftLog.committed, 'index 2 (term 2) on 3 of 5 nodes').toBe(1);

  ack(2, 3);
  expect(r.raftLog.committed, 'index 3 (term 4) on 2 of 5 nodes').toBe(1);
  ack(4, 3);
  expect(r.raftLog.committed, 'index 3 (term 4) on 3 of 5 nodes').toBe(3);
  expect(summarizeEntries(r.raftLog.nextEnts()), 'entries handed out').toEqual(
    summarizeEntries([ent(1, 1), ent(2, 2), ent(3, 4)]),
  );
});
