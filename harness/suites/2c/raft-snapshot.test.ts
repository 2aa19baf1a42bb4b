/**
 * Project 2C, raft level: snapshots in raft (raft/raft.ts, raft/log.ts, raft/rawnode.ts).
 *
 * TinyKV's seven raft-level 2C scenarios, then the pitfalls: index arithmetic once the log no longer starts
 * at 1 (known bug 6), a snapshot waiting to be applied (known bug 11), a follower compacted beyond the
 * leader's prevLogIndex (known bug 12), and a snapshot the storage is still generating.
 */
import { describe, expect, it } from 'vitest';
import { eraftpb } from '#proto';
import { CompactedError, UnavailableError } from '@impl/raft/errors.ts';
import { RaftLog } from '@impl/raft/log.ts';
import { Raft, StateType } from '@impl/raft/raft.ts';
import { RawNode } from '@impl/raft/rawnode.ts';
import { MemoryStorage } from '@impl/raft/storage.ts';
import { newNetwork } from '../../raft-testing/network.ts';
import {
  MessageType,
  beat,
  ent,
  hup,
  msg,
  newMemoryStorageWithEnts,
  newTestConfig,
  newTestMemoryStorage,
  newTestRaft,
  nextEnts,
  nodes,
  propose,
  readMessages,
  summarizeEntries,
} from '../../raft-testing/helpers.ts';
import { SlowSnapshotStorage, applyPendingSnapshot, persistReady, snapshotAt, snapshotMsg } from '../../raft-testing/ready-helpers.ts';
import { RawNodeCluster } from '../../raft-testing/rawnode-cluster.ts';

/** TinyKV's snapshot of the scenarios below: index 11, term 11 ("magic numbers"). */
function magicSnapshot(members: number[]): eraftpb.Snapshot {
  return snapshotAt(11, 11, members);
}

/** A storage that restarted from a snapshot at `index`/`term` and then received `ents`. */
function storageFromSnapshot(index: number, term: number, members: number[], ents: eraftpb.Entry[] = []): MemoryStorage {
  const s = new MemoryStorage();
  s.applySnapshot(snapshotAt(index, term, members));
  s.append(ents);
  return s;
}

function appendMsg(from: number, to: number, term: number, index: number, logTerm: number, entries: eraftpb.Entry[], commit: number): eraftpb.Message {
  return msg({ msgType: MessageType.MsgAppend, from, to, term, index, logTerm, entries, commit });
}

