/**
 * 2AB, log replication: the scenarios of the Raft paper (sections 5.3 and 5.4), one raft driven by hand.
 */
import { expect, test } from 'vitest';
import { StateType } from '@impl/raft/raft.ts';
import { MemoryStorage } from '@impl/raft/storage.ts';
import {
  MessageType,
  acceptAndReply,
  commitNoopEntry,
  ent,
  entsWithTerms,
  hup,
  idsBySize,
  logSummary,
  msg,
  msgSummary,
  newMemoryStorageWithEnts,
  newTestRaft,
  propose,
  readMessages,
  sortMessages,
  summarizeEntries,
  type Entry,
} from '../../raft-testing/helpers.ts';
import { newNetwork, nopStepper } from '../../raft-testing/network.ts';

// Section 5.3: the leader appends a proposal to its log, then sends AppendEntries to every follower in
// parallel, carrying the index and term of the entry just before the new one. The new entry is unstable.
test('TestLeaderStartReplication2AB', () => {
  const s = new MemoryStorage();
  const r = newTestRaft(1, [1, 2, 3], 10, 1, s);
  r.becomeCandidate();
  r.becomeLeader();
  commitNoopEntry(r, s);
  const li = r.raftLog.lastIndex();

  r.step(propose(1, 1, 'some data'));

  expect(r.raftLog.lastIndex(), 'lastIndex').toBe(li + 1);
  expect(r.raftLog.committed, 'committed').toBe(li);
  const wents = [{ index: li + 1, term: 1, data: 'some data' }];
  const msgs = sortMessages(readMessages(r)).map(msgSummary);
  expect(msgs).toEqual(
    [2, 3].map((to) => ({
      msgType: MessageType.MsgAppend,
      from: 1,
      to,
      term: 1,
      index: li,
      logTerm: 1,
      commit: li,
      reject: false,
      entries: wents,
    })),
  );
  expect(summarizeEntries(r.raftLog.unstableEntries()), 'unstable entries').toEqual(wents);
});

// Section 5.3: once an entry is replicated on a majority the leader commits it, hands it out to be applied,
// and tells the followers the new commit index in its next appends.
test('TestLeaderCommitEntry2AB', () => {
  const s = new MemoryStorage();
  const r = newTestRaft(1, [1, 2, 3], 10, 1, s);
  r.becomeCandidate();
  r.becomeLeader();
  commitNoopEntry(r, s);
  const li = r.raftLog.lastIndex();
  r.step(propose(1, 1, 'some data'));

  for (const m of readMessages(r)) r.step(acceptAndReply(m));

  expect(r.raftLog.committed, 'committed').toBe(li + 1);
  expect(summarizeEntries(r.raftLog.nextEnts()), 'nextEnts').toEqual([{ index: li + 1, term: 1, data: 'some data' }]);
  const msgs = sortMessages(readMessages(r));
  expect(msgs.length, 'messages telling the new commit').toBeGreaterThan(0);
  msgs.forEach((m, i) => {
    expect(m.to, `#${i}: to`).toBe(i + 2);
    expect(m.msgType, `#${i}: type`).toBe(MessageType.MsgAppend);
    expect(m.commit, `#${i}: commit`).toBe(li + 1);
  });
});

// Section 5.3: an entry is committed once the leader that created it has it on a majority.
test('TestLeaderAcknowledgeCommit2AB', () => {
  const cases: { size: number; acceptors: number[]; wack: boolean }[] = [
    { size: 1, acceptors: [], wack: true },
    { size: 3, acceptors: [], wack: false },
    { size: 3, acceptors: [2], wack: true },
    { size: 3, acceptors: [2, 3], wack: true },
    { size: 5, acceptors: [], wack: false },
    { size: 5, acceptors: [2], wack: false },
    { size: 5, acceptors: [2, 3], wack: true },
    { size: 5, acceptors: [2, 3, 4], wack: true },
    { size: 5, acceptors: [2, 3, 4, 5], wack: true },
  ];
  cases.forEach((tt, i) => {
    const s = new MemoryStorage();
    const r = newTestRaft(1, idsBySize(tt.size), 10, 1, s);
    r.becomeCandidate();
    r.becomeLeader();
    commitNoopEntry(r, s);
    const li = r.raftLog.lastIndex();
    r.step(propose(1, 1, 'some data'));

    for (const m of readMessages(r)) {
      if (tt.acceptors.includes(m.to)) r.step(acceptAndReply(m));
    }

    expect(r.raftLog.committed > li, `#${i}: committed`).toBe(tt.wack);
  });
});

