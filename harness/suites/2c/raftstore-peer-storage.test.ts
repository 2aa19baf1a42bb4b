/**
 * PeerStorage's snapshots and log compaction (2C) over real engines: generating a snapshot in the background,
 * applying one to an empty peer and to a peer with stale data, compacting the log, and finishing a snapshot
 * that a crash interrupted between the kv and the raft engine writes.
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { eraftpb, metapb } from '#proto';
import { CompactedError, SnapshotTemporarilyUnavailableError } from '@impl/raft/errors.ts';
import type { Ready } from '@impl/raft/rawnode.ts';
import type { Job } from '@impl/runtime/runtime.ts';
import { PeerStorage, type BackgroundRunner } from '@impl/kv/raftstore/peer-storage.ts';
import { closeEngines, openEngines, type Engines } from '@impl/kv/raftstore/engines.ts';
import { bootstrapStore, firstRegion, prepareBootstrapRegion } from '@impl/kv/raftstore/bootstrap.ts';
import { raftLogKey } from '@impl/kv/raftstore/keys.ts';
import { getApplyState, getRaftLocalState, getRegionLocalState, writeApplyState } from '@impl/kv/raftstore/meta.ts';
import { parseSnapshotData } from '@impl/kv/raftstore/snapshot-data.ts';
import { WriteBatch } from '@impl/kv/storage/engine.ts';
import type { ColumnFamily } from '@impl/kv/storage/storage.ts';
import { bytes, text } from '../../cluster/keys.ts';
import { makeTempDir, removeDir } from '../2b/temp-dir.ts';

let dir = '';
const opened: Engines[] = [];
let counter = 0;
beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  for (const e of opened.splice(0)) await closeEngines(e);
  await removeDir(dir);
});

async function newStore(storeId: number): Promise<Engines> {
  const engines = await openEngines(path.join(dir, `store-${++counter}`));
  opened.push(engines);
  await bootstrapStore(engines, 1, storeId);
  return engines;
}

/** Runs background tasks and posted jobs when the test says so. */
class ManualRunner implements BackgroundRunner {
  private tasks: Array<() => Promise<void>> = [];
  private jobs: Job[] = [];
  spawned = 0;

  spawn(_name: string, task: () => Promise<void>): void {
    this.spawned++;
    this.tasks.push(task);
  }

  post(_label: string, fn: Job): void {
    this.jobs.push(fn);
  }

  async runAll(): Promise<void> {
    while (this.tasks.length > 0 || this.jobs.length > 0) {
      const task = this.tasks.shift();
      if (task) await task();
      const job = this.jobs.shift();
      if (job) await job();
    }
  }
}

async function put(engines: Engines, cf: ColumnFamily, key: string, value: string): Promise<void> {
  const wb = new WriteBatch();
  wb.putCF(cf, bytes(key), bytes(value));
  await engines.kv.write(wb);
}

async function value(engines: Engines, cf: ColumnFamily, key: string): Promise<string | undefined> {
  const v = await engines.kv.getCF(cf, bytes(key));
  return v === undefined ? undefined : text(v);
}

function entry(index: number, term: number): eraftpb.Entry {
  return eraftpb.Entry({ index, term, data: Uint8Array.of(1) });
}

const ready = (init: Partial<Ready>): Ready => ({ entries: [], committedEntries: [], messages: [], ...init });

/** A leader-side storage of region 1 (peers 1, 2, 3) with data in every column family and entries 6..8. */
async function leaderStorage(runner: BackgroundRunner): Promise<PeerStorage> {
  const engines = await newStore(1);
  await prepareBootstrapRegion(engines, firstRegion([1, 2, 3]));
  await put(engines, 'default', 'a', 'va');
  await put(engines, 'lock', 'b', 'vb');
  await put(engines, 'write', 'c', 'vc');
  const ps = await PeerStorage.open(engines, firstRegion([1, 2, 3]), { runner });
  await ps.saveReadyState(ready({ entries: [entry(6, 6), entry(7, 6), entry(8, 6)], hardState: eraftpb.HardState({ term: 6, commit: 8 }) }));
  // As if entries 6..8 were applied (their data is the puts above).
  ps.applyState.appliedIndex = 8;
  const kvWB = new WriteBatch();
  writeApplyState(kvWB, 1, ps.applyState);
  await engines.kv.write(kvWB);
  return ps;
}