describe('2C: TinyKV scenarios', () => {
  // A follower restores its log and its members from a snapshot.
  it('TestRestoreSnapshot2C', () => {
    const s = magicSnapshot([1, 2, 3]);
    const sm = newTestRaft(1, [1, 2], 10, 1, new MemoryStorage());
    sm.step(snapshotMsg(2, 1, 11, s));

    expect(sm.raftLog.lastIndex()).toBe(11);
    expect(sm.raftLog.term(11)).toBe(11);
    expect(nodes(sm)).toEqual([1, 2, 3]);
  });

  // A snapshot older than what the node has committed is ignored.
  it('TestRestoreIgnoreSnapshot2C', () => {
    const storage = newMemoryStorageWithEnts([ent(1, 1), ent(2, 1), ent(3, 1)]);
    const sm = newTestRaft(1, [1, 2], 10, 1, storage);
    sm.raftLog.committed = 3;

    sm.step(snapshotMsg(2, 1, 1, snapshotAt(1, 1, [1, 2])));
    expect(sm.raftLog.committed).toBe(3);
    expect(sm.raftLog.lastIndex()).toBe(3);
    expect(sm.raftLog.pendingSnapshot).toBeUndefined();
  });

  // A leader whose log is compacted before a follower's next index sends that follower its snapshot.
  it('TestProvideSnap2C', () => {
    // The node restored a snapshot (and its application applied it), so its log starts after index 11.
    const storage = storageFromSnapshot(11, 11, [1, 2]);
    const sm = newTestRaft(1, [1], 10, 1, storage);
    sm.becomeCandidate();
    sm.becomeLeader();
    readMessages(sm);

    // Force node 2's next below the compaction point, so that node 2 needs a snapshot.
    sm.prs.get(2)!.next = 10;
    sm.step(propose(2, 1, 'somedata'));

    const msgs = readMessages(sm);
    expect(msgs).toHaveLength(1);
    expect(msgs[0]!.msgType).toBe(MessageType.MsgSnapshot);
    expect(msgs[0]!.to).toBe(2);
    expect(msgs[0]!.snapshot?.metadata?.index).toBe(11);
  });

  // A snapshot from the leader of a newer term makes the node its follower.
  it('TestRestoreFromSnapMsg2C', () => {
    const sm = newTestRaft(2, [1, 2], 10, 1, new MemoryStorage());
    sm.step(snapshotMsg(1, 2, 2, magicSnapshot([1, 2])));
    expect(sm.lead).toBe(1);
    expect(sm.state).toBe(StateType.Follower);
    expect(sm.term).toBe(2);
  });

  // The snapshot's members replace the node's, even when they only partly overlap.
  it('TestRestoreFromSnapWithOverlapingPeersMsg2C', () => {
    const s = magicSnapshot([2, 3, 4]);
    const sm = newTestRaft(2, [1, 2, 3], 10, 1, new MemoryStorage());
    sm.step(snapshotMsg(1, 2, 2, s));

    expect(sm.lead).toBe(1);
    expect(nodes(sm)).toEqual([2, 3, 4]);
  });

  // A follower that was cut off while the leader compacted its log catches up through a snapshot.
  it('TestSlowNodeRestore2C', () => {
    const nt = newNetwork(null, null, null);
    nt.send(hup(1));

    nt.isolate(3);
    for (let j = 0; j <= 100; j++) nt.send(propose(1, 1));
    const lead = nt.raft(1);
    const leadStorage = nt.storage.get(1)!;
    nextEnts(lead, leadStorage);
    leadStorage.createSnapshot(lead.raftLog.applied, eraftpb.ConfState({ nodes: nodes(lead) }));
    leadStorage.compact(lead.raftLog.applied);

    nt.recover();
    // Heartbeats let the leader learn that node 3 is back (and far behind).
    nt.send(beat(1));
    // Trigger a snapshot.
    nt.send(propose(1, 1));
    const follower = nt.raft(3);
    // Node 3's application applies the snapshot it received (our rafts hold appends off until then; TinyKV's
    // version of this scenario skips this step).
    expect(follower.raftLog.pendingSnapshot).toBeDefined();
    applyPendingSnapshot(follower, nt.storage.get(3)!);
    // Trigger a commit.
    nt.send(propose(1, 1));
    expect(follower.raftLog.committed).toBe(lead.raftLog.committed);
  });

  // A node restarted from a snapshot plus later entries hands out exactly the committed entries after the snapshot.
  it('TestRawNodeRestartFromSnapshot2C', () => {
    const entries = [ent(3, 1, 'foo')];
    const s = new MemoryStorage();
    s.setHardState(eraftpb.HardState({ term: 1, commit: 3 }));
    s.applySnapshot(snapshotAt(2, 1, [1, 2]));
    s.append(entries);
    const cfg = newTestConfig(1, [], 10, 1, s);
    delete cfg.peers;
    const rn = new RawNode(cfg);

    const rd = rn.ready();
    expect(rd.entries).toEqual([]);
    expect(summarizeEntries(rd.committedEntries)).toEqual(summarizeEntries(entries));
    expect(rd.hardState).toBeUndefined();
    expect(rd.softState).toBeUndefined();
    expect(rd.snapshot).toBeUndefined();
    expect(rd.messages).toEqual([]);
    rn.advance(rd);
    expect(rn.hasReady()).toBe(false);
    expect(nodes(rn.raft)).toEqual([1, 2]);
  });
});

