/**
 * PeerStorage over real engines in temporary directories (TinyKV's peer_storage_test.go scenarios, plus
 * saving Readies): raft's Storage interface after truncation, appends that replace a tail (whose stale
 * entries must be deleted from the engine, not only from memory), and what survives a reopen.
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { eraftpb, metapb, raft_serverpb } from '#proto';
import { CompactedError, UnavailableError } from '@impl/raft/errors.ts';
import type { Ready } from '@impl/raft/rawnode.ts';
import { PeerStorage } from '@impl/kv/raftstore/peer-storage.ts';
import { closeEngines, openEngines, type Engines } from '@impl/kv/raftstore/engines.ts';
import { bootstrapStore, firstRegion, prepareBootstrapRegion } from '@impl/kv/raftstore/bootstrap.ts';
import { raftLogKey, regionRaftRange, REGION_META_RANGE } from '@impl/kv/raftstore/keys.ts';
import { writeApplyState, writeRaftState } from '@impl/kv/raftstore/meta.ts';
import { WriteBatch, type Engine } from '@impl/kv/storage/engine.ts';
import { makeTempDir, removeDir } from './temp-dir.ts';

type Entry = eraftpb.Entry;

let dir = '';
const open: Engines[] = [];
beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  for (const e of open.splice(0)) await closeEngines(e);
  await removeDir(dir);
});

function newTestEntry(index: number, term: number): Entry {
  return eraftpb.Entry({ index, term, data: Uint8Array.of(0) });
}

let storeCounter = 0;
async function newEngines(): Promise<Engines> {
  const engines = await openEngines(path.join(dir, `store-${++storeCounter}`));
  open.push(engines);
  return engines;
}

const REGION = firstRegion([1]);

/**
 * A peer storage whose log was compacted at ents[0] and holds ents[1..] (TinyKV's newTestPeerStorageFromEnts):
 * the states are written to the engines, the entries appended through PeerStorage.append.
 */
async function newTestPeerStorageFromEnts(ents: Entry[]): Promise<PeerStorage> {
  const engines = await newEngines();
  await bootstrapStore(engines, 1, 1);
  await prepareBootstrapRegion(engines, REGION);
  const [first] = ents;
  const last = ents[ents.length - 1]!;
  const kvWB = new WriteBatch();
  writeApplyState(
    kvWB,
    REGION.id,
    raft_serverpb.RaftApplyState({
      appliedIndex: first!.index,
      truncatedState: raft_serverpb.RaftTruncatedState({ index: first!.index, term: first!.term }),
    }),
  );
  await engines.kv.write(kvWB);
  const raftWB = new WriteBatch();
  writeRaftState(
    raftWB,
    REGION.id,
    raft_serverpb.RaftLocalState({
      hardState: eraftpb.HardState({ term: last.term, commit: first!.index }),
      lastIndex: first!.index,
      lastTerm: first!.term,
    }),
  );
  await engines.raft.write(raftWB);
  const ps = await PeerStorage.open(engines, REGION);
  await appendEnts(ps, ents.slice(1));
  return ps;
}

/** Appends through PeerStorage.append and writes the batch with the raft state (TinyKV's appendEnts). */
async function appendEnts(ps: PeerStorage, ents: Entry[]): Promise<void> {
  const raftWB = new WriteBatch();
  ps.append(ents, raftWB);
  writeRaftState(raftWB, ps.region.id, ps.raftState);
  await ps.engines.raft.write(raftWB);
}

/** The same storage as a restarted store would load it. */
function reopen(ps: PeerStorage): Promise<PeerStorage> {
  return PeerStorage.open(ps.engines, ps.region);
}

/** Keys of the meta range of `engine` in [start, end). */
async function countMetaKeys(engine: Engine, start: Uint8Array, end: Uint8Array): Promise<number> {
  const it = engine.iterMeta({ end });
  let n = 0;
  try {
    for (await it.seek(start); it.valid(); await it.next()) n++;
  } finally {
    await it.close();
  }
  return n;
}

/** Every key this region's peer persisted: region and apply state (kv engine), raft state and log (raft engine). */
async function getMetaKeyCount(ps: PeerStorage): Promise<number> {
  const raft = regionRaftRange(ps.region.id);
  const kvRaftSide = await countMetaKeys(ps.engines.kv, raft.start, raft.end); // the apply state
  const kvMeta = await countMetaKeys(ps.engines.kv, REGION_META_RANGE.start, REGION_META_RANGE.end); // the region state
  const raftSide = await countMetaKeys(ps.engines.raft, raft.start, raft.end); // raft state + log entries
  return kvRaftSide + kvMeta + raftSide;
}

/** The indexes of the log entries of region 1 in the raft engine. */
async function logIndexesOnDisk(engines: Engines): Promise<number[]> {
  const found: number[] = [];
  for (let i = 0; i <= 20; i++) {
    if ((await engines.raft.getMeta(raftLogKey(REGION.id, i))) !== undefined) found.push(i);
  }
  return found;
}

