/**
 * 2AA, the timing rules: which messages reset a follower's election timer and which must not. A timer reset
 * by the wrong message keeps a group without a leader (a node that hears only refused vote requests never
 * campaigns) or deposes a healthy leader (a node that ignores its heartbeats campaigns anyway).
 *
 * Each test puts node 1 (of 1, 2, 3; election timeout 10 ticks, heartbeat 1) in a known state, lets 5 ticks
 * pass, hands it one message and reads its elapsed election time.
 */
import { describe, expect, test } from 'vitest';
import { Raft, StateType } from '@impl/raft/raft.ts';
import { MessageType, msg, newTestMemoryStorage, newTestRaft, propose, readMessages } from '../../raft-testing/helpers.ts';

const ELECTION = 10;

/** Node 1, a follower in `term` (following `leader` when given), after 5 ticks. */
function followerAfterTicks(term: number, leader?: number): Raft {
  const r = newTestRaft(1, [1, 2, 3], ELECTION, 1, newTestMemoryStorage([1, 2, 3]));
  r.becomeFollower(term, leader ?? 0);
  for (let i = 0; i < 5; i++) r.tick();
  readMessages(r);
  expect(r.electionElapsed, 'the follower counted its ticks').toBe(5);
  return r;
}

describe('2AA: what resets a follower election timer', () => {
  test('TestHeartbeatFromLeaderResetsTimer2AA', () => {
    const r = followerAfterTicks(2, 2);
    r.step(msg({ msgType: MessageType.MsgHeartbeat, from: 2, to: 1, term: 2 }));
    expect(r.electionElapsed).toBe(0);
  });

  test('TestAppendFromLeaderResetsTimer2AA', () => {
    const r = followerAfterTicks(2, 2);
    r.step(msg({ msgType: MessageType.MsgAppend, from: 2, to: 1, term: 2, index: 0, logTerm: 0 }));
    expect(r.electionElapsed).toBe(0);
  });

  test('TestGrantedVoteResetsTimer2AA', () => {
    const r = followerAfterTicks(2);
    r.step(msg({ msgType: MessageType.MsgRequestVote, from: 3, to: 1, term: 2, index: 0, logTerm: 0 }));
    const answer = readMessages(r).find((m) => m.msgType === MessageType.MsgRequestVoteResponse);
    expect(answer?.reject, 'the vote is granted').toBe(false);
    expect(r.electionElapsed).toBe(0);
  });

  test('TestRefusedVoteKeepsTimer2AA: a refused vote request must not hold back an election', () => {
    const r = followerAfterTicks(2);
    r.step(msg({ msgType: MessageType.MsgRequestVote, from: 3, to: 1, term: 2, index: 0, logTerm: 0 }));
    for (let i = 0; i < 5; i++) r.tick();
    readMessages(r);
    const before = r.electionElapsed;
    // Node 2 asks in the same term: node 1 already voted for 3 and refuses.
    r.step(msg({ msgType: MessageType.MsgRequestVote, from: 2, to: 1, term: 2, index: 0, logTerm: 0 }));
    const answer = readMessages(r).find((m) => m.msgType === MessageType.MsgRequestVoteResponse);
    expect(answer?.reject, 'the second vote is refused').toBe(true);
    expect(r.electionElapsed).toBe(before);
  });

  test('TestStaleTermMessageKeepsTimer2AA: a message of an older term must not reset the timer', () => {
    const r = followerAfterTicks(3, 2);
    r.step(msg({ msgType: MessageType.MsgHeartbeat, from: 3, to: 1, term: 2 }));
    r.step(msg({ msgType: MessageType.MsgAppend, from: 3, to: 1, term: 2, index: 0, logTerm: 0 }));
    expect(r.electionElapsed).toBe(5);
    expect(r.term).toBe(3);
  });

  test('TestForwardedProposalKeepsTimer2AA: a proposal handed to a follower is not a sign of the leader', () => {
    const r = followerAfterTicks(2, 2);
    r.step(propose(1, 1, 'x'));
    expect(r.electionElapsed).toBe(5);
  });

  test('TestFollowerHearingLeaderNeverCampaigns2AA', () => {
    const r = followerAfterTicks(2, 2);
    for (let i = 0; i < 10 * ELECTION; i++) {
      r.tick();
      if (i % 3 === 0) r.step(msg({ msgType: MessageType.MsgHeartbeat, from: 2, to: 1, term: 2 }));
    }
    expect(r.state).toBe(StateType.Follower);
    expect(r.term).toBe(2);
  });

  test('TestFollowerHearingOnlyRefusedVotesCampaigns2AA', () => {
    const r = followerAfterTicks(2);
    r.step(msg({ msgType: MessageType.MsgRequestVote, from: 3, to: 1, term: 2, index: 0, logTerm: 0 }));
    let campaigned = false;
    for (let i = 0; i < 2 * ELECTION && !campaigned; i++) {
      r.tick();
      r.step(msg({ msgType: MessageType.MsgRequestVote, from: 2, to: 1, term: 2, index: 0, logTerm: 0 }));
      campaigned = r.state === StateType.Candidate;
    }
    expect(campaigned, 'node 1 campaigned within twice the election timeout').toBe(true);
  });
});