describe('2C: index arithmetic after compaction (known bug 6)', () => {
  // catches known bug 6: confusing a log index with an array offset once the log starts after a snapshot.
  it('TestLogIndexesAfterCompaction2C', () => {
    const ents = [101, 102, 103, 104, 105, 106, 107, 108, 109, 110].map((i) => ent(i, i <= 105 ? 5 : 6));
    const log = new RaftLog(newMemoryStorageWithEnts(ents, 4));

    expect(log.firstIndex()).toBe(101);
    expect(log.lastIndex()).toBe(110);
    expect(log.committed).toBe(100);
    expect(log.applied).toBe(100);
    expect(log.stabled).toBe(110);
    expect(log.term(100)).toBe(4); // the compaction point keeps its term
    expect(log.term(101)).toBe(5);
    expect(log.term(106)).toBe(6);
    expect(log.term(110)).toBe(6);
    expect(() => log.term(99)).toThrow(CompactedError);
    expect(() => log.term(111)).toThrow(UnavailableError);
    expect(log.slice(103, 106).map((e) => e.index)).toEqual([103, 104, 105]);
    expect(() => log.slice(100, 103)).toThrow(CompactedError);
    expect(log.matchTerm(100, 4)).toBe(true);
    expect(log.matchTerm(105, 5)).toBe(true);
    expect(log.matchTerm(105, 6)).toBe(false);
    expect(log.isUpToDate(110, 6)).toBe(true);
    expect(log.isUpToDate(109, 6)).toBe(false);
    expect(log.unstableEntries()).toEqual([]);

    log.commitTo(104);
    expect(log.nextEnts().map((e) => e.index)).toEqual([101, 102, 103, 104]);
    log.appliedTo(104);
    expect(log.nextEnts()).toEqual([]);

    // A leader of term 7 replaces the tail from 108 on.
    expect(log.append([ent(108, 7), ent(109, 7)])).toBe(109);
    expect(log.lastIndex()).toBe(109);
    expect(log.term(107)).toBe(6);
    expect(log.term(108)).toBe(7);
    expect(log.stabled).toBe(107);
    expect(log.unstableEntries().map((e) => [e.index, e.term])).toEqual([[108, 7], [109, 7]]);
  });

  // catches known bug 6: a follower whose log starts at 101 matches, appends and commits by index.
  it('TestFollowerAppendAfterCompaction2C', () => {
    const storage = storageFromSnapshot(100, 4, [1, 2, 3], [ent(101, 5), ent(102, 5), ent(103, 5)]);
    storage.setHardState(eraftpb.HardState({ term: 5, commit: 100 }));
    const r = newTestRaft(2, [1, 2, 3], 10, 1, storage);
    expect(r.raftLog.firstIndex()).toBe(101);

    // Right after the compaction point.
    r.step(appendMsg(1, 2, 5, 100, 4, [ent(101, 5), ent(102, 5)], 101));
    let out = readMessages(r);
    expect(out.map((m) => [m.msgType, m.reject, m.index])).toEqual([[MessageType.MsgAppendResponse, false, 102]]);
    expect(r.raftLog.committed).toBe(101);
    expect(r.raftLog.lastIndex()).toBe(103); // nothing conflicted: the tail stays

    // A new leader (term 6) replaces 103 and adds 104.
    r.step(appendMsg(3, 2, 6, 102, 5, [ent(103, 6), ent(104, 6)], 102));
    out = readMessages(r);
    expect(out.map((m) => [m.msgType, m.reject, m.index])).toEqual([[MessageType.MsgAppendResponse, false, 104]]);
    expect(summarizeEntries(r.raftLog.entries).map((e) => [e.index, e.term])).toEqual([
      [101, 5], [102, 5], [103, 6], [104, 6],
    ]);
    expect(r.raftLog.committed).toBe(102);

    // A mismatch in the middle is rejected, and the log is untouched.
    r.step(appendMsg(3, 2, 6, 104, 5, [ent(105, 6)], 102));
    out = readMessages(r);
    expect(out).toHaveLength(1);
    expect(out[0]!.reject).toBe(true);
    expect(r.raftLog.lastIndex()).toBe(104);
  });

  // An append whose previous entry is already committed (a duplicate the leader sent before it learned the
  // follower's progress) still carries the leader's commit: Raft's rule is commit = min(leaderCommit, last
  // new entry) whenever the previous entry matches. (TestSlowNodeRestore2C depends on this.)
  it('TestFollowerCommitsFromDuplicateAppend2C', () => {
    const storage = storageFromSnapshot(100, 4, [1, 2, 3], [ent(101, 5), ent(102, 5), ent(103, 5), ent(104, 5)]);
    storage.setHardState(eraftpb.HardState({ term: 5, commit: 103 }));
    const r = newTestRaft(3, [1, 2, 3], 10, 1, storage);
    expect(r.raftLog.committed).toBe(103);

    r.step(appendMsg(1, 3, 5, 102, 5, [ent(103, 5), ent(104, 5)], 104));
    expect(r.raftLog.committed).toBe(104);
    expect(r.raftLog.lastIndex()).toBe(104);
    const out = readMessages(r);
    expect(out.map((m) => [m.msgType, m.reject])).toEqual([[MessageType.MsgAppendResponse, false]]);
  });

  // catches known bug 6: a leader whose log starts at 101 sends the right previous index and term.
  it('TestLeaderAppendAfterCompaction2C', () => {
    const storage = storageFromSnapshot(100, 4, [1, 2], [ent(101, 5), ent(102, 5), ent(103, 5)]);
    storage.setHardState(eraftpb.HardState({ term: 5, commit: 103 }));
    const r = newTestRaft(1, [1, 2], 10, 1, storage);
    r.becomeCandidate();
    r.becomeLeader();
    readMessages(r);
    expect(r.raftLog.lastIndex()).toBe(104);
    expect(r.raftLog.term(104)).toBe(6);

    for (const [next, wantIndex, wantLogTerm, wantEnts] of [
      [101, 100, 4, [101, 102, 103, 104]],
      [103, 102, 5, [103, 104]],
      [105, 104, 6, []],
    ] as const) {
      r.prs.get(2)!.next = next;
      r.sendAppend(2);
      const out = readMessages(r);
      expect(out).toHaveLength(1);
      const m = out[0]!;
      expect([m.msgType, m.index, m.logTerm]).toEqual([MessageType.MsgAppend, wantIndex, wantLogTerm]);
      expect(m.entries.map((e) => e.index)).toEqual(wantEnts);
    }

    // The follower acknowledges everything: entry 104 (of this term) commits.
    r.step(msg({ msgType: MessageType.MsgAppendResponse, from: 2, to: 1, term: 6, index: 104 }));
    expect(r.raftLog.committed).toBe(104);
  });

  // catches known bug 6: the log keeps working across the leader's own compactions while it replicates.
  it('TestReplicationAcrossRepeatedCompactions2C', () => {
    const c = new RawNodeCluster([1, 2, 3]);
    c.campaign(1);
    for (let round = 0; round < 5; round++) {
      for (let k = 0; k < 7; k++) c.propose(1, `r${round}-${k}`);
      for (const id of [1, 2, 3]) c.compact(id);
    }
    c.propose(1, 'last');
    const want = c.member(1).state;
    expect(want).toHaveLength(36);
    for (const id of [2, 3]) expect(c.member(id).state).toEqual(want);
    for (const id of [1, 2, 3]) {
      const m = c.member(id);
      expect(m.storage.firstIndex()).toBeGreaterThan(30);
      expect(m.node.raft.raftLog.committed).toBe(c.member(1).node.raft.raftLog.lastIndex());
    }
  });
});

