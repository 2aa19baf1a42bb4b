/**
 * Project 3A: leadership transfer and membership change in raft (raft/raft.ts, raft/rawnode.ts).
 *
 * TinyKV's sixteen 3A scenarios, then the pitfalls students hit: proposals during a transfer (known bug 13),
 * a transfer that never gives up (14), a conf change refused forever (15), commit not re-checked after a
 * removal (16), a leader removing itself (17), and a new node's progress (18).
 */
import { describe, expect, it } from 'vitest';
import { eraftpb } from '#proto';
import { ProposalDroppedError, RaftError } from '@impl/raft/errors.ts';
import { NONE, Raft, StateType } from '@impl/raft/raft.ts';
import { RawNode } from '@impl/raft/rawnode.ts';
import { MemoryStorage } from '@impl/raft/storage.ts';
import { bytesEqual } from '@impl/util/bytes.ts';
import { newNetwork, type Network } from '../../raft-testing/network.ts';
import {
  EntryType,
  MessageType,
  beat,
  bytes,
  hup,
  msg,
  newTestConfig,
  newTestRaft,
  nextEnts,
  nodes,
  propose,
  readMessages,
  text,
} from '../../raft-testing/helpers.ts';
import {
  addNodeCC,
  confChangeEntries,
  decodeConfChange,
  encodeConfChange,
  proposeConfChangeMsg,
  removeNodeCC,
  transferMsg,
} from '../../raft-testing/membership-helpers.ts';
import { handleReady } from '../../raft-testing/ready-helpers.ts';
import { RawNodeCluster } from '../../raft-testing/rawnode-cluster.ts';

function checkLeaderTransferState(r: Raft, state: StateType, lead: number): void {
  expect({ state: StateType[r.state], lead: r.lead }).toEqual({ state: StateType[state], lead });
}

/** Three fresh nodes; node 1 wins the first election. */
function electedNetwork(): { nt: Network; lead: Raft } {
  const nt = newNetwork(null, null, null);
  nt.send(hup(1));
  const lead = nt.raft(1);
  expect(lead.state).toBe(StateType.Leader);
  return { nt, lead };
}

/** A single-node RawNode that has become leader, its Readies handled. */
function singleLeaderRawNode(): { rn: RawNode; s: MemoryStorage } {
  const s = new MemoryStorage();
  const rn = new RawNode(newTestConfig(1, [1], 10, 1, s));
  handleReady(rn, s);
  rn.campaign();
  for (let i = 0; i < 10 && rn.hasReady(); i++) handleReady(rn, s);
  expect(rn.raft.state).toBe(StateType.Leader);
  return { rn, s };
}

