/**
 * The invariant checkers of cluster tests (harness/cluster/raft-safety.ts, write-checks.ts), on states and
 * write batches made up here: each must pass a healthy history and name each kind of violation. What they
 * catch in real runs is measured on the bug zoo (GUIDE, "Invariant checks").
 */
import { describe, expect, it } from 'vitest';
import { encode, eraftpb, metapb, raft_serverpb } from '#proto';
import { applyStateKey, raftLogKey, regionStateKey } from '@impl/kv/raftstore/keys.ts';
import type { RaftProbe } from '@impl/kv/raftstore/raftstore.ts';
import { WriteBatch } from '@impl/kv/storage/engine.ts';
import { RaftSafetyChecker } from '../../cluster/raft-safety.ts';
import { WriteChecker } from '../../cluster/write-checks.ts';

/** A peer whose log holds `terms[i]` at index firstIndex + i. */
interface FakePeer {
  instance: object;
  regionId: number;
  peerId: number;
  term: number;
  commit: number;
  applied: number;
  isLeader: boolean;
  firstIndex: number;
  terms: number[];
}

function probeOf(p: FakePeer): RaftProbe {
  return {
    instance: p.instance,
    regionId: p.regionId,
    peerId: p.peerId,
    term: p.term,
    vote: 0,
    commit: p.commit,
    applied: p.applied,
    lastIndex: p.firstIndex + p.terms.length - 1,
    firstIndex: p.firstIndex,
    isLeader: p.isLeader,
    termAt: (i) => p.terms[i - p.firstIndex],
  };
}

function fakePeer(storeId: number, fields: Partial<FakePeer> = {}): FakePeer {
  return { instance: {}, regionId: 1, peerId: storeId, term: 1, commit: 0, applied: 0, isLeader: false, firstIndex: 1, terms: [], ...fields };
}

/** A checker over fake stores: stores.get(id) is the peer list of store id. */
function raftChecker(): { checker: RaftSafetyChecker; stores: Map<number, FakePeer[]> } {
  const stores = new Map<number, FakePeer[]>();
  const checker = new RaftSafetyChecker((id) => stores.get(id)?.map(probeOf));
  return { checker, stores };
}