describe('2C: snapshots through RawNode', () => {
  // A snapshot goes out in a Ready once; after the application applied it, appends continue after it.
  it('TestRawNodeHandsOutSnapshotOnce2C', () => {
    const storage = newTestMemoryStorage([1, 2, 3]);
    const rn = new RawNode(newTestConfig(2, [1, 2, 3], 10, 1, storage));
    rn.step(snapshotMsg(1, 2, 3, snapshotAt(20, 2, [1, 2, 3])));

    let rd = rn.ready();
    expect(rd.snapshot?.metadata?.index).toBe(20);
    expect(rd.entries).toEqual([]);
    expect(rd.committedEntries).toEqual([]);
    expect(rd.hardState).toEqual(eraftpb.HardState({ term: 3, vote: 0, commit: 20 }));
    expect(rd.messages.map((m) => [m.msgType, m.to, m.index, m.reject])).toEqual([[MessageType.MsgAppendResponse, 1, 20, false]]);
    persistReady(storage, rd);
    rn.advance(rd);
    expect(rn.hasReady()).toBe(false);
    expect(rn.raft.raftLog.pendingSnapshot).toBeUndefined();

    rn.step(appendMsg(1, 2, 3, 20, 2, [ent(21, 3, 'a'), ent(22, 3, 'b')], 22));
    rd = rn.ready();
    expect(rd.snapshot).toBeUndefined();
    expect(summarizeEntries(rd.entries).map((e) => e.index)).toEqual([21, 22]);
    expect(summarizeEntries(rd.committedEntries).map((e) => e.data)).toEqual(['a', 'b']);
    expect(rd.messages.map((m) => [m.msgType, m.index, m.reject])).toEqual([[MessageType.MsgAppendResponse, 22, false]]);
    persistReady(storage, rd);
    rn.advance(rd);

    // Restarted from that storage, the node keeps the snapshot's members and the log after it.
    const cfg = newTestConfig(2, [], 10, 1, storage);
    delete cfg.peers;
    const again = new RawNode({ ...cfg, applied: 22 });
    expect(nodes(again.raft)).toEqual([1, 2, 3]);
    expect(again.raft.raftLog.firstIndex()).toBe(21);
    expect(again.raft.raftLog.lastIndex()).toBe(22);
    expect(again.raft.term).toBe(3);
    expect(again.hasReady()).toBe(false);
  });

  // A cut-off follower rejoins after the leader compacted: it gets one snapshot, then ordinary appends, and
  // ends with the same state machine as everyone else.
  it('TestSnapshotCatchUpEndToEnd2C', () => {
    const c = new RawNodeCluster([1, 2, 3]);
    c.campaign(1);
    c.isolate(3);
    for (let k = 0; k < 50; k++) c.propose(1, `v${k}`);
    c.compact(1);
    c.compact(2);
    c.recover();

    c.tick(2); // heartbeats find node 3 behind the compaction point
    for (let k = 50; k < 55; k++) c.propose(1, `v${k}`);

    const three = c.member(3);
    expect(three.snapshotsApplied).toBe(1);
    expect(c.deliveredCount(MessageType.MsgSnapshot, 3)).toBe(1);
    expect(three.state).toEqual(c.member(1).state);
    expect(three.state).toHaveLength(55);
    expect(three.node.raft.raftLog.committed).toBe(c.member(1).node.raft.raftLog.committed);
    expect(three.storage.firstIndex()).toBeGreaterThan(50);
  });
});

