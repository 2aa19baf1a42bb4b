/**
 * 2AA, leader election: TinyKV's election scenarios over the in-memory network, and the classic election
 * pitfalls (the known-bug comments name the bug of shared/known-bugs.md a test is there to catch).
 */
import { expect, test } from 'vitest';
import { NONE, Raft, StateType } from '@impl/raft/raft.ts';
import { MemoryStorage } from '@impl/raft/storage.ts';
import {
  MessageType,
  beat,
  ent,
  extremeRandom,
  hup,
  msg,
  newLogWithEnts,
  newMemoryStorageWithEnts,
  newTestConfig,
  newTestRaft,
  readMessages,
  tickUntil,
} from '../../raft-testing/helpers.ts';
import { newNetwork, newNetworkWithConfig, nopStepper } from '../../raft-testing/network.ts';

function stateName(s: StateType): string {
  return StateType[s] ?? String(s);
}

function expectState(r: Raft, state: StateType, what: string): void {
  expect(stateName(r.state), what).toBe(stateName(state));
}

test('TestLeaderElection2AA', () => {
  const cases = [
    { nt: newNetworkWithConfig(undefined, null, null, null), state: StateType.Leader, term: 1 },
    { nt: newNetworkWithConfig(undefined, null, null, nopStepper), state: StateType.Leader, term: 1 },
    { nt: newNetworkWithConfig(undefined, null, nopStepper, nopStepper), state: StateType.Candidate, term: 1 },
    { nt: newNetworkWithConfig(undefined, null, nopStepper, nopStepper, null), state: StateType.Candidate, term: 1 },
    { nt: newNetworkWithConfig(undefined, null, nopStepper, nopStepper, null, null), state: StateType.Leader, term: 1 },
  ];
  cases.forEach((tt, i) => {
    tt.nt.send(hup(1));
    const sm = tt.nt.raft(1);
    expectState(sm, tt.state, `#${i}: state`);
    expect(sm.term, `#${i}: term`).toBe(tt.term);
  });
});

// Every node can campaign and win in turn, starting from a cluster that already had leaders.
// catches known bug 5 (part): a new leader that does not broadcast its no-op at once leaves the others'
// logs behind its own, so the next campaigner's log is not up to date and it cannot win.
test('TestLeaderCycle2AA', () => {
  const n = newNetwork(null, null, null);
  for (let campaigner = 1; campaigner <= 3; campaigner++) {
    n.send(hup(campaigner));
    for (const id of [1, 2, 3]) {
      const sm = n.raft(id);
      if (id === campaigner) expectState(sm, StateType.Leader, `campaigning node ${id}`);
      else expectState(sm, StateType.Follower, `after campaign of node ${campaigner}, node ${id}`);
    }
  }
});

// A vote request of a higher term is granted from any state, and the voter steps down to that term first.
// catches known bug 3 (part): granting a vote without stepping down to the higher term (the candidate and
// leader cases already voted in their own term, so they can only grant after the vote is reset).
test('TestVoteFromAnyState2AA', () => {
  for (const st of [StateType.Follower, StateType.Candidate, StateType.Leader]) {
    const r = newTestRaft(1, [1, 2, 3], 10, 1, new MemoryStorage());
    r.term = 1;
    if (st === StateType.Follower) {
      r.becomeFollower(r.term, 3);
    } else if (st === StateType.Candidate) {
      r.becomeCandidate();
    } else {
      r.becomeCandidate();
      r.becomeLeader();
    }
    readMessages(r);

    const newTerm = r.term + 1;
    r.step(msg({ from: 2, to: 1, msgType: MessageType.MsgRequestVote, term: newTerm, logTerm: newTerm, index: 42 }));

    const what = stateName(st);
    expect(r.msgs.length, `${what}: response messages`).toBe(1);
    const resp = r.msgs[0]!;
    expect(resp.msgType, `${what}: response type`).toBe(MessageType.MsgRequestVoteResponse);
    expect(resp.reject, `${what}: rejected`).toBe(false);
    expectState(r, StateType.Follower, `${what}: state`);
    expect(r.term, `${what}: term`).toBe(newTerm);
    expect(r.vote, `${what}: vote`).toBe(2);
  }
});

// catches known bug 1: a group of one must elect itself; no vote response will ever arrive.
test('TestSingleNodeCandidate2AA', () => {
  const tt = newNetwork(null);
  tt.send(hup(1));
  expectState(tt.raft(1), StateType.Leader, 'state');
});

