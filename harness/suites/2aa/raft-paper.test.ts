/**
 * 2AA, leader election: the scenarios of the Raft paper (sections 5.1 and 5.2), one raft driven by hand.
 * Each scenario sets a state up, steps messages or ticks, and checks the outbox and the state.
 */
import { expect, test } from 'vitest';
import { NONE, StateType } from '@impl/raft/raft.ts';
import { MemoryStorage } from '@impl/raft/storage.ts';
import {
  MessageType,
  hup,
  idsBySize,
  msg,
  msgSummary,
  newTestRaft,
  propose,
  readMessages,
  sortMessages,
} from '../../raft-testing/helpers.ts';

/** An empty message summary with the given fields, for exact outbox comparisons. */
function expected(init: Partial<ReturnType<typeof msgSummary>>): ReturnType<typeof msgSummary> {
  return {
    msgType: MessageType.MsgHup,
    from: 0,
    to: 0,
    term: 0,
    index: 0,
    logTerm: 0,
    commit: 0,
    reject: false,
    entries: [],
    ...init,
  };
}

// Section 5.1: a server that sees a larger term adopts it; a candidate or leader that does reverts to follower.
function testUpdateTermFromMessage(state: StateType): void {
  const r = newTestRaft(1, [1, 2, 3], 10, 1, new MemoryStorage());
  if (state === StateType.Follower) {
    r.becomeFollower(1, 2);
  } else if (state === StateType.Candidate) {
    r.becomeCandidate();
  } else {
    r.becomeCandidate();
    r.becomeLeader();
  }

  r.step(msg({ msgType: MessageType.MsgAppend, term: 2 }));

  expect(r.term, 'term').toBe(2);
  expect(r.state, 'state').toBe(StateType.Follower);
}

test('TestFollowerUpdateTermFromMessage2AA', () => testUpdateTermFromMessage(StateType.Follower));
test('TestCandidateUpdateTermFromMessage2AA', () => testUpdateTermFromMessage(StateType.Candidate));
test('TestLeaderUpdateTermFromMessage2AA', () => testUpdateTermFromMessage(StateType.Leader));

// Section 5.2: servers start as followers.
test('TestStartAsFollower2AA', () => {
  const r = newTestRaft(1, [1, 2, 3], 10, 1, new MemoryStorage());
  expect(r.state).toBe(StateType.Follower);
});

// Section 5.2: on a heartbeat tick the leader sends MsgHeartbeat (no index, no log term, no entries) to every follower.
test('TestLeaderBcastBeat2AA', () => {
  const hi = 1;
  const r = newTestRaft(1, [1, 2, 3], 10, hi, new MemoryStorage());
  r.becomeCandidate();
  r.becomeLeader();
  r.step(propose(1, 1));
  readMessages(r);

  for (let i = 0; i < hi; i++) r.tick();

  const msgs = sortMessages(readMessages(r)).map(msgSummary);
  expect(msgs).toEqual([
    expected({ from: 1, to: 2, term: 1, msgType: MessageType.MsgHeartbeat }),
    expected({ from: 1, to: 3, term: 1, msgType: MessageType.MsgHeartbeat }),
  ]);
});

// Section 5.2: a follower (or candidate) that hears nothing for an election timeout increments its term,
// becomes a candidate, votes for itself and asks every other server for its vote.
function testNonleaderStartElection(state: StateType): void {
  const et = 10;
  const r = newTestRaft(1, [1, 2, 3], et, 1, new MemoryStorage());
  if (state === StateType.Follower) r.becomeFollower(1, 2);
  else r.becomeCandidate();

  for (let i = 1; i < 2 * et; i++) r.tick();

  expect(r.term, 'term').toBe(2);
  expect(r.state, 'state').toBe(StateType.Candidate);
  expect(r.votes.get(r.id), 'vote for self').toBe(true);
  const msgs = sortMessages(readMessages(r)).map(msgSummary);
  expect(msgs).toEqual([
    expected({ from: 1, to: 2, term: 2, msgType: MessageType.MsgRequestVote }),
    expected({ from: 1, to: 3, term: 2, msgType: MessageType.MsgRequestVote }),
  ]);
}

test('TestFollowerStartElection2AA', () => testNonleaderStartElection(StateType.Follower));
test('TestCandidateStartNewElection2AA', () => testNonleaderStartElection(StateType.Candidate));

// Section 5.2: in one round of votes a candidate wins (a majority granted), or stays candidate (no majority yet).
// catches known bug 1 (the size-1 case: a group of one must elect itself without any vote message).
test('TestLeaderElectionInOneRoundRPC2AA', () => {
  const cases: { size: number; votes: Record<number, boolean>; state: StateType }[] = [
    { size: 1, votes: {}, state: StateType.Leader },
    { size: 3, votes: { 2: true, 3: true }, state: StateType.Leader },
    { size: 3, votes: { 2: true }, state: StateType.Leader },
    { size: 5, votes: { 2: true, 3: true, 4: true, 5: true }, state: StateType.Leader },
    { size: 5, votes: { 2: true, 3: true, 4: true }, state: StateType.Leader },
    { size: 5, votes: { 2: true, 3: true }, state: StateType.Leader },

    { size: 3, votes: {}, state: StateType.Candidate },
    { size: 5, votes: { 2: true }, state: StateType.Candidate },
    { size: 5, votes: { 2: false, 3: false }, state: StateType.Candidate },
    { size: 5, votes: {}, state: StateType.Candidate },
  ];
  cases.forEach((tt, i) => {
    const r = newTestRaft(1, idsBySize(tt.size), 10, 1, new MemoryStorage());
    r.step(hup(1));
    for (const [id, granted] of Object.entries(tt.votes)) {
      r.step(msg({ from: Number(id), to: 1, term: r.term, msgType: MessageType.MsgRequestVoteResponse, reject: !granted }));
    }
    expect(r.state, `#${i}: state`).toBe(tt.state);
    expect(r.term, `#${i}: term`).toBe(1);
  });
});