describe('2C: a snapshot waiting to be applied (known bug 11)', () => {
  function followerWithPendingSnapshot(): Raft {
    const r = newTestRaft(2, [1, 2, 3], 10, 1, new MemoryStorage());
    r.step(snapshotMsg(1, 2, 11, magicSnapshot([1, 2, 3])));
    readMessages(r);
    expect(r.raftLog.pendingSnapshot?.metadata?.index).toBe(11);
    return r;
  }

  // catches known bug 11: a second snapshot must not replace one the application has not applied yet.
  it('TestIgnoreSnapshotWhileOnePending2C', () => {
    const r = followerWithPendingSnapshot();
    r.step(snapshotMsg(1, 2, 11, snapshotAt(20, 11, [1, 2, 3, 4])));
    expect(r.raftLog.pendingSnapshot?.metadata?.index).toBe(11);
    expect(r.raftLog.lastIndex()).toBe(11);
    expect(r.raftLog.committed).toBe(11);
    expect(nodes(r)).toEqual([1, 2, 3]);
    const acks = readMessages(r).filter((m) => m.msgType === MessageType.MsgAppendResponse && !m.reject);
    expect(acks.every((m) => m.index <= 11)).toBe(true);
  });

  // catches known bug 11: appends wait until the pending snapshot is applied.
  it('TestIgnoreAppendWhileSnapshotPending2C', () => {
    const r = followerWithPendingSnapshot();
    r.step(appendMsg(1, 2, 11, 11, 11, [ent(12, 11), ent(13, 11)], 13));
    expect(r.raftLog.lastIndex()).toBe(11);
    expect(r.raftLog.committed).toBe(11);
    expect(r.raftLog.pendingSnapshot?.metadata?.index).toBe(11);
    const acks = readMessages(r).filter((m) => m.msgType === MessageType.MsgAppendResponse && !m.reject);
    expect(acks.every((m) => m.index <= 11)).toBe(true);
  });

  // catches known bug 11 (RawNode side): while the Ready holding the snapshot is being applied, a newer
  // snapshot and appends are held off; after advance() both are accepted again.
  it('TestRawNodeAcceptsAgainAfterSnapshotApplied2C', () => {
    const storage = newTestMemoryStorage([1, 2, 3]);
    const rn = new RawNode(newTestConfig(2, [1, 2, 3], 10, 1, storage));
    rn.step(snapshotMsg(1, 2, 11, magicSnapshot([1, 2, 3])));
    const rd = rn.ready();
    expect(rd.snapshot?.metadata?.index).toBe(11);

    // Arrive while the application is still applying the first snapshot.
    rn.step(snapshotMsg(1, 2, 11, snapshotAt(15, 11, [1, 2, 3])));
    rn.step(appendMsg(1, 2, 11, 11, 11, [ent(12, 11)], 12));
    expect(rn.raft.raftLog.lastIndex()).toBe(11);

    persistReady(storage, rd);
    rn.advance(rd);
    const late = rn.ready();
    expect(late.snapshot).toBeUndefined();
    expect(late.entries).toEqual([]);
    rn.advance(late);

    rn.step(appendMsg(1, 2, 11, 11, 11, [ent(12, 11, 'x')], 12));
    const rd2 = rn.ready();
    expect(summarizeEntries(rd2.entries).map((e) => e.index)).toEqual([12]);
    expect(summarizeEntries(rd2.committedEntries).map((e) => e.data)).toEqual(['x']);
    persistReady(storage, rd2);
    rn.advance(rd2);
  });
});