// Section 5.3: committing an entry commits every entry before it, those of earlier leaders included,
// and they are handed out in log order.
test('TestLeaderCommitPrecedingEntries2AB', () => {
  const cases: Entry[][] = [[], [ent(1, 2)], [ent(1, 1), ent(2, 2)], [ent(1, 1)]];
  cases.forEach((tt, i) => {
    const storage = newMemoryStorageWithEnts(tt);
    const r = newTestRaft(1, [1, 2, 3], 10, 1, storage);
    r.term = 2;
    r.becomeCandidate();
    r.becomeLeader();
    r.step(propose(1, 1, 'some data'));

    for (const m of readMessages(r)) r.step(acceptAndReply(m));

    const li = tt.length;
    const wents = [...tt, ent(li + 1, 3), ent(li + 2, 3, 'some data')];
    expect(summarizeEntries(r.raftLog.nextEnts()), `#${i}`).toEqual(summarizeEntries(wents));
  });
});

// Section 5.3: a follower that learns an entry is committed hands it out to be applied, in log order.
test('TestFollowerCommitEntry2AB', () => {
  const cases = [
    { ents: [ent(1, 1, 'some data')], commit: 1 },
    { ents: [ent(1, 1, 'some data'), ent(2, 1, 'some data2')], commit: 2 },
    { ents: [ent(1, 1, 'some data2'), ent(2, 1, 'some data')], commit: 2 },
    { ents: [ent(1, 1, 'some data'), ent(2, 1, 'some data2')], commit: 1 },
  ];
  cases.forEach((tt, i) => {
    const r = newTestRaft(1, [1, 2, 3], 10, 1, new MemoryStorage());
    r.becomeFollower(1, 2);

    r.step(msg({ from: 2, to: 1, msgType: MessageType.MsgAppend, term: 1, entries: tt.ents, commit: tt.commit }));

    expect(r.raftLog.committed, `#${i}: committed`).toBe(tt.commit);
    expect(summarizeEntries(r.raftLog.nextEnts()), `#${i}: nextEnts`).toEqual(summarizeEntries(tt.ents.slice(0, tt.commit)));
  });
});

// Section 5.3: a follower refuses an append whose previous entry (index and term) it does not have.
test('TestFollowerCheckMessageType_MsgAppend2AB', () => {
  const ents = [ent(1, 1), ent(2, 2)];
  const cases = [
    // match with committed entries
    { term: 0, index: 0, wreject: false },
    { term: 1, index: 1, wreject: false },
    // match with uncommitted entries
    { term: 2, index: 2, wreject: false },
    // mismatch with an existing entry
    { term: 1, index: 2, wreject: true },
    // no such entry
    { term: 3, index: 3, wreject: true },
  ];
  cases.forEach((tt, i) => {
    const r = newTestRaft(1, [1, 2, 3], 10, 1, newMemoryStorageWithEnts(ents));
    r.raftLog.committed = 1;
    r.becomeFollower(2, 2);
    readMessages(r);

    r.step(msg({ from: 2, to: 1, msgType: MessageType.MsgAppend, term: 2, logTerm: tt.term, index: tt.index }));

    const msgs = readMessages(r);
    expect(msgs.length, `#${i}: messages`).toBe(1);
    expect(msgs[0]!.term, `#${i}: term`).toBe(2);
    expect(msgs[0]!.reject, `#${i}: reject`).toBe(tt.wreject);
  });
});