describe('kit: raft safety checker', () => {
  it('passes a healthy history: election, replication, commit, a new leader in a later term', () => {
    const { checker, stores } = raftChecker();
    const [a, b, c] = [fakePeer(1), fakePeer(2), fakePeer(3)];
    stores.set(1, [a]).set(2, [b]).set(3, [c]);
    Object.assign(a, { term: 2, isLeader: true, terms: [2, 2, 2], commit: 3, applied: 2 });
    Object.assign(b, { term: 2, terms: [2, 2, 2], commit: 2, applied: 2 });
    for (const id of [1, 2, 3]) expect(checker.checkStore(id)).toBeUndefined();
    Object.assign(a, { isLeader: false, term: 3 });
    Object.assign(b, { term: 3, isLeader: true, terms: [2, 2, 2, 3], commit: 4 });
    for (const id of [1, 2, 3]) expect(checker.checkStore(id)).toBeUndefined();
    expect(checker.committedTerm(1, 4)).toBe(3);
  });

  it('names a term or a commit index that goes back, and applied beyond commit', () => {
    const { checker, stores } = raftChecker();
    const a = fakePeer(1, { term: 4, terms: [1, 1], commit: 2 });
    stores.set(1, [a]);
    expect(checker.checkStore(1)).toBeUndefined();
    a.term = 3;
    expect(checker.checkStore(1)).toMatch(/term of peer 1 of region 1 on store 1 went back from 4 to 3/);
    a.term = 4;
    a.commit = 1;
    expect(checker.checkStore(1)).toMatch(/commit index .* went back from 2 to 1/);
    a.commit = 2;
    a.applied = 3;
    expect(checker.checkStore(1)).toMatch(/applied up to 3, beyond its commit index 2/);
  });

  it('forgets a peer destroyed and added again with the same id (a new instance starts over)', () => {
    const { checker, stores } = raftChecker();
    stores.set(1, [fakePeer(1, { term: 5, terms: [1, 5], commit: 2 })]);
    expect(checker.checkStore(1)).toBeUndefined();
    stores.set(1, [fakePeer(1, { term: 0 })]);
    expect(checker.checkStore(1)).toBeUndefined();
  });

  it('names two leaders of one term (Election Safety)', () => {
    const { checker, stores } = raftChecker();
    stores.set(1, [fakePeer(1, { term: 2, isLeader: true, terms: [2] })]);
    stores.set(2, [fakePeer(2, { term: 2, isLeader: true, terms: [2] })]);
    expect(checker.checkStore(1)).toBeUndefined();
    expect(checker.checkStore(2)).toMatch(/Election Safety: two leaders in term 2 of region 1: peer 1 on store 1 and peer 2 on store 2/);
  });

  it('names a committed index whose entry differs between peers (State Machine Safety)', () => {
    const { checker, stores } = raftChecker();
    stores.set(1, [fakePeer(1, { term: 3, terms: [1, 2], commit: 2 })]);
    stores.set(2, [fakePeer(2, { term: 3, terms: [1, 3], commit: 2 })]);
    expect(checker.checkStore(1)).toBeUndefined();
    expect(checker.checkStore(2)).toMatch(/State Machine Safety: peer 2 .* commits index 2 with an entry of term 3, but an entry of term 2/);
  });

  it('names a new leader that lacks an entry committed in an earlier term (Leader Completeness)', () => {
    const { checker, stores } = raftChecker();
    stores.set(1, [fakePeer(1, { term: 2, terms: [1, 2, 2], commit: 3 })]);
    stores.set(2, [fakePeer(2, { term: 3, isLeader: true, terms: [1, 2] })]);
    stores.set(3, [fakePeer(3, { term: 3, isLeader: false, terms: [1, 3, 3] })]);
    expect(checker.checkStore(1)).toBeUndefined();
    expect(checker.checkStore(2)).toMatch(/Leader Completeness: .* leads term 3 but its log ends at 2, without the entry of term 2 committed at 3 in term 2/);
    stores.get(3)![0]!.isLeader = true;
    stores.get(3)![0]!.term = 4;
    expect(checker.checkStore(3)).toMatch(/Leader Completeness: .* its entry at 2 has term 3, not the entry of term 2 committed at 2/);
  });

  it('lets a late-elected leader of an old term lack entries committed in its term or later', () => {
    const { checker, stores } = raftChecker();
    stores.set(1, [fakePeer(1, { term: 3, terms: [1, 3, 3], commit: 3 })]);
    stores.set(2, [fakePeer(2, { term: 3, isLeader: true, terms: [1] })]);
    expect(checker.checkStore(1)).toBeUndefined();
    expect(checker.checkStore(2)).toBeUndefined();
  });

  it('does not hold a compacted prefix against a leader (entries before its first index are in its snapshot)', () => {
    const { checker, stores } = raftChecker();
    stores.set(1, [fakePeer(1, { term: 2, terms: [1, 2, 2, 2], commit: 4 })]);
    stores.set(2, [fakePeer(2, { term: 3, isLeader: true, firstIndex: 4, terms: [2, 3] })]);
    expect(checker.checkStore(1)).toBeUndefined();
    expect(checker.checkStore(2)).toBeUndefined();
  });
});

const region = (id: number, start: string, end: string, version = 1, confVer = 1) =>
  metapb.Region({
    id,
    startKey: Buffer.from(start),
    endKey: Buffer.from(end),
    regionEpoch: metapb.RegionEpoch({ version, confVer }),
  });

function applyState(applied: number, truncatedIndex: number, truncatedTerm: number): Uint8Array {
  return encode(
    'raft_serverpb.RaftApplyState',
    raft_serverpb.RaftApplyState({
      appliedIndex: applied,
      truncatedState: raft_serverpb.RaftTruncatedState({ index: truncatedIndex, term: truncatedTerm }),
    }),
  );
}

function regionState(r: metapb.Region, state = raft_serverpb.PeerState.Normal): Uint8Array {
  return encode('raft_serverpb.RegionLocalState', raft_serverpb.RegionLocalState({ state, region: r }));
}

/**
 * A write checker over one store that holds region 1 = [a, m) (its peer's commit index: 8 unless told) and region 2 =
 * [m, +inf) (commit 0); entry 7 of region 1 was committed at term 3.
 */