describe('2C: follower compacted beyond the leader\'s prevLogIndex (known bug 12)', () => {
  /**
   * Two nodes. Node 2 applied and compacted its log up to 10. The leader, node 1, holds the whole log but
   * believes node 2 needs entries from `next` on (as after a leader change, when progress is unknown).
   */
  function twoNodes(leaderStorage: MemoryStorage): { nt: ReturnType<typeof newNetwork>; lead: Raft; follower: Raft } {
    leaderStorage.setHardState(eraftpb.HardState({ term: 1, commit: 10 }));
    const followerStorage = storageFromSnapshot(10, 1, [1, 2]);
    followerStorage.setHardState(eraftpb.HardState({ term: 1, commit: 10 }));
    const lead = newTestRaft(1, [1, 2], 10, 1, leaderStorage);
    const follower = newTestRaft(2, [1, 2], 10, 1, followerStorage);
    const nt = newNetwork(lead, follower);
    // Win the election without replicating anything yet: the leader knows nothing of node 2's log.
    nt.ignore(MessageType.MsgAppend);
    nt.send(hup(1));
    nt.recover();
    expect(lead.state).toBe(StateType.Leader);
    expect(lead.prs.get(2)!.match).toBe(0);
    return { nt, lead, follower };
  }

  function fullLog(): MemoryStorage {
    const s = newTestMemoryStorage([1, 2]);
    s.append(Array.from({ length: 10 }, (_, k) => ent(k + 1, 1)));
    return s;
  }

  function checkKeepsCommitting(nt: ReturnType<typeof newNetwork>, lead: Raft, follower: Raft): void {
    for (let k = 0; k < 3; k++) {
      const before = lead.raftLog.committed;
      nt.send(propose(1, 1, `after-${k}`));
      expect(lead.raftLog.committed).toBe(lead.raftLog.lastIndex());
      expect(lead.raftLog.committed).toBeGreaterThan(before);
      expect(lead.prs.get(2)!.match).toBe(lead.raftLog.lastIndex());
    }
    nt.send(beat(1));
    expect(follower.raftLog.committed).toBe(lead.raftLog.committed);
    expect(follower.raftLog.lastIndex()).toBe(lead.raftLog.lastIndex());
  }

  // catches known bug 12: the follower must answer an append whose prevLogIndex it compacted away, so that the
  // leader's match moves and a two-node group keeps committing.
  it('TestFollowerCompactedBeyondPrevLogIndex2C', () => {
    const { nt, lead, follower } = twoNodes(fullLog());
    lead.prs.get(2)!.next = 5; // as after a rejection hint pointing far back
    checkKeepsCommitting(nt, lead, follower);
  });

  // catches known bug 12: the same when the leader's next guess for the follower is 1 (nothing known).
  it('TestFollowerCompactedBeyondPrevLogIndexFromStart2C', () => {
    const { nt, lead, follower } = twoNodes(fullLog());
    lead.prs.get(2)!.next = 1;
    checkKeepsCommitting(nt, lead, follower);
  });

  // catches known bug 12: when the leader compacted too (less than the follower), its fallback is a snapshot
  // older than the follower's commit; the follower must still answer so the leader moves on.
  it('TestLeaderSnapshotOlderThanFollowerCommit2C', () => {
    const s = fullLog();
    s.createSnapshot(8, eraftpb.ConfState({ nodes: [1, 2] }));
    s.compact(8);
    const { nt, lead, follower } = twoNodes(s);
    lead.prs.get(2)!.next = 5;
    checkKeepsCommitting(nt, lead, follower);
    expect(follower.raftLog.pendingSnapshot).toBeUndefined();
  });
});