// Section 5.2: a follower votes for at most one candidate per term, first come first served.
test('TestFollowerVote2AA', () => {
  const cases = [
    { vote: NONE, nvote: 1, wreject: false },
    { vote: NONE, nvote: 2, wreject: false },
    { vote: 1, nvote: 1, wreject: false },
    { vote: 2, nvote: 2, wreject: false },
    { vote: 1, nvote: 2, wreject: true },
    { vote: 2, nvote: 1, wreject: true },
  ];
  cases.forEach((tt, i) => {
    const r = newTestRaft(1, [1, 2, 3], 10, 1, new MemoryStorage());
    r.term = 1;
    r.vote = tt.vote;

    r.step(msg({ from: tt.nvote, to: 1, term: 1, msgType: MessageType.MsgRequestVote }));

    expect(readMessages(r).map(msgSummary), `#${i}`).toEqual([
      expected({ from: 1, to: tt.nvote, term: 1, msgType: MessageType.MsgRequestVoteResponse, reject: tt.wreject }),
    ]);
  });
});

// Section 5.2: a candidate that receives an append from a leader of at least its own term returns to follower.
test('TestCandidateFallback2AA', () => {
  const cases = [
    msg({ from: 2, to: 1, term: 1, msgType: MessageType.MsgAppend }),
    msg({ from: 2, to: 1, term: 2, msgType: MessageType.MsgAppend }),
  ];
  cases.forEach((m, i) => {
    const r = newTestRaft(1, [1, 2, 3], 10, 1, new MemoryStorage());
    r.step(hup(1));
    expect(r.state, `#${i}: before`).toBe(StateType.Candidate);

    r.step(m);

    expect(r.state, `#${i}: state`).toBe(StateType.Follower);
    expect(r.term, `#${i}: term`).toBe(m.term);
  });
});

// Section 5.2: election timeouts are randomized; every value in (et, 2et) shows up.
// catches known bug 4 (a timeout that is never re-drawn gives a single value).
function testNonleaderElectionTimeoutRandomized(state: StateType): void {
  const et = 10;
  const r = newTestRaft(1, [1, 2, 3], et, 1, new MemoryStorage());
  const timeouts = new Set<number>();
  for (let round = 0; round < 50 * et; round++) {
    if (state === StateType.Follower) r.becomeFollower(r.term + 1, 2);
    else r.becomeCandidate();

    let time = 0;
    while (readMessages(r).length === 0) {
      r.tick();
      time++;
      if (time > 10 * et) throw new Error(`round ${round}: no election after ${time} ticks`);
    }
    timeouts.add(time);
  }
  for (let d = et + 1; d < 2 * et; d++) {
    expect(timeouts.has(d), `a timeout of ${d} ticks should happen`).toBe(true);
  }
}

test('TestFollowerElectionTimeoutRandomized2AA', () => testNonleaderElectionTimeoutRandomized(StateType.Follower));
test('TestCandidateElectionTimeoutRandomized2AA', () => testNonleaderElectionTimeoutRandomized(StateType.Candidate));

// Section 5.2: thanks to randomization, usually a single server times out first.
function testNonleadersElectionTimeoutNonconflict(state: StateType): void {
  const et = 10;
  const size = 5;
  const ids = idsBySize(size);
  const rs = ids.map((id) => newTestRaft(id, ids, et, 1, new MemoryStorage()));
  let conflicts = 0;
  for (let round = 0; round < 1000; round++) {
    for (const r of rs) {
      if (state === StateType.Follower) r.becomeFollower(r.term + 1, NONE);
      else r.becomeCandidate();
    }
    let timeoutNum = 0;
    let ticks = 0;
    while (timeoutNum === 0) {
      if (++ticks > 10 * et) throw new Error(`round ${round}: nobody timed out after ${ticks} ticks`);
      for (const r of rs) {
        r.tick();
        if (readMessages(r).length > 0) timeoutNum++;
      }
    }
    if (timeoutNum > 1) conflicts++;
  }
  expect(conflicts / 1000, 'share of rounds where several servers timed out at once').toBeLessThanOrEqual(0.3);
}

test('TestFollowersElectionTimeoutNonconflict2AA', () => testNonleadersElectionTimeoutNonconflict(StateType.Follower));
test('TestCandidatesElectionTimeoutNonconflict2AA', () => testNonleadersElectionTimeoutNonconflict(StateType.Candidate));