describe('3A: TinyKV scenarios', () => {
  it('TestAddNode3A', () => {
    const r = newTestRaft(1, [1], 10, 1, new MemoryStorage());
    r.addNode(2);
    expect(nodes(r)).toEqual([1, 2]);
  });

  it('TestRemoveNode3A', () => {
    const r = newTestRaft(1, [1, 2], 10, 1, new MemoryStorage());
    r.removeNode(2);
    expect(nodes(r)).toEqual([1]);
    // Removing every node leaves an empty group.
    r.removeNode(1);
    expect(nodes(r)).toEqual([]);
  });

  // catches known bug 16: removing a node shrinks the quorum, so a pending entry may commit at once.
  it('TestCommitAfterRemoveNode3A', () => {
    const s = new MemoryStorage();
    const r = newTestRaft(1, [1, 2], 5, 1, s);
    r.becomeCandidate();
    r.becomeLeader();

    // Begin to remove the second node.
    r.step(proposeConfChangeMsg(1, removeNodeCC(2)));
    // Persist the log; nothing is committed yet (node 2 has acknowledged nothing).
    expect(nextEnts(r, s)).toEqual([]);
    const ccIndex = r.raftLog.lastIndex();

    // While the conf change is pending, make another proposal.
    r.step(propose(1, 1, 'hello'));

    // Node 2 acknowledges the conf change, committing it (and the no-op before it).
    r.step(msg({ msgType: MessageType.MsgAppendResponse, from: 2, to: 1, index: ccIndex, term: r.term }));
    let ents = nextEnts(r, s);
    expect(ents).toHaveLength(2);
    expect(ents[0]!.entryType).toBe(EntryType.EntryNormal);
    expect(ents[0]!.data.length).toBe(0);
    expect(ents[1]!.entryType).toBe(EntryType.EntryConfChange);

    // Applying the conf change lowers the quorum to one: the pending proposal commits now.
    r.removeNode(2);
    ents = nextEnts(r, s);
    expect(ents).toHaveLength(1);
    expect(ents[0]!.entryType).toBe(EntryType.EntryNormal);
    expect(text(ents[0]!.data)).toBe('hello');
  });

  // Transfer to an up-to-date follower succeeds; after more replication it can be transferred back.
  it('TestLeaderTransferToUpToDateNode3A', () => {
    const { nt, lead } = electedNetwork();
    expect(lead.lead).toBe(1);

    nt.send(transferMsg(2, 1));
    checkLeaderTransferState(lead, StateType.Follower, 2);

    nt.send(propose(1, 1));
    nt.send(transferMsg(1, 2));
    checkLeaderTransferState(lead, StateType.Leader, 1);
  });

  // The same, with every transfer request sent to a follower, which passes it on to the leader.
  it('TestLeaderTransferToUpToDateNodeFromFollower3A', () => {
    const { nt, lead } = electedNetwork();

    nt.send(transferMsg(2, 2));
    checkLeaderTransferState(lead, StateType.Follower, 2);

    nt.send(propose(1, 1));
    nt.send(transferMsg(1, 1));
    checkLeaderTransferState(lead, StateType.Leader, 1);
  });

  // A target that lags is caught up first, then takes over.
  it('TestLeaderTransferToSlowFollower3A', () => {
    const { nt, lead } = electedNetwork();
    nt.isolate(3);
    nt.send(propose(1, 1));
    nt.recover();
    expect(lead.prs.get(3)!.match).toBe(1);

    nt.send(transferMsg(3, 1));
    checkLeaderTransferState(lead, StateType.Follower, 3);
  });

  // A target behind the leader's compaction point gets a snapshot first, then takes over.
  it('TestLeaderTransferAfterSnapshot3A', () => {
    const { nt, lead } = electedNetwork();
    nt.isolate(3);
    nt.send(propose(1, 1));
    const s = nt.storage.get(1)!;
    nextEnts(lead, s);
    s.createSnapshot(lead.raftLog.applied, eraftpb.ConfState({ nodes: nodes(lead) }));
    s.compact(lead.raftLog.applied);
    nt.recover();
    expect(lead.prs.get(3)!.match).toBe(1);

    nt.send(transferMsg(3, 1));
    // A heartbeat response from node 3 makes the leader send the snapshot.
    nt.send(msg({ msgType: MessageType.MsgHeartbeatResponse, from: 3, to: 1, term: lead.term }));
    checkLeaderTransferState(lead, StateType.Follower, 3);
  });

  it('TestLeaderTransferToSelf3A', () => {
    const { nt, lead } = electedNetwork();
    nt.send(transferMsg(1, 1));
    checkLeaderTransferState(lead, StateType.Leader, 1);
    expect(lead.leadTransferee).toBe(NONE);
  });

  it('TestLeaderTransferToNonExistingNode3A', () => {
    const { nt, lead } = electedNetwork();
    nt.send(transferMsg(4, 1));
    checkLeaderTransferState(lead, StateType.Leader, 1);
    expect(lead.leadTransferee).toBe(NONE);
  });

  // A transfer under way does not stop the leader from stepping down for a higher term.
  it('TestLeaderTransferReceiveHigherTermVote3A', () => {
    const { nt, lead } = electedNetwork();
    nt.isolate(3);
    // Transfer to the isolated node, so the transfer stays pending.
    nt.send(transferMsg(3, 1));
    nt.send(msg({ msgType: MessageType.MsgHup, from: 2, to: 2, index: 1, term: 2 }));
    checkLeaderTransferState(lead, StateType.Follower, 2);
  });

  it('TestLeaderTransferRemoveNode3A', () => {
    const { nt, lead } = electedNetwork();
    lead.removeNode(3);
    nt.send(transferMsg(3, 1));
    checkLeaderTransferState(lead, StateType.Leader, 1);
  });

  // A pending transfer can be cancelled by transferring back to the leader itself.
  it('TestLeaderTransferBack3A', () => {
    const { nt, lead } = electedNetwork();
    nt.isolate(3);
    nt.send(transferMsg(3, 1));
    expect(lead.leadTransferee).toBe(3);

    nt.send(transferMsg(1, 1));
    checkLeaderTransferState(lead, StateType.Leader, 1);
    expect(lead.leadTransferee).toBe(NONE);
  });

  // A second transfer to another node replaces a pending one.
  it('TestLeaderTransferSecondTransferToAnotherNode3A', () => {
    const { nt, lead } = electedNetwork();
    nt.isolate(3);
    nt.send(transferMsg(3, 1));
    nt.send(transferMsg(2, 1));
    checkLeaderTransferState(lead, StateType.Follower, 2);
  });

  // MsgTimeoutNow at a node that is not a member does nothing, even if votes then arrive.
  it('TestTransferNonMember3A', () => {
    const r = newTestRaft(1, [2, 3, 4], 5, 1, new MemoryStorage());
    r.step(msg({ msgType: MessageType.MsgTimeoutNow, from: 2, to: 1, term: r.term }));
    r.step(msg({ msgType: MessageType.MsgRequestVoteResponse, from: 2, to: 1, term: r.term }));
    r.step(msg({ msgType: MessageType.MsgRequestVoteResponse, from: 3, to: 1, term: r.term }));
    expect(r.state).toBe(StateType.Follower);
  });

  // RawNode's propose and proposeConfChange reach the log, the conf change encoded in the entry's data.
  it('TestRawNodeProposeAndConfChange3A', () => {
    const s = new MemoryStorage();
    const rn = new RawNode(newTestConfig(1, [1], 10, 1, s));
    let rd = rn.ready();
    s.append(rd.entries);
    rn.advance(rd);
    const d = rn.ready();
    expect(d.hardState).toBeUndefined();
    expect(d.entries).toEqual([]);

    rn.campaign();
    rd = rn.ready();
    expect(rd.softState?.lead).toBe(rn.raft.id);

    rn.propose(bytes('somedata'));
    const cc = addNodeCC(1);
    rn.proposeConfChange(cc);

    const entries = rn.raft.raftLog.entries;
    expect(entries.length).toBeGreaterThanOrEqual(2);
    const [data, conf] = entries.slice(-2);
    expect(text(data!.data)).toBe('somedata');
    expect(conf!.entryType).toBe(EntryType.EntryConfChange);
    expect(bytesEqual(conf!.data, encodeConfChange(cc))).toBe(true);
  });

  // Adding a node twice is harmless, and a later different conf change still goes through.
  it('TestRawNodeProposeAddDuplicateNode3A', () => {
    const { rn, s } = singleLeaderRawNode();

    const proposeConfChangeAndApply = (cc: eraftpb.ConfChange): void => {
      rn.proposeConfChange(cc);
      const rd = rn.ready();
      s.append(rd.entries);
      for (const e of rd.committedEntries) {
        if (e.entryType === EntryType.EntryConfChange) rn.applyConfChange(decodeConfChange(e.data));
      }
      rn.advance(rd);
    };

    const cc1 = addNodeCC(1);
    proposeConfChangeAndApply(cc1);
    // Try to add the same node again.
    proposeConfChangeAndApply(cc1);
    // Adding a new node works.
    const cc2 = addNodeCC(2);
    proposeConfChangeAndApply(cc2);

    const lastIndex = s.lastIndex();
    // The last three entries are: cc1, cc1, cc2.
    const entries = s.entries(lastIndex - 2, lastIndex + 1);
    expect(entries).toHaveLength(3);
    expect(bytesEqual(entries[0]!.data, encodeConfChange(cc1))).toBe(true);
    expect(bytesEqual(entries[2]!.data, encodeConfChange(cc2))).toBe(true);
    expect(nodes(rn.raft)).toEqual([1, 2]);
  });
});