describe('2C: snapshot not ready yet', () => {
  // The storage may still be generating the snapshot: the leader sends nothing then, and retries later.
  it('TestSnapshotTemporarilyUnavailable2C', () => {
    const storage = new SlowSnapshotStorage(eraftpb.ConfState({ nodes: [1, 2] }));
    storage.append(Array.from({ length: 10 }, (_, k) => ent(k + 1, 1)));
    storage.setHardState(eraftpb.HardState({ term: 1, commit: 10 }));
    storage.createSnapshot(10, eraftpb.ConfState({ nodes: [1, 2] }));
    storage.compact(10);
    const lead = newTestRaft(1, [1, 2], 10, 1, storage);
    lead.becomeCandidate();
    lead.becomeLeader();
    readMessages(lead);

    lead.prs.get(2)!.next = 3;
    expect(() => lead.sendAppend(2)).not.toThrow();
    expect(readMessages(lead).filter((m) => m.msgType === MessageType.MsgSnapshot)).toEqual([]);
    expect(storage.requests).toBeGreaterThan(0);

    // The heartbeat answer retries; now the snapshot is there.
    storage.ready = true;
    lead.step(msg({ msgType: MessageType.MsgHeartbeatResponse, from: 2, to: 1, term: lead.term }));
    const snaps = readMessages(lead).filter((m) => m.msgType === MessageType.MsgSnapshot);
    expect(snaps).toHaveLength(1);
    expect(snaps[0]!.snapshot?.metadata?.index).toBe(10);
    expect(snaps[0]!.to).toBe(2);
  });
});