// Section 5.3: a valid append deletes the first conflicting entry and all after it, and adds the new
// entries; entries the follower already has stay (and stay stable).
// catches known bug 7: the third case is an append that conflicts with nothing; the follower's entry 2
// must survive it.
test('TestFollowerAppendEntries2AB', () => {
  const cases = [
    { index: 2, term: 2, lterm: 3, ents: [ent(3, 3)], wents: [ent(1, 1), ent(2, 2), ent(3, 3)], wunstable: [ent(3, 3)] },
    {
      index: 1,
      term: 1,
      lterm: 4,
      ents: [ent(2, 3), ent(3, 4)],
      wents: [ent(1, 1), ent(2, 3), ent(3, 4)],
      wunstable: [ent(2, 3), ent(3, 4)],
    },
    { index: 0, term: 0, lterm: 2, ents: [ent(1, 1)], wents: [ent(1, 1), ent(2, 2)], wunstable: [] },
    { index: 0, term: 0, lterm: 3, ents: [ent(1, 3)], wents: [ent(1, 3)], wunstable: [ent(1, 3)] },
  ];
  cases.forEach((tt, i) => {
    const r = newTestRaft(1, [1, 2, 3], 10, 1, newMemoryStorageWithEnts([ent(1, 1), ent(2, 2)]));
    r.becomeFollower(2, 2);

    r.step(
      msg({ from: 2, to: 1, msgType: MessageType.MsgAppend, term: tt.lterm, logTerm: tt.term, index: tt.index, entries: tt.ents }),
    );

    expect(summarizeEntries(r.raftLog.allEntries()), `#${i}: entries`).toEqual(summarizeEntries(tt.wents));
    expect(summarizeEntries(r.raftLog.unstableEntries()), `#${i}: unstable entries`).toEqual(summarizeEntries(tt.wunstable));
  });
});

// Section 5.3, figure 7: the leader brings each follower's log (missing entries, extra entries, both)
// into agreement with its own.
test('TestLeaderSyncFollowerLog2AB', () => {
  const ents = entsWithTerms(1, 1, 1, 4, 4, 5, 5, 6, 6, 6);
  const term = 8;
  const cases: Entry[][] = [
    entsWithTerms(1, 1, 1, 4, 4, 5, 5, 6, 6),
    entsWithTerms(1, 1, 1, 4),
    entsWithTerms(1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6),
    entsWithTerms(1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7),
    entsWithTerms(1, 1, 1, 4, 4, 4, 4),
    entsWithTerms(1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3),
  ];
  cases.forEach((tt, i) => {
    const lead = newTestRaft(1, [1, 2, 3], 10, 1, newMemoryStorageWithEnts(ents));
    lead.term = term;
    lead.raftLog.committed = lead.raftLog.lastIndex();
    const follower = newTestRaft(2, [1, 2, 3], 10, 1, newMemoryStorageWithEnts(tt));
    follower.term = term - 1;
    // Three nodes are needed: the follower may have a more up-to-date log than the leader, so the leader
    // may need node 3's vote (forged below) to win.
    const n = newNetwork(lead, follower, nopStepper);
    n.send(hup(1));
    n.send(msg({ from: 3, to: 1, msgType: MessageType.MsgRequestVoteResponse, term: term + 1 }));
    n.send(propose(1, 1));

    expect(lead.state, `#${i}: the leader won`).toBe(StateType.Leader);
    expect(logSummary(follower.raftLog), `#${i}: follower log`).toEqual(logSummary(lead.raftLog));
  });
});