describe('PeerStorage (2B)', () => {
  test('TestPeerStorageTerm2B', async () => {
    const ents = [newTestEntry(3, 3), newTestEntry(4, 4), newTestEntry(5, 5)];
    const ps = await newTestPeerStorageFromEnts(ents);
    expect(() => ps.term(2)).toThrow(CompactedError);
    expect(ps.term(3)).toBe(3);
    expect(ps.term(4)).toBe(4);
    expect(ps.term(5)).toBe(5);
    expect(() => ps.term(6)).toThrow(UnavailableError);
    const again = await reopen(ps);
    expect([3, 4, 5].map((i) => again.term(i))).toEqual([3, 4, 5]);
    expect(() => again.term(2)).toThrow(CompactedError);
  });

  test('TestPeerStorageClearMeta2B', async () => {
    const ps = await newTestPeerStorageFromEnts([newTestEntry(3, 3), newTestEntry(4, 4)]);
    await appendEnts(ps, [newTestEntry(5, 5), newTestEntry(6, 6)]);
    // region state + apply state + raft state + entries 4, 5, 6
    expect(await getMetaKeyCount(ps)).toBe(6);
    const kvWB = new WriteBatch();
    const raftWB = new WriteBatch();
    ps.clearMeta(kvWB, raftWB);
    await ps.engines.kv.write(kvWB);
    await ps.engines.raft.write(raftWB);
    expect(await getMetaKeyCount(ps)).toBe(0);
  });

  test('TestPeerStorageEntries2B', async () => {
    const ents = [newTestEntry(3, 3), newTestEntry(4, 4), newTestEntry(5, 5), newTestEntry(6, 6)];
    const cases: Array<{ lo: number; hi: number; want?: Entry[]; error?: typeof CompactedError }> = [
      { lo: 2, hi: 6, error: CompactedError },
      { lo: 3, hi: 4, error: CompactedError },
      { lo: 4, hi: 5, want: [newTestEntry(4, 4)] },
      { lo: 4, hi: 6, want: [newTestEntry(4, 4), newTestEntry(5, 5)] },
      { lo: 4, hi: 7, want: [newTestEntry(4, 4), newTestEntry(5, 5), newTestEntry(6, 6)] },
      { lo: 5, hi: 5, want: [] },
      { lo: 4, hi: 8, error: UnavailableError },
    ];
    const ps = await newTestPeerStorageFromEnts(ents);
    const again = await reopen(ps);
    for (const [i, tt] of cases.entries()) {
      for (const storage of [ps, again]) {
        if (tt.error) expect(() => storage.entries(tt.lo, tt.hi), `case ${i}`).toThrow(tt.error);
        else expect(storage.entries(tt.lo, tt.hi), `case ${i}`).toEqual(tt.want);
      }
    }
  });

  test('TestPeerStorageAppend2B', async () => {
    const ents = [newTestEntry(3, 3), newTestEntry(4, 4), newTestEntry(5, 5)];
    const cases: Array<{ appends: Entry[]; results: Entry[] }> = [
      {
        appends: [newTestEntry(3, 3), newTestEntry(4, 4), newTestEntry(5, 5)],
        results: [newTestEntry(4, 4), newTestEntry(5, 5)],
      },
      {
        appends: [newTestEntry(3, 3), newTestEntry(4, 6), newTestEntry(5, 6)],
        results: [newTestEntry(4, 6), newTestEntry(5, 6)],
      },
      {
        appends: [newTestEntry(3, 3), newTestEntry(4, 4), newTestEntry(5, 5), newTestEntry(6, 5)],
        results: [newTestEntry(4, 4), newTestEntry(5, 5), newTestEntry(6, 5)],
      },
      // truncate incoming entries, truncate the existing entries and append
      { appends: [newTestEntry(2, 3), newTestEntry(3, 3), newTestEntry(4, 5)], results: [newTestEntry(4, 5)] },
      // truncate the existing entries and append
      { appends: [newTestEntry(4, 5)], results: [newTestEntry(4, 5)] },
      // direct append
      { appends: [newTestEntry(6, 5)], results: [newTestEntry(4, 4), newTestEntry(5, 5), newTestEntry(6, 5)] },
    ];
    for (const [i, tt] of cases.entries()) {
      const ps = await newTestPeerStorageFromEnts(ents);
      await appendEnts(ps, tt.appends);
      const li = ps.lastIndex();
      expect(li, `case ${i}`).toBe(tt.results[tt.results.length - 1]!.index);
      expect(ps.entries(4, li + 1), `case ${i}`).toEqual(tt.results);
      expect(ps.raftState.lastTerm, `case ${i}`).toBe(tt.results[tt.results.length - 1]!.term);
      // What is on disk is exactly the new log: a replaced tail is deleted, not just forgotten.
      expect(await logIndexesOnDisk(ps.engines), `case ${i}`).toEqual(tt.results.map((e) => e.index));
      const again = await reopen(ps);
      expect(again.lastIndex(), `case ${i}`).toBe(li);
      expect(again.entries(4, li + 1), `case ${i}`).toEqual(tt.results);
    }
  });

  test('a shorter log from a new leader leaves no stale tail in the engine (bug 19)', async () => {
    const ps = await newTestPeerStorageFromEnts([newTestEntry(5, 5), newTestEntry(6, 5), newTestEntry(7, 5), newTestEntry(8, 5), newTestEntry(9, 5)]);
    await appendEnts(ps, [newTestEntry(7, 6)]);
    expect(ps.lastIndex()).toBe(7);
    expect(await logIndexesOnDisk(ps.engines)).toEqual([6, 7]);
    // The old entries 8 and 9 must not come back when the log grows again without rewriting them...
    await appendEnts(ps, [newTestEntry(8, 6)]);
    expect(await logIndexesOnDisk(ps.engines)).toEqual([6, 7, 8]);
    const again = await reopen(ps);
    expect(again.entries(6, 9)).toEqual([newTestEntry(6, 5), newTestEntry(7, 6), newTestEntry(8, 6)]);
    expect(() => again.entries(6, 10)).toThrow(UnavailableError);
  });

  test('a bootstrapped region starts at the initial log index and term, with its members', async () => {
    const engines = await newEngines();
    await bootstrapStore(engines, 1, 2);
    const region = firstRegion([1, 2, 3]);
    await prepareBootstrapRegion(engines, region);
    const ps = await PeerStorage.open(engines, region);
    const { hardState, confState } = ps.initialState();
    expect(hardState).toMatchObject({ term: 5, commit: 5 });
    expect(confState.nodes).toEqual([1, 2, 3]);
    expect(ps.firstIndex()).toBe(6);
    expect(ps.lastIndex()).toBe(5);
    expect(ps.term(5)).toBe(5);
    expect(ps.appliedIndex()).toBe(5);
    expect(ps.entries(6, 6)).toEqual([]);
    expect(() => ps.entries(5, 6)).toThrow(CompactedError);
  });

  test('a peer created by a message (no members yet) starts empty', async () => {
    const engines = await newEngines();
    await bootstrapStore(engines, 1, 4);
    const ps = await PeerStorage.open(engines, metapb.Region({ id: 7, regionEpoch: metapb.RegionEpoch() }));
    expect(ps.isInitialized()).toBe(false);
    const { hardState, confState } = ps.initialState();
    expect(hardState).toMatchObject({ term: 0, vote: 0, commit: 0 });
    expect(confState.nodes).toEqual([]);
    expect(ps.lastIndex()).toBe(0);
    expect(ps.firstIndex()).toBe(1);
  });

  test('saveReadyState persists entries and hard state in one raft engine write, and nothing for an empty Ready', async () => {
    const engines = await newEngines();
    await bootstrapStore(engines, 1, 1);
    await prepareBootstrapRegion(engines, REGION);
    const ps = await PeerStorage.open(engines, REGION);
    const ready = (init: Partial<Ready>): Ready => ({ entries: [], committedEntries: [], messages: [], ...init });

    const before = engines.raft.stats.batches;
    await ps.saveReadyState(
      ready({
        entries: [newTestEntry(6, 6), newTestEntry(7, 6), newTestEntry(8, 6)],
        hardState: eraftpb.HardState({ term: 6, vote: 1, commit: 7 }),
      }),
    );
    expect(engines.raft.stats.batches - before).toBe(1);
    expect(ps.lastIndex()).toBe(8);

    const idle = engines.raft.stats.batches;
    await ps.saveReadyState(ready({}));
    expect(engines.raft.stats.batches).toBe(idle);

    // A new leader replaces entry 7 on: a shorter log with a new hard state.
    await ps.saveReadyState(ready({ entries: [newTestEntry(7, 7)], hardState: eraftpb.HardState({ term: 7, vote: 0, commit: 7 }) }));
    expect(engines.raft.stats.batches - idle).toBe(1);

    const again = await reopen(ps);
    expect(again.initialState().hardState).toMatchObject({ term: 7, vote: 0, commit: 7 });
    expect(again.lastIndex()).toBe(7);
    expect(again.raftState.lastTerm).toBe(7);
    expect(again.entries(6, 8)).toEqual([newTestEntry(6, 6), newTestEntry(7, 7)]);
    expect(await logIndexesOnDisk(engines)).toEqual([6, 7]);

    // A hard state alone (a vote) is persisted too.
    await again.saveReadyState(ready({ hardState: eraftpb.HardState({ term: 8, vote: 2, commit: 7 }) }));
    expect((await reopen(again)).initialState().hardState).toMatchObject({ term: 8, vote: 2, commit: 7 });
  });
});