function testCandidateResetTerm(mt: number): void {
  const a = newTestRaft(1, [1, 2, 3], 10, 1, new MemoryStorage());
  const b = newTestRaft(2, [1, 2, 3], 10, 1, new MemoryStorage());
  const c = newTestRaft(3, [1, 2, 3], 10, 1, new MemoryStorage());
  const nt = newNetwork(a, b, c);

  nt.send(hup(1));
  expectState(a, StateType.Leader, 'a');
  expectState(b, StateType.Follower, 'b');
  expectState(c, StateType.Follower, 'c');

  // isolate 3 and raise the term of the rest
  nt.isolate(3);
  nt.send(hup(2));
  nt.send(hup(1));
  expectState(a, StateType.Leader, 'a after re-election');
  expectState(b, StateType.Follower, 'b after re-election');

  tickUntil(c, () => c.state === StateType.Candidate);

  nt.recover();

  // the leader reaches the isolated candidate, which must fall back to follower and take the leader's term
  nt.send(msg({ from: 1, to: 3, term: a.term, msgType: mt }));

  expectState(c, StateType.Follower, 'c after the leader message');
  expect(c.term, "c's term").toBe(a.term);
}

test('TestCandidateResetTermMessageType_MsgHeartbeat2AA', () => testCandidateResetTerm(MessageType.MsgHeartbeat));
test('TestCandidateResetTermMessageType_MsgAppend2AA', () => testCandidateResetTerm(MessageType.MsgAppend));

// An isolated follower times out and campaigns with a higher term. When the leader's (older-term) heartbeat
// finally reaches it, its answer carries the higher term, which makes the leader step down.
test('TestDisruptiveFollower2AA', () => {
  const n1 = newTestRaft(1, [1, 2, 3], 10, 1, new MemoryStorage());
  const n2 = newTestRaft(2, [1, 2, 3], 10, 1, new MemoryStorage());
  const n3 = newTestRaft(3, [1, 2, 3], 10, 1, new MemoryStorage());
  n1.becomeFollower(1, NONE);
  n2.becomeFollower(1, NONE);
  n3.becomeFollower(1, NONE);
  const nt = newNetwork(n1, n2, n3);

  nt.send(hup(1));
  expectState(n1, StateType.Leader, 'node 1');
  expectState(n2, StateType.Follower, 'node 2');
  expectState(n3, StateType.Follower, 'node 3');

  tickUntil(n3, () => n3.state === StateType.Candidate);

  expectState(n1, StateType.Leader, 'node 1');
  expectState(n2, StateType.Follower, 'node 2');
  expectState(n3, StateType.Candidate, 'node 3');
  expect(n1.term, 'node 1 term').toBe(2);
  expect(n2.term, 'node 2 term').toBe(2);
  expect(n3.term, 'node 3 term').toBe(3);

  nt.send(msg({ from: 1, to: 3, term: n1.term, msgType: MessageType.MsgHeartbeat }));

  expectState(n1, StateType.Follower, 'node 1 after the late heartbeat');
  expect(n1.term, 'node 1 term after the late heartbeat').toBe(3);
});

// Only a leader answers MsgBeat, with one heartbeat per follower.
test('TestRecvMessageType_MsgBeat2AA', () => {
  const cases = [
    { state: StateType.Leader, wMsg: 2 },
    { state: StateType.Candidate, wMsg: 0 },
    { state: StateType.Follower, wMsg: 0 },
  ];
  cases.forEach((tt, i) => {
    const sm = newTestRaft(1, [1, 2, 3], 10, 1, new MemoryStorage());
    sm.raftLog = newLogWithEnts([ent(1, 0), ent(2, 1)]);
    sm.term = 1;
    sm.state = tt.state;
    sm.step(beat(1));

    const msgs = readMessages(sm);
    expect(msgs.length, `#${i}: messages`).toBe(tt.wMsg);
    for (const m of msgs) expect(m.msgType, `#${i}: type`).toBe(MessageType.MsgHeartbeat);
  });
});

// MsgHup to a leader changes nothing.
test('TestCampaignWhileLeader2AA', () => {
  const r = new Raft(newTestConfig(1, [1], 5, 1, new MemoryStorage()));
  expectState(r, StateType.Follower, 'new node');
  r.step(hup(1));
  expectState(r, StateType.Leader, 'after a single-node election');
  const term = r.term;
  r.step(hup(1));
  expectState(r, StateType.Leader, 'after a second MsgHup');
  expect(r.term, 'term').toBe(term);
});