describe('PeerStorage snapshots and compaction (2C)', () => {
  test('TestPeerStorageSnapshotGenerate2C: unavailable until generated in the background, then the applied state of the region', async () => {
    const runner = new ManualRunner();
    const ps = await leaderStorage(runner);
    expect(() => ps.snapshot()).toThrow(SnapshotTemporarilyUnavailableError);
    expect(() => ps.snapshot()).toThrow(SnapshotTemporarilyUnavailableError);
    expect(runner.spawned).toBe(1); // one generation at a time
    await runner.runAll();
    const snap = ps.snapshot();
    expect(snap.metadata).toMatchObject({ index: 8, term: 6 });
    expect(snap.metadata?.confState?.nodes).toEqual([1, 2, 3]);
    const data = parseSnapshotData(snap.data);
    expect(data.region.id).toBe(1);
    const pairs = data.families.map((f) => [f.cf, f.pairs.map((p) => `${text(p.key)}=${text(p.value)}`)]);
    expect(pairs).toEqual([
      ['default', ['a=va']],
      ['lock', ['b=vb']],
      ['write', ['c=vc']],
    ]);
    // Still usable: handed out again without generating a new one.
    expect(ps.snapshot()).toBe(snap);
    expect(runner.spawned).toBe(1);
  });

  test('TestPeerStorageCompact2C: compaction moves the first index, a compacted snapshot is generated again', async () => {
    const runner = new ManualRunner();
    const ps = await leaderStorage(runner);
    expect(() => ps.snapshot()).toThrow(SnapshotTemporarilyUnavailableError);
    await runner.runAll();
    expect(ps.snapshot().metadata?.index).toBe(8);

    expect(ps.compactTo(5, 5)).toBe(false); // not beyond the compaction point
    expect(ps.compactTo(7, 6)).toBe(true);
    expect(ps.firstIndex()).toBe(8);
    expect(ps.truncatedIndex()).toBe(7);
    expect(ps.term(7)).toBe(6);
    expect(() => ps.entries(7, 9)).toThrow(CompactedError);
    expect(ps.entries(8, 9)).toEqual([entry(8, 6)]);
    expect(ps.snapshot().metadata?.index).toBe(8); // index 8 >= truncated 7: still fine

    ps.applyState.appliedIndex = 8;
    expect(ps.compactTo(8, 6)).toBe(true);
    expect(ps.snapshot().metadata?.index).toBe(8); // == truncated: the follower continues with entry 9
    expect(() => ps.compactTo(9, 6)).toThrow(); // beyond the last entry
  });

  test('TestPeerStorageApplySnapshot2C: an empty peer takes the snapshot: data, region, states, log position', async () => {
    const runner = new ManualRunner();
    const leader = await leaderStorage(runner);
    expect(() => leader.snapshot()).toThrow(SnapshotTemporarilyUnavailableError);
    await runner.runAll();
    const snap = leader.snapshot();

    const engines = await newStore(2);
    await put(engines, 'default', 'stale', 'left over from an old life of this range');
    const follower = await PeerStorage.open(engines, metapb.Region({ id: 1, regionEpoch: metapb.RegionEpoch() }));
    expect(follower.isInitialized()).toBe(false);
    const kvBefore = engines.kv.stats.batches;
    const raftBefore = engines.raft.stats.batches;
    const result = await follower.saveReadyState(ready({ snapshot: snap, hardState: eraftpb.HardState({ term: 6, commit: 8 }) }));
    expect(engines.kv.stats.batches - kvBefore).toBe(1);
    expect(engines.raft.stats.batches - raftBefore).toBe(1);

    expect(result?.region.id).toBe(1);
    expect(result?.prevRegion.peers).toEqual([]);
    expect(follower.isInitialized()).toBe(true);
    expect(follower.region.peers.map((p) => p.id)).toEqual([1, 2, 3]);
    expect(follower.appliedIndex()).toBe(8);
    expect(follower.truncatedIndex()).toBe(8);
    expect(follower.truncatedTerm()).toBe(6);
    expect(follower.firstIndex()).toBe(9);
    expect(follower.lastIndex()).toBe(8);
    expect(follower.term(8)).toBe(6);
    expect(await value(engines, 'default', 'a')).toBe('va');
    expect(await value(engines, 'lock', 'b')).toBe('vb');
    expect(await value(engines, 'write', 'c')).toBe('vc');
    expect(await value(engines, 'default', 'stale')).toBeUndefined();

    // Persisted: a restarted store loads the same.
    expect((await getApplyState(engines.kv, 1))?.truncatedState).toMatchObject({ index: 8, term: 6 });
    expect((await getRaftLocalState(engines.raft, 1))?.lastIndex).toBe(8);
    expect((await getRegionLocalState(engines.kv, 1))?.region?.peers.length).toBe(3);
    const again = await PeerStorage.open(engines, (await getRegionLocalState(engines.kv, 1))!.region!);
    expect(again.initialState().confState.nodes).toEqual([1, 2, 3]);
    expect(again.initialState().hardState).toMatchObject({ term: 6, commit: 8 });
    expect(again.lastIndex()).toBe(8);
  });

  test('TestPeerStorageApplySnapshotReplacesLog2C: a lagging peer drops its old log and data', async () => {
    const runner = new ManualRunner();
    const leader = await leaderStorage(runner);
    expect(() => leader.snapshot()).toThrow(SnapshotTemporarilyUnavailableError);
    await runner.runAll();
    const snap = leader.snapshot();

    const engines = await newStore(2);
    await prepareBootstrapRegion(engines, firstRegion([1, 2, 3]));
    await put(engines, 'default', 'a', 'old');
    await put(engines, 'default', 'zz', 'deleted by the leader since');
    const follower = await PeerStorage.open(engines, firstRegion([1, 2, 3]));
    // An uncommitted entry of an old term that the snapshot makes obsolete.
    await follower.saveReadyState(ready({ entries: [entry(6, 5)], hardState: eraftpb.HardState({ term: 5, commit: 5 }) }));
    await follower.saveReadyState(ready({ snapshot: snap, hardState: eraftpb.HardState({ term: 6, commit: 8 }) }));
    expect(await engines.raft.getMeta(raftLogKey(1, 6))).toBeUndefined();
    expect(follower.lastIndex()).toBe(8);
    expect(await value(engines, 'default', 'a')).toBe('va');
    expect(await value(engines, 'default', 'zz')).toBeUndefined();
    // The log continues after the snapshot.
    await follower.saveReadyState(ready({ entries: [entry(9, 6)], hardState: eraftpb.HardState({ term: 6, commit: 9 }) }));
    const again = await PeerStorage.open(engines, follower.region);
    expect(again.entries(9, 10)).toEqual([entry(9, 6)]);
    expect(() => again.entries(8, 10)).toThrow(CompactedError);
  });

  test('a snapshot interrupted by a crash between the kv and the raft write is finished at the next start', async () => {
    const runner = new ManualRunner();
    const leader = await leaderStorage(runner);
    expect(() => leader.snapshot()).toThrow(SnapshotTemporarilyUnavailableError);
    await runner.runAll();
    const snap = leader.snapshot();

    const engines = await newStore(2);
    await prepareBootstrapRegion(engines, firstRegion([1, 2, 3]));
    const follower = await PeerStorage.open(engines, firstRegion([1, 2, 3]));
    await follower.saveReadyState(ready({ entries: [entry(6, 5)], hardState: eraftpb.HardState({ term: 5, commit: 5 }) }));
    // Apply the snapshot but write only the kv batch: the power fails before the raft batch.
    const kvWB = new WriteBatch();
    await follower.applySnapshot(snap, kvWB, new WriteBatch());
    await engines.kv.write(kvWB);

    const restarted = await PeerStorage.open(engines, (await getRegionLocalState(engines.kv, 1))!.region!);
    expect(restarted.lastIndex()).toBe(8);
    expect(restarted.appliedIndex()).toBe(8);
    expect(restarted.initialState().hardState).toMatchObject({ term: 6, commit: 8 });
    expect(await engines.raft.getMeta(raftLogKey(1, 6))).toBeUndefined();
    expect(await value(engines, 'default', 'a')).toBe('va');
  });
});