// Section 5.4.1: a vote request carries the candidate's last log index and term, and goes to every other node.
test('TestVoteRequest2AB', () => {
  const cases = [
    { ents: [ent(1, 1)], wterm: 2 },
    { ents: [ent(1, 1), ent(2, 2)], wterm: 3 },
  ];
  cases.forEach((tt, j) => {
    const r = newTestRaft(1, [1, 2, 3], 10, 1, new MemoryStorage());
    r.step(msg({ from: 2, to: 1, msgType: MessageType.MsgAppend, term: tt.wterm - 1, logTerm: 0, index: 0, entries: tt.ents }));
    readMessages(r);

    let ticks = 0;
    while (r.state !== StateType.Candidate) {
      if (++ticks > 1000) throw new Error(`#${j}: no election after ${ticks} ticks`);
      r.tick();
    }

    const msgs = sortMessages(readMessages(r));
    expect(msgs.length, `#${j}: messages`).toBe(2);
    const last = tt.ents[tt.ents.length - 1]!;
    msgs.forEach((m, i) => {
      expect(m.msgType, `#${j}.${i}: type`).toBe(MessageType.MsgRequestVote);
      expect(m.to, `#${j}.${i}: to`).toBe(i + 2);
      expect(m.term, `#${j}.${i}: term`).toBe(tt.wterm);
      expect(m.index, `#${j}.${i}: index`).toBe(last.index);
      expect(m.logTerm, `#${j}.${i}: logTerm`).toBe(last.term);
    });
  });
});

// Section 5.4.1: a voter denies its vote when its own log is more up to date than the candidate's.
// catches known bug 3 (the log up-to-date check).
test('TestVoter2AB', () => {
  const cases = [
    // same last term
    { ents: [ent(1, 1)], logterm: 1, index: 1, wreject: false },
    { ents: [ent(1, 1)], logterm: 1, index: 2, wreject: false },
    { ents: [ent(1, 1), ent(2, 1)], logterm: 1, index: 1, wreject: true },
    // candidate has a higher last term
    { ents: [ent(1, 1)], logterm: 2, index: 1, wreject: false },
    { ents: [ent(1, 1)], logterm: 2, index: 2, wreject: false },
    { ents: [ent(1, 1), ent(2, 1)], logterm: 2, index: 1, wreject: false },
    // voter has a higher last term
    { ents: [ent(1, 2)], logterm: 1, index: 1, wreject: true },
    { ents: [ent(1, 2)], logterm: 1, index: 2, wreject: true },
    { ents: [ent(1, 2), ent(2, 1)], logterm: 1, index: 1, wreject: true },
  ];
  cases.forEach((tt, i) => {
    const r = newTestRaft(1, [1, 2], 10, 1, newMemoryStorageWithEnts(tt.ents));

    r.step(msg({ from: 2, to: 1, msgType: MessageType.MsgRequestVote, term: 3, logTerm: tt.logterm, index: tt.index }));

    const msgs = readMessages(r);
    expect(msgs.length, `#${i}: messages`).toBe(1);
    expect(msgs[0]!.msgType, `#${i}: type`).toBe(MessageType.MsgRequestVoteResponse);
    expect(msgs[0]!.reject, `#${i}: reject`).toBe(tt.wreject);
  });
});

// Section 5.4.2: only entries of the leader's current term are committed by counting replicas.
// catches known bug 8: with index 1 or 2 acknowledged, a majority holds entries of earlier terms, which
// must not be committed that way.
test('TestLeaderOnlyCommitsLogFromCurrentTerm2AB', () => {
  const ents = [ent(1, 1), ent(2, 2)];
  const cases = [
    { index: 1, wcommit: 0 },
    { index: 2, wcommit: 0 },
    { index: 3, wcommit: 3 },
  ];
  cases.forEach((tt, i) => {
    const r = newTestRaft(1, [1, 2], 10, 1, newMemoryStorageWithEnts(ents));
    r.term = 2;
    // become leader at term 3
    r.becomeCandidate();
    r.becomeLeader();
    readMessages(r);
    // propose an entry of the current term
    r.step(propose(1, 1));

    r.step(msg({ from: 2, to: 1, msgType: MessageType.MsgAppendResponse, term: r.term, index: tt.index }));
    expect(r.raftLog.committed, `#${i}: commit`).toBe(tt.wcommit);
  });
});