describe('3A: leadership transfer', () => {
  // catches known bug 13: a transferring leader takes no proposals, or the target could never catch up.
  it('TestLeaderTransferIgnoreProposal3A', () => {
    const { nt, lead } = electedNetwork();
    nt.isolate(3);
    nt.send(transferMsg(3, 1));
    expect(lead.leadTransferee).toBe(3);

    const last = lead.raftLog.lastIndex();
    expect(() => lead.step(propose(1, 1, 'during transfer'))).toThrow(ProposalDroppedError);
    expect(lead.raftLog.lastIndex()).toBe(last);
    expect(lead.prs.get(1)!.match).toBe(last);
  });

  // catches known bug 13: the same through RawNode, the way the raftstore proposes.
  it('TestRawNodeProposeDuringTransferDropped3A', () => {
    const c = new RawNodeCluster([1, 2, 3]);
    c.campaign(1);
    c.isolate(3);
    c.member(1).node.transferLeader(3);
    c.settle();
    expect(c.member(1).node.raft.leadTransferee).toBe(3);
    expect(c.member(1).node.propose(bytes('x'))).toMatchObject({ outcome: 'dropped' });
  });

  // catches known bug 14: a transfer to an unreachable node is given up after an election timeout, and the
  // leader takes proposals again.
  it('TestLeaderTransferTimeout3A', () => {
    const { nt, lead } = electedNetwork();
    nt.isolate(3);
    nt.send(transferMsg(3, 1));
    expect(lead.leadTransferee).toBe(3);

    for (let i = 0; i < lead.heartbeatTimeout; i++) lead.tick();
    expect(lead.leadTransferee).toBe(3);
    for (let i = lead.heartbeatTimeout; i < lead.electionTimeout; i++) lead.tick();
    readMessages(lead);

    checkLeaderTransferState(lead, StateType.Leader, 1);
    expect(lead.leadTransferee).toBe(NONE);
    const last = lead.raftLog.lastIndex();
    nt.send(propose(1, 1, 'after the timeout'));
    expect(lead.raftLog.lastIndex()).toBe(last + 1);
    expect(lead.raftLog.committed).toBe(last + 1);
  });

  // catches known bug 14: asking again for the same target does not restart the clock.
  it('TestLeaderTransferSecondTransferToSameNode3A', () => {
    const { nt, lead } = electedNetwork();
    nt.isolate(3);
    nt.send(transferMsg(3, 1));
    expect(lead.leadTransferee).toBe(3);

    for (let i = 0; i < lead.heartbeatTimeout; i++) lead.tick();
    nt.send(transferMsg(3, 1));
    for (let i = lead.heartbeatTimeout; i < lead.electionTimeout; i++) lead.tick();
    readMessages(lead);
    checkLeaderTransferState(lead, StateType.Leader, 1);
    expect(lead.leadTransferee).toBe(NONE);
  });

  // catches known bug 14 (RawNode side): with the target gone, the group gets its leader back for proposals.
  it('TestRawNodeTransferToDeadNodeRecovers3A', () => {
    const c = new RawNodeCluster([1, 2, 3]);
    c.campaign(1);
    c.isolate(3);
    c.member(1).node.transferLeader(3);
    c.settle();
    c.tick(2 * c.member(1).node.raft.electionTimeout);
    const lead = c.leader();
    expect(lead).toBeDefined();
    expect(lead!.node.raft.leadTransferee).toBe(NONE);
    c.propose(lead!.id, 'alive');
    expect(c.member(2).state).toContain('alive');
  });

  // Removing the target of a pending transfer cancels the transfer.
  it('TestLeaderTransferRemoveTransferee3A', () => {
    const { nt, lead } = electedNetwork();
    nt.isolate(3);
    nt.send(transferMsg(3, 1));
    expect(lead.leadTransferee).toBe(3);
    lead.removeNode(3);
    expect(lead.leadTransferee).toBe(NONE);
    const last = lead.raftLog.lastIndex();
    nt.send(propose(1, 1));
    expect(lead.raftLog.committed).toBe(last + 1);
  });

  // The transferee campaigns at once: no election timeout passes, and the old leader's term moves on by one.
  it('TestLeaderTransferTimeoutNowCampaignsImmediately3A', () => {
    const { nt, lead } = electedNetwork();
    const term = lead.term;
    const sent: eraftpb.Message[] = [];
    nt.msgHook = (m) => {
      sent.push(m);
      return true;
    };
    nt.send(transferMsg(2, 1));
    expect(sent.filter((m) => m.msgType === MessageType.MsgTimeoutNow).map((m) => [m.from, m.to])).toEqual([[1, 2]]);
    const two = nt.raft(2);
    expect(two.state).toBe(StateType.Leader);
    expect(two.term).toBe(term + 1);
    expect(lead.leadTransferee).toBe(NONE);
  });

  it('TestRawNodeTransferLeader3A', () => {
    const c = new RawNodeCluster([1, 2, 3]);
    c.campaign(1);
    c.propose(1, 'a');
    c.member(1).node.transferLeader(2);
    c.settle();
    expect(c.leader()?.id).toBe(2);
    c.propose(2, 'b');
    for (const id of [1, 2, 3]) expect(c.member(id).state).toEqual(['a', 'b']);
  });
});