// After a split vote, the next round elects a leader.
test('TestSplitVote2AA', () => {
  const n1 = newTestRaft(1, [1, 2, 3], 10, 1, new MemoryStorage());
  const n2 = newTestRaft(2, [1, 2, 3], 10, 1, new MemoryStorage());
  const n3 = newTestRaft(3, [1, 2, 3], 10, 1, new MemoryStorage());
  n1.becomeFollower(1, NONE);
  n2.becomeFollower(1, NONE);
  n3.becomeFollower(1, NONE);
  const nt = newNetwork(n1, n2, n3);
  nt.send(hup(1));

  // the leader goes down; the two followers split the vote
  nt.isolate(1);
  nt.send(hup(2), hup(3));

  expect(n2.term, 'peer 2 term').toBe(3);
  expect(n3.term, 'peer 3 term').toBe(3);
  expectState(n2, StateType.Candidate, 'peer 2');
  expectState(n3, StateType.Candidate, 'peer 3');

  // node 2 times out first
  nt.send(hup(2));

  expect(n2.term, 'peer 2 term').toBe(4);
  expect(n3.term, 'peer 3 term').toBe(4);
  expectState(n2, StateType.Leader, 'peer 2');
  expectState(n3, StateType.Follower, 'peer 3');
});

// ---- pitfalls ----

// catches known bug 1: a lone node elects itself on its own timer, without sending or receiving any vote.
test('TestSingleNodeElectsItselfOnTimeout2AA', () => {
  const r = newTestRaft(1, [1], 10, 1, new MemoryStorage());
  tickUntil(r, () => r.state === StateType.Leader, 20);
  expect(r.term, 'term').toBe(1);
  expect(r.lead, 'lead').toBe(1);
  const votes = readMessages(r).filter((m) => m.msgType === MessageType.MsgRequestVote);
  expect(votes, 'vote requests').toEqual([]);
});

// catches known bug 2: a candidate rejected by a majority steps down to follower (same term) instead of
// campaigning on; a minority of rejections changes nothing.
test('TestCandidateStepsDownOnMajorityRejection2AA', () => {
  const cases = [
    { size: 3, rejecters: [2, 3], state: StateType.Follower },
    { size: 5, rejecters: [2, 3, 4], state: StateType.Follower },
    { size: 5, rejecters: [2, 3], state: StateType.Candidate },
  ];
  cases.forEach((tt, i) => {
    const ids = Array.from({ length: tt.size }, (_, k) => k + 1);
    const r = newTestRaft(1, ids, 10, 1, new MemoryStorage());
    r.step(hup(1));
    for (const id of tt.rejecters) {
      r.step(msg({ from: id, to: 1, term: r.term, msgType: MessageType.MsgRequestVoteResponse, reject: true }));
    }
    expectState(r, tt.state, `#${i} (size ${tt.size}, ${tt.rejecters.length} rejections)`);
    expect(r.term, `#${i}: term`).toBe(1);
  });
});

// catches known bug 2 (in a network): two candidates of the same term; the one the others reject must
// stop campaigning and follow the winner.
test('TestRejectedCandidateFollowsWinner2AA', () => {
  const nt = newNetwork(null, null, null);
  nt.cut(1, 3);
  nt.send(hup(1));
  nt.recover();
  const n3 = nt.raft(3);
  // node 3 never heard of the election and campaigns in term 1 too, where 1 and 2 have already voted
  nt.send(hup(3));
  expect(n3.term, 'node 3 term').toBe(1);
  expectState(n3, StateType.Follower, 'node 3 after two rejections');
});

// catches known bug 3 (part): a vote request of a higher term makes a voter that already voted in its
// own term step down and vote again; in the same term the earlier vote stands.
test('TestVoteAfterHigherTerm2AA', () => {
  const r = newTestRaft(1, [1, 2, 3], 10, 1, new MemoryStorage());
  r.becomeFollower(1, NONE);
  r.step(msg({ from: 2, to: 1, term: 1, msgType: MessageType.MsgRequestVote }));
  expect(readMessages(r)[0]?.reject, 'first vote of term 1').toBe(false);

  r.step(msg({ from: 3, to: 1, term: 1, msgType: MessageType.MsgRequestVote }));
  expect(readMessages(r)[0]?.reject, 'second candidate of term 1').toBe(true);
  expect(r.vote, 'vote in term 1').toBe(2);

  r.step(msg({ from: 3, to: 1, term: 2, msgType: MessageType.MsgRequestVote }));
  const resp = readMessages(r);
  expect(resp.length, 'responses').toBe(1);
  expect(resp[0]!.reject, 'candidate of term 2').toBe(false);
  expect(resp[0]!.term, 'response term').toBe(2);
  expect(r.term, 'term').toBe(2);
  expect(r.vote, 'vote in term 2').toBe(3);
});