function writeChecker(region1Commit = 8): { checker: WriteChecker; write: (kind: 'kv' | 'raft', batch: WriteBatch) => string | undefined } {
  const held = new Map([
    [1, region(1, 'a', 'm')],
    [2, region(2, 'm', '')],
  ]);
  const checker = new WriteChecker(
    (_store, id) => held.get(id),
    (_store, id) => (id === 1 ? region1Commit : 0),
    (regionId, index) => (regionId === 1 && index === 7 ? 3 : undefined),
  );
  const engines = {
    kv: { write: async (_batch: WriteBatch) => undefined },
    raft: { write: async (_batch: WriteBatch) => undefined },
  };
  checker.watch(1, engines as never);
  return {
    checker,
    write: (kind, batch) => {
      void engines[kind].write(batch);
      return checker.takeViolation();
    },
  };
}

describe('kit: store write checker', () => {
  it('passes data written with the apply state of its region, and a split that narrows the region', () => {
    const { write } = writeChecker();
    const apply = new WriteBatch().putCF('default', Buffer.from('b'), Buffer.from('1')).putMeta(applyStateKey(1), applyState(8, 7, 3));
    expect(write('kv', apply)).toBeUndefined();
    // Entries before a split may write the right part; the batch holds the narrowed region state.
    const split = new WriteBatch()
      .putCF('default', Buffer.from('k'), Buffer.from('2'))
      .putMeta(regionStateKey(1), regionState(region(1, 'a', 'f', 2)))
      .putMeta(applyStateKey(1), applyState(9, 7, 3));
    expect(write('kv', split)).toBeUndefined();
    // Deleting data (a snapshot clearing a range, a destroy) needs no apply state of its own.
    expect(write('kv', new WriteBatch().deleteCF('default', Buffer.from('z')))).toBeUndefined();
  });

  it('names data written without the apply state of the region that holds it', () => {
    const { write } = writeChecker();
    expect(write('kv', new WriteBatch().putCF('default', Buffer.from('b'), Buffer.from('1')))).toMatch(
      /store 1 wrote default key .* without the apply state .* \(apply states in the batch: none\)/,
    );
    const wrongRegion = new WriteBatch().putCF('lock', Buffer.from('x'), Buffer.from('1')).putMeta(applyStateKey(1), applyState(8, 7, 3));
    expect(write('kv', wrongRegion)).toMatch(/wrote lock key .*\(apply states in the batch: 1\)/);
  });

  it('names a region epoch that goes back on a store', () => {
    const { write } = writeChecker();
    expect(write('kv', new WriteBatch().putMeta(regionStateKey(2), regionState(region(2, 'm', '', 3, 4))))).toBeUndefined();
    expect(write('kv', new WriteBatch().putMeta(regionStateKey(2), regionState(region(2, 'm', '', 3, 2), raft_serverpb.PeerState.Tombstone)))).toMatch(
      /store 1 wrote region 2 \(Tombstone\) with epoch version 3, conf_ver 2, older than the version 3, conf_ver 4/,
    );
  });

  it('names a truncated state whose term is not the committed term of its index, and applied below truncated', () => {
    const { write } = writeChecker();
    expect(write('kv', new WriteBatch().putMeta(applyStateKey(1), applyState(9, 7, 2)))).toMatch(
      /truncated state as index 7, term 2, but the entry committed at 7 has term 3/,
    );
    expect(write('kv', new WriteBatch().putMeta(applyStateKey(1), applyState(6, 7, 3)))).toMatch(/applied index 6 below its truncated index 7/);
  });

  it('names a raft log entry written over a committed one with another term by a peer that counts it committed', () => {
    const { write } = writeChecker();
    const same = encode('eraftpb.Entry', eraftpb.Entry({ index: 7, term: 3 }));
    expect(write('raft', new WriteBatch().putMeta(raftLogKey(1, 7), same))).toBeUndefined();
    const other = encode('eraftpb.Entry', eraftpb.Entry({ index: 7, term: 4 }));
    // A lagging peer (commit index 6) may still take an entry that lost elsewhere: the leader replaces it later.
    expect(writeChecker(6).write('raft', new WriteBatch().putMeta(raftLogKey(1, 7), other))).toBeUndefined();
    expect(write('raft', new WriteBatch().putMeta(raftLogKey(1, 7), other))).toMatch(
      /State Machine Safety: store 1 wrote entry 7 of region 1 with term 4 while its commit index is 8, but the entry committed at 7 has term 3/,
    );
  });
});