describe('3A: conf changes', () => {
  // Only one conf change may be in flight: a second one proposed before the first is applied is refused.
  it('TestProposeSecondConfChangeWhilePending3A', () => {
    const { nt, lead } = electedNetwork();
    nextEnts(lead, nt.storage.get(1)!);
    lead.step(proposeConfChangeMsg(1, addNodeCC(4)));
    expect(confChangeEntries(lead)).toHaveLength(1);
    try {
      lead.step(proposeConfChangeMsg(1, addNodeCC(5)));
    } catch (err) {
      if (!(err instanceof ProposalDroppedError)) throw err;
    }
    // Refused outright or turned into a harmless entry: either way, no second conf change in the log.
    expect(confChangeEntries(lead)).toHaveLength(1);
  });

  // catches known bug 15: once the first conf change is applied, the next one is accepted (pending means
  // pendingConfIndex > applied).
  it('TestConfChangeAcceptedAfterApplied3A', () => {
    const { rn } = singleLeaderRawNode();
    rn.proposeConfChange(addNodeCC(1));
    const rd = rn.ready();
    expect(rd.committedEntries.filter((e) => e.entryType === EntryType.EntryConfChange)).toHaveLength(1);
    const ccIndex = rd.committedEntries[rd.committedEntries.length - 1]!.index;
    rn.applyConfChange(addNodeCC(1));
    rn.advance(rd);
    expect(rn.raft.raftLog.applied).toBe(ccIndex);
    expect(rn.raft.pendingConfIndex).toBeLessThanOrEqual(rn.raft.raftLog.applied);

    // Applied up to exactly the conf change: a new one is welcome.
    rn.proposeConfChange(addNodeCC(2));
    expect(confChangeEntries(rn.raft)).toHaveLength(2);
  });

  // catches known bug 15: same in a three-node group, where the conf change commits through replication.
  it('TestConfChangeAcceptedAfterAppliedInGroup3A', () => {
    const c = new RawNodeCluster([1, 2, 3]);
    c.campaign(1);
    c.proposeConfChange(1, removeNodeCC(3));
    expect(nodes(c.member(1).node.raft)).toEqual([1, 2]);
    c.proposeConfChange(1, addNodeCC(4));
    expect(nodes(c.member(1).node.raft)).toEqual([1, 2, 4]);
    expect(confChangeEntries(c.member(1).node.raft)).toHaveLength(2);
  });

  // A new leader does not know whether conf changes in its log were applied: it refuses a new one until it
  // has applied its log.
  it('TestNewLeaderWaitsForUnappliedConfChange3A', () => {
    const s = new MemoryStorage(eraftpb.ConfState({ nodes: [1, 2, 3] }));
    s.append([
      eraftpb.Entry({ index: 1, term: 1 }),
      eraftpb.Entry({ index: 2, term: 1, entryType: EntryType.EntryConfChange, data: encodeConfChange(addNodeCC(4)) }),
    ]);
    s.setHardState(eraftpb.HardState({ term: 1, commit: 2 }));
    const r = newTestRaft(1, [1, 2, 3], 10, 1, s);
    r.becomeCandidate();
    r.becomeLeader();
    readMessages(r);
    expect(() => r.step(proposeConfChangeMsg(1, addNodeCC(5)))).toThrow(ProposalDroppedError);

    // Once everything up to the conf change is applied, a new conf change is accepted.
    nextEnts(r, s);
    expect(r.raftLog.applied).toBe(2);
    r.step(proposeConfChangeMsg(1, addNodeCC(5)));
    expect(confChangeEntries(r)).toHaveLength(2);
  });

  // catches known bug 16: in a group of five with three followers dead, removing dead ones lets the waiting
  // entries commit without any new acknowledgement.
  it('TestRemoveDeadNodeCommitsPendingEntries3A', () => {
    const s = new MemoryStorage();
    const r = newTestRaft(1, [1, 2, 3, 4, 5], 10, 1, s);
    r.becomeCandidate();
    r.becomeLeader();
    readMessages(r);
    // Followers 2, 3 and 5 are gone; 4 acknowledges everything. 2 of 5 is no majority.
    r.step(propose(1, 1, 'x'));
    r.step(msg({ msgType: MessageType.MsgAppendResponse, from: 4, to: 1, term: r.term, index: r.raftLog.lastIndex() }));
    expect(r.raftLog.committed).toBe(0);
    r.removeNode(5);
    expect(r.raftLog.committed).toBe(0); // 2 of 4: still no majority
    readMessages(r);
    r.removeNode(3);
    expect(r.raftLog.committed).toBe(r.raftLog.lastIndex()); // 2 of 3
    // The followers learn the new commit at once.
    const appends = readMessages(r).filter((m) => m.msgType === MessageType.MsgAppend && m.to === 4);
    expect(appends.length).toBeGreaterThan(0);
    expect(appends[appends.length - 1]!.commit).toBe(r.raftLog.lastIndex());
  });

  // catches known bug 17: a leader that removed itself must not touch its own (deleted) progress.
  it('TestLeaderRemovesItself3A', () => {
    const { nt, lead } = electedNetwork();
    nt.send(propose(1, 1, 'a'));
    lead.removeNode(1);
    expect(nodes(lead)).toEqual([2, 3]);

    const noBugError = (f: () => void): void => {
      try {
        f();
      } catch (err) {
        if (!(err instanceof RaftError)) throw err; // refusing is fine; a TypeError is not
      }
    };
    noBugError(() => lead.step(propose(1, 1, 'b')));
    for (let i = 0; i < 3 * lead.electionTimeout; i++) noBugError(() => lead.tick());
    readMessages(lead);
    const last = lead.raftLog.lastIndex();
    noBugError(() => lead.step(msg({ msgType: MessageType.MsgAppendResponse, from: 2, to: 1, term: lead.term, index: last })));
    noBugError(() => lead.step(msg({ msgType: MessageType.MsgAppendResponse, from: 3, to: 1, term: lead.term, index: last })));
    noBugError(() => lead.step(msg({ msgType: MessageType.MsgHeartbeatResponse, from: 2, to: 1, term: lead.term })));
    // The remaining members, both up to date, decide the commit.
    expect(lead.raftLog.term(last)).toBe(lead.term);
    expect(lead.raftLog.committed).toBe(last);
  });

  // catches known bug 17 (RawNode side): the leader applies a conf change removing itself; the rest of the
  // group elects a new leader and keeps going.
  it('TestRawNodeLeaderRemovesItself3A', () => {
    const c = new RawNodeCluster([1, 2, 3]);
    c.campaign(1);
    c.propose(1, 'before');
    c.proposeConfChange(1, removeNodeCC(1));
    expect(c.member(1).removed).toBe(true);
    for (const id of [2, 3]) expect(nodes(c.member(id).node.raft)).toEqual([2, 3]);

    // Until its peer is destroyed, the old leader's RawNode may still be driven: nothing may blow up.
    const old = c.member(1).node;
    const refuseOrAccept = (f: () => void): void => {
      try {
        f();
      } catch (err) {
        if (!(err instanceof RaftError)) throw err;
      }
    };
    old.propose(bytes('late')); // refused or accepted: either is fine here
    for (let i = 0; i < 2 * old.raft.electionTimeout; i++) {
      old.tick();
      if (old.hasReady()) old.advance(old.ready());
    }
    refuseOrAccept(() => old.step(msg({ msgType: MessageType.MsgAppendResponse, from: 2, to: 1, term: old.raft.term, index: old.raft.raftLog.lastIndex() })));

    c.tick(3 * 10);
    const lead = c.leader();
    expect(lead === undefined ? undefined : [2, 3].includes(lead.id)).toBe(true);
    c.propose(lead!.id, 'after');
    for (const id of [2, 3]) expect(c.member(id).state).toEqual(['before', 'after']);
  });

  // catches known bug 18: a new member's progress starts with nothing matched and next within the log.
  it('TestAddNodeProgress3A', () => {
    const { nt, lead } = electedNetwork();
    for (let k = 0; k < 5; k++) nt.send(propose(1, 1, `v${k}`));
    lead.addNode(4);
    const pr = lead.prs.get(4)!;
    expect(pr.match).toBe(0);
    expect(pr.next).toBeGreaterThanOrEqual(1);
    expect(pr.next).toBeLessThanOrEqual(lead.raftLog.lastIndex() + 1);
    // Re-adding an existing member keeps its progress.
    const before = { ...lead.prs.get(2)! };
    lead.addNode(2);
    expect({ ...lead.prs.get(2)! }).toEqual(before);
  });

  // catches known bug 18: an empty new node added to a leader with a long log catches up completely.
  it('TestAddNodeCatchesUp3A', () => {
    const { nt, lead } = electedNetwork();
    for (let k = 0; k < 5; k++) nt.send(propose(1, 1, `v${k}`));
    const four = newTestRaft(4, [1, 2, 3, 4], 10, 1, new MemoryStorage());
    nt.peers.set(4, four);
    for (const id of [1, 2, 3]) nt.raft(id).addNode(4);

    nt.send(propose(1, 1, 'after add'));
    nt.send(beat(1));
    expect(four.raftLog.lastIndex()).toBe(lead.raftLog.lastIndex());
    expect(four.raftLog.committed).toBe(lead.raftLog.committed);
    expect(lead.prs.get(4)!.match).toBe(lead.raftLog.lastIndex());
    expect(four.raftLog.entries.map((e) => text(e.data))).toEqual(lead.raftLog.entries.map((e) => text(e.data)));
  });

  // catches known bug 18 (RawNode side): a node added by a conf change, started empty, ends with the same
  // state as the others, also when the leader's log was compacted (it gets a snapshot).
  it('TestRawNodeAddNodeEndToEnd3A', () => {
    const c = new RawNodeCluster([1, 2, 3]);
    c.campaign(1);
    for (let k = 0; k < 10; k++) c.propose(1, `v${k}`);
    c.compact(1);
    c.addMember(4, []);
    c.proposeConfChange(1, addNodeCC(4));
    c.tick(3);
    c.propose(1, 'after');
    expect(c.member(4).state).toEqual(c.member(1).state);
    expect(c.member(4).state).toHaveLength(11);
    expect(nodes(c.member(4).node.raft)).toEqual([1, 2, 3, 4]);
  });
});