// catches known bug 3 (part): the log up-to-date check. A voter refuses a candidate whose last log term
// is lower, or equal with a shorter log, even in a new term where it has not voted yet.
test('TestVoteRequiresUpToDateLog2AA', () => {
  const cases = [
    { logTerm: 1, index: 9, wreject: true }, // lower last term, longer log
    { logTerm: 2, index: 1, wreject: true }, // same last term, shorter log
    { logTerm: 2, index: 2, wreject: false }, // same last term, same length
    { logTerm: 3, index: 1, wreject: false }, // higher last term, shorter log
  ];
  cases.forEach((tt, i) => {
    const r = newTestRaft(1, [1, 2, 3], 10, 1, newMemoryStorageWithEnts([ent(1, 1), ent(2, 2)]));
    r.step(msg({ from: 2, to: 1, term: 5, msgType: MessageType.MsgRequestVote, logTerm: tt.logTerm, index: tt.index }));
    const resp = readMessages(r);
    expect(resp.length, `#${i}: responses`).toBe(1);
    expect(resp[0]!.reject, `#${i}: reject`).toBe(tt.wreject);
    expect(r.term, `#${i}: term`).toBe(5);
    expect(r.vote, `#${i}: vote`).toBe(tt.wreject ? NONE : 2);
  });
});

// catches known bug 4: the election timeout is drawn from the injected random source, within
// [electionTick, 2 * electionTick): at the low end an election starts after exactly electionTick ticks,
// at the high end after exactly 2 * electionTick - 1.
test('TestElectionTimeoutBounds2AA', () => {
  const et = 10;
  for (const end of ['low', 'high'] as const) {
    const want = end === 'low' ? et : 2 * et - 1;
    for (const role of ['follower', 'candidate'] as const) {
      const random = extremeRandom(end);
      const r = newTestRaft(1, [1, 2, 3], et, 1, new MemoryStorage(), random);
      if (role === 'follower') r.becomeFollower(r.term + 1, 2);
      else r.becomeCandidate();
      readMessages(r);
      const drawsBefore = random.draws;
      let ticks = 0;
      while (readMessages(r).length === 0) {
        r.tick();
        ticks++;
        if (ticks > 4 * et) throw new Error(`${end}/${role}: no election after ${ticks} ticks`);
      }
      expect(ticks, `${end} end, ${role}: ticks until the election`).toBe(want);
      expect(random.draws, `${end} end, ${role}: the new election draws a new timeout`).toBeGreaterThan(drawsBefore);
    }
  }
});

// catches known bug 6 (2AA part): the log's indexes after a compaction. The first entry is not entry 1:
// last index, terms (including the compaction point's) and a campaign's (index, logTerm) must be right.
test('TestLogIndexesAfterCompaction2AA', () => {
  const storage = newMemoryStorageWithEnts([ent(101, 5), ent(102, 6), ent(103, 6)], 5);
  const r = newTestRaft(1, [1, 2, 3], 10, 1, storage);
  const log = r.raftLog;
  expect(log.firstIndex(), 'firstIndex').toBe(101);
  expect(log.lastIndex(), 'lastIndex').toBe(103);
  expect(log.term(100), 'term of the compaction point').toBe(5);
  expect(log.term(102), 'term(102)').toBe(6);
  expect(() => log.term(99), 'term before the compaction point').toThrow();
  expect(() => log.term(104), 'term beyond the last entry').toThrow();
  expect(log.committed, 'committed').toBe(100);
  expect(log.stabled, 'stabled').toBe(103);

  r.step(hup(1));
  const reqs = readMessages(r).filter((m) => m.msgType === MessageType.MsgRequestVote);
  expect(reqs.length, 'vote requests').toBe(2);
  for (const m of reqs) {
    expect(m.index, 'vote request index').toBe(103);
    expect(m.logTerm, 'vote request logTerm').toBe(6);
  }
});

// A restarted node keeps its term and its vote: it must not vote twice in a term after a restart.
test('TestRestartKeepsTermAndVote2AA', () => {
  const storage = new MemoryStorage();
  storage.setHardState({ term: 4, vote: 3, commit: 0 });
  const r = newTestRaft(1, [1, 2, 3], 10, 1, storage);
  expect(r.term, 'term').toBe(4);
  expect(r.vote, 'vote').toBe(3);
  r.step(msg({ from: 2, to: 1, term: 4, msgType: MessageType.MsgRequestVote }));
  expect(readMessages(r)[0]?.reject, 'second vote in term 4').toBe(true);
});
