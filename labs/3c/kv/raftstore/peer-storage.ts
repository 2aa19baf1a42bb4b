/**
 * PeerStorage: the raft Storage of one peer, over the store's two engines.
 *
 * What it keeps (and where):
 *   raftState  (raft engine)  hard state (term, vote, commit) and the index/term of the last log entry
 *   applyState (kv engine)    the last applied index and the truncated state (the compaction point)
 *   region     (kv engine)    the region as this peer knows it (RegionLocalState)
 *   the log    (raft engine)  one key per entry; entries after the compaction point are also kept in memory
 *
 * Raft reads storage synchronously, so entries()/term() answer from memory: the log since the last
 * truncation and the two states are loaded once by PeerStorage.open and kept in step with every write.
 *
 * Writes happen in saveReadyState (called with each Ready, before its messages are sent and its committed
 * entries applied): new entries and the hard state go to the raft engine in ONE write batch; a snapshot's
 * data and states go to the kv engine in ONE batch, written first. A batch is built, written once, dropped.
 */
import { decode, eraftpb, metapb, raft_serverpb } from '#proto';
import { CompactedError, SnapshotTemporarilyUnavailableError, UnavailableError } from '../../raft/errors.ts';
import type { Ready } from '../../raft/rawnode.ts';
import type { RaftStorage } from '../../raft/storage.ts';
import { isEmptySnap } from '../../raft/util.ts';
import type { Job } from '../../runtime/runtime.ts';
import { NotImplemented } from '../../util/not-implemented.ts';
import { Logger, rootLogger } from '../../util/log.ts';
import { WriteBatch, type Engine } from '../storage/engine.ts';
import { COLUMN_FAMILIES } from '../storage/storage.ts';
import type { Engines } from './engines.ts';
import { applyStateKey, raftLogIndex, raftLogKey, raftStateKey, regionStateKey } from './keys.ts';
import {
  getApplyState,
  getRaftLocalState,
  initialApplyState,
  initialRaftState,
  writeApplyState,
  writeRaftEntry,
  writeRaftState,
  writeRegionState,
} from './meta.ts';
import { compareBytes } from '../../util/bytes.ts';
import { cfRange, cloneEpoch, cloneRegion, confStateFromRegion } from './region-util.ts';
import { makeSnapshot, parseSnapshotData, readRegionData } from './snapshot-data.ts';

type Entry = eraftpb.Entry;
type Snapshot = eraftpb.Snapshot;
type RaftLocalState = raft_serverpb.RaftLocalState;
type RaftApplyState = raft_serverpb.RaftApplyState;

/** The part of the runtime the storage needs to build snapshots in the background. */
export interface BackgroundRunner {
  spawn(name: string, task: () => Promise<void>): void;
  post(label: string, fn: Job): void;
}

/** What applying a snapshot changed: the store updates its region map with it. */
export interface ApplySnapResult {
  prevRegion: metapb.Region;
  region: metapb.Region;
}

/** The persisted state of a region is inconsistent (a bug, or a damaged disk): the peer cannot start. */
export class PeerStorageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PeerStorageError';
  }
}

type SnapState =
  | { kind: 'idle' }
  | { kind: 'generating'; token: number }
  | { kind: 'ready'; snapshot: Snapshot; confVer: number };

export interface PeerStorageOptions {
  /** Where snapshot generation runs; without one, snapshot() stays temporarily unavailable. */
  runner?: BackgroundRunner;
  logger?: Logger;
}

export class PeerStorage implements RaftStorage {
  readonly engines: Engines;
  /** Raft's persisted state as of the last saveReadyState. */
  raftState: RaftLocalState;
  /** The state machine's state; the apply code updates it and persists it with the applied data. */
  applyState: RaftApplyState;
  private regionValue: metapb.Region;
  /** Entries (truncatedIndex, lastIndex], in order: entry i is log[i - truncatedIndex - 1]. */
  private log: Entry[];
  private snapState: SnapState = { kind: 'idle' };
  private nextSnapToken = 1;
  private readonly runner: BackgroundRunner | undefined;
  readonly logger: Logger;

  private constructor(
    engines: Engines,
    region: metapb.Region,
    raftState: RaftLocalState,
    applyState: RaftApplyState,
    log: Entry[],
    options: PeerStorageOptions,
  ) {
    this.engines = engines;
    this.regionValue = region;
    this.raftState = raftState;
    this.applyState = applyState;
    this.log = log;
    this.runner = options.runner;
    this.logger = options.logger ?? rootLogger.with('region', region.id);
  }

  /**
   * Loads a peer's storage from the engines. A region with peers (bootstrap, split) that has no raft or
   * apply state yet gets the initial ones, persisted here; a region without peers (a peer created by a
   * message, waiting for a snapshot) starts empty.
   */
  static async open(engines: Engines, region: metapb.Region, options: PeerStorageOptions = {}): Promise<PeerStorage> {
    const id = region.id;
    const initialized = region.peers.length > 0;
    const raftWB = new WriteBatch();
    const kvWB = new WriteBatch();

    let raftState = await getRaftLocalState(engines.raft, id);
    if (raftState === undefined) {
      raftState = initialized ? initialRaftState() : raft_serverpb.RaftLocalState();
      if (initialized) writeRaftState(raftWB, id, raftState);
    }
    raftState.hardState = eraftpb.HardState({ ...(raftState.hardState ?? {}) });
    if (initialized && raftState.lastIndex === 0) {
      // A split created this region here after a message had created an empty peer of it, which may have
      // voted: the log starts at the initial index like any new region's, but the term and vote it
      // promised are kept (voting twice in one term could elect two leaders).
      const init = initialRaftState();
      const hs = raftState.hardState;
      raftState.lastIndex = init.lastIndex;
      raftState.lastTerm = init.lastTerm;
      if (hs.term < init.hardState!.term) {
        hs.term = init.hardState!.term;
        hs.vote = 0;
      }
      hs.commit = Math.max(hs.commit, init.hardState!.commit);
      writeRaftState(raftWB, id, raftState);
    }

    let applyState = await getApplyState(engines.kv, id);
    if (applyState === undefined) {
      applyState = initialized ? initialApplyState() : raft_serverpb.RaftApplyState();
      if (initialized) writeApplyState(kvWB, id, applyState);
    }
    applyState.truncatedState = raft_serverpb.RaftTruncatedState({ ...(applyState.truncatedState ?? {}) });
    const truncated = applyState.truncatedState;

    // A snapshot is written to the kv engine first, then to the raft engine. A crash in between leaves an
    // applied index beyond the persisted commit, which cannot happen otherwise (entries are applied only
    // after their commit is persisted): finish the job by moving the raft state to the snapshot.
    const hardState = raftState.hardState;
    if (applyState.appliedIndex > hardState.commit) {
      options.logger?.warn('finishing a snapshot interrupted by a crash', { applied: applyState.appliedIndex, commit: hardState.commit });
      await deleteAllLogEntries(engines.raft, raftWB, id);
      raftState.lastIndex = truncated.index;
      raftState.lastTerm = truncated.term;
      hardState.commit = truncated.index;
      hardState.term = Math.max(hardState.term, truncated.term);
      writeRaftState(raftWB, id, raftState);
    }
    if (raftState.lastIndex < applyState.appliedIndex) {
      throw new PeerStorageError(
        `region ${id}: the raft log ends at ${raftState.lastIndex}, before the applied index ${applyState.appliedIndex}`,
      );
    }
    if (raftState.lastIndex < truncated.index) {
      throw new PeerStorageError(`region ${id}: the raft log ends at ${raftState.lastIndex}, before the truncated index ${truncated.index}`);
    }

    const log = await loadLog(engines.raft, id, truncated.index + 1, raftState.lastIndex);
    if (!raftWB.isEmpty()) await engines.raft.write(raftWB);
    if (!kvWB.isEmpty()) await engines.kv.write(kvWB);
    return new PeerStorage(engines, region, raftState, applyState, log, options);
  }

  // ---- the region ----

  get region(): metapb.Region {
    return this.regionValue;
  }

  /** Replace the region (the caller has persisted it). */
  setRegion(region: metapb.Region): void {
    this.regionValue = region;
  }

  /** A peer created by a message knows no range and no members until its first snapshot. */
  isInitialized(): boolean {
    return this.regionValue.peers.length > 0;
  }

  appliedIndex(): number {
    return this.applyState.appliedIndex;
  }

  truncatedIndex(): number {
    return this.applyState.truncatedState!.index;
  }

  truncatedTerm(): number {
    return this.applyState.truncatedState!.term;
  }

  // ---- raft's Storage interface ----

  initialState(): { hardState: eraftpb.HardState; confState: eraftpb.ConfState } {
    const hs = this.raftState.hardState!;
    const empty = hs.term === 0 && hs.vote === 0 && hs.commit === 0;
    if (empty) {
      if (this.isInitialized()) {
        throw new PeerStorageError(`region ${this.regionValue.id} is initialized but its hard state is empty`);
      }
      return { hardState: eraftpb.HardState(), confState: eraftpb.ConfState() };
    }
    return { hardState: eraftpb.HardState({ ...hs }), confState: confStateFromRegion(this.regionValue) };
  }

  entries(lo: number, hi: number): Entry[] {
    if (lo > hi) throw new RangeError(`entries: lo ${lo} is greater than hi ${hi}`);
    if (lo <= this.truncatedIndex()) {
      throw new CompactedError(`entries: index ${lo} is compacted (truncated at ${this.truncatedIndex()})`);
    }
    if (hi > this.lastIndex() + 1) {
      throw new UnavailableError(`entries: hi ${hi} is beyond last index ${this.lastIndex()} + 1`);
    }
    const first = this.firstIndex();
    return this.log.slice(lo - first, hi - first);
  }

  term(i: number): number {
    const truncated = this.truncatedIndex();
    if (i === truncated) return this.truncatedTerm();
    if (i < truncated) throw new CompactedError(`term: index ${i} is compacted (truncated at ${truncated})`);
    if (i > this.lastIndex()) throw new UnavailableError(`term: index ${i} is beyond last index ${this.lastIndex()}`);
    return this.log[i - truncated - 1]!.term;
  }

  lastIndex(): number {
    return this.raftState.lastIndex;
  }

  firstIndex(): number {
    return this.truncatedIndex() + 1;
  }

  /**
   * The latest snapshot for a follower that needs one. Generated in the background from a consistent view
   * of the kv engine; until it is ready this throws SnapshotTemporarilyUnavailableError (raft retries at
   * the next heartbeat). A generated snapshot is handed out as long as it is still usable: not older than
   * the compaction point (the follower must be able to continue with appends) nor than the membership.
   */
  snapshot(): Snapshot {
    const state = this.snapState;
    if (state.kind === 'ready') {
      const index = state.snapshot.metadata?.index ?? 0;
      if (index >= this.truncatedIndex() && state.confVer >= cloneEpoch(this.regionValue.regionEpoch).confVer) {
        return state.snapshot;
      }
      this.logger.info('generated snapshot is stale, generating again', { index, truncated: this.truncatedIndex() });
      this.snapState = { kind: 'idle' };
    }
    if (this.snapState.kind === 'idle') this.startSnapshotGeneration();
    throw new SnapshotTemporarilyUnavailableError(`snapshot of region ${this.regionValue.id} is being generated`);
  }

  // ---- writing ----

  /**
   * Adds `entries` (consecutive indexes) to the log: puts each one in `raftWB`, deletes the keys of the
   * old entries beyond the new last index (a new leader may have replaced a longer tail), and updates the
   * in-memory log and the raft state's last index/term. Entries at or before the compaction point are skipped.
   */
  append(entries: Entry[], raftWB: WriteBatch): void {
    // Your code here (2B): skip entries already compacted, write the rest to raftWB, delete old entries after the new last index (a stale tail must not survive), then update the in-memory log and raftState.lastIndex/lastTerm
    if (entries.length === 0) return;
    const regionId = this.regionValue.id;
    const first = this.firstIndex();
    const lastNew = entries[entries.length - 1]!;
    if (lastNew.index < first) return; // everything is already in the snapshot
    const kept = entries[0]!.index < first ? entries.slice(first - entries[0]!.index) : entries;
    const start = kept[0]!.index;
    if (start > this.lastIndex() + 1) {
      throw new PeerStorageError(`append: entries start at ${start}, leaving a gap after last index ${this.lastIndex()}`);
    }
    for (const entry of kept) writeRaftEntry(raftWB, regionId, entry);
    for (let i = lastNew.index + 1; i <= this.lastIndex(); i++) raftWB.deleteMeta(raftLogKey(regionId, i));
    this.log = this.log.slice(0, start - first).concat(kept);
    this.raftState.lastIndex = lastNew.index;
    this.raftState.lastTerm = lastNew.term;
    // End of your code (2B).
  }

  /**
   * Persists what a Ready asks to persist, before its messages are sent and its entries applied:
   * a snapshot (kv engine first, then the raft engine), the new entries and the hard state (the raft engine,
   * one batch). Returns what a snapshot changed, if the Ready carried one. Does not modify `ready`.
   */
  async saveReadyState(ready: Ready): Promise<ApplySnapResult | undefined> {
    const raftWB = new WriteBatch();
    let result: ApplySnapResult | undefined;
    // Your code here (2C): if the ready carries a (non-empty) snapshot, apply it with a fresh kv batch (applySnapshot) and write that batch to the kv engine before anything goes to the raft engine
    if (!isEmptySnap(ready.snapshot)) {
      const kvWB = new WriteBatch();
      result = await this.applySnapshot(ready.snapshot!, kvWB, raftWB);
      await this.engines.kv.write(kvWB);
    }
    // End of your code (2C).
    // Your code here (2B): append ready.entries, take ready.hardState (when present) into raftState, put the raft state in the same batch and write the batch once to the raft engine
    this.append(ready.entries, raftWB);
    if (ready.hardState !== undefined) this.raftState.hardState = eraftpb.HardState({ ...ready.hardState });
    if (result !== undefined || ready.entries.length > 0 || ready.hardState !== undefined) {
      writeRaftState(raftWB, this.regionValue.id, this.raftState);
    }
    if (!raftWB.isEmpty()) await this.engines.raft.write(raftWB);
    // End of your code (2B).
    return result;
  }

  /**
   * Replaces this peer's log and data with a snapshot from the leader: deletes the old log entries (raftWB)
   * and the data of the old and new ranges (kvWB), writes the snapshot's pairs, and sets the states: last
   * index/term, applied index and truncated state all move to the snapshot's, the region becomes the
   * snapshot's region. The caller writes kvWB, then raftWB (with the raft state).
   */
  async applySnapshot(snap: Snapshot, kvWB: WriteBatch, raftWB: WriteBatch): Promise<ApplySnapResult> {
    // Your code here (2C): parse the snapshot data; delete the old log (if initialized) and the old region's data; put the snapshot's pairs; move lastIndex/lastTerm, appliedIndex and the truncated state to the snapshot's index/term; adopt and persist the new region (state Normal) and the apply state
    const meta = snap.metadata;
    if (meta === undefined) throw new PeerStorageError('applySnapshot: the snapshot has no metadata');
    const data = parseSnapshotData(snap.data);
    const prevRegion = cloneRegion(this.regionValue);
    const region = cloneRegion(data.region);
    this.logger.info('applying snapshot', { index: meta.index, term: meta.term });

    if (this.isInitialized()) {
      this.deleteLogEntries(raftWB, this.firstIndex(), this.lastIndex());
      await deleteOutside(this.engines.kv, kvWB, prevRegion, region);
    }
    await deleteRange(this.engines.kv, kvWB, region.startKey, region.endKey);
    for (const family of data.families) {
      for (const pair of family.pairs) kvWB.putCF(family.cf, pair.key, pair.value);
    }

    this.log = [];
    this.raftState.lastIndex = meta.index;
    this.raftState.lastTerm = meta.term;
    this.applyState.appliedIndex = meta.index;
    this.applyState.truncatedState = raft_serverpb.RaftTruncatedState({ index: meta.index, term: meta.term });
    this.regionValue = region;
    this.snapState = { kind: 'idle' };
    writeApplyState(kvWB, region.id, this.applyState);
    writeRegionState(kvWB, region, raft_serverpb.PeerState.Normal);
    return { prevRegion, region };
    // End of your code (2C).
  }

  /**
   * The log was compacted up to `index` (a CompactLog was applied): forget the entries up to it and record
   * the new truncated state in memory. The caller persists the apply state and deletes the old keys.
   * Returns false when `index` is not beyond the current compaction point.
   */
  compactTo(index: number, term: number): boolean {
    // Your code here (2C): ignore an index at or before the compaction point (return false); refuse one beyond the last index; drop the in-memory entries up to index and set applyState.truncatedState to (index, term)
    const truncated = this.truncatedIndex();
    if (index <= truncated) return false;
    if (index > this.lastIndex()) {
      throw new PeerStorageError(`compactTo: index ${index} is beyond last index ${this.lastIndex()}`);
    }
    this.log = this.log.slice(index - truncated);
    this.applyState.truncatedState = raft_serverpb.RaftTruncatedState({ index, term });
    return true;
    // End of your code (2C).
  }

  /**
   * Adds to the batches the deletion of everything this peer persisted: its log, raft state, apply state
   * and region state (the caller writes a tombstone region state after it, when destroying a peer).
   */
  clearMeta(kvWB: WriteBatch, raftWB: WriteBatch): void {
    const id = this.regionValue.id;
    this.deleteLogEntries(raftWB, this.firstIndex(), this.lastIndex());
    raftWB.deleteMeta(raftStateKey(id));
    kvWB.deleteMeta(applyStateKey(id));
    kvWB.deleteMeta(regionStateKey(id));
  }

  /** Deletes the keys of entries [from, to] of this region's log. */
  private deleteLogEntries(raftWB: WriteBatch, from: number, to: number): void {
    const id = this.regionValue.id;
    for (let i = from; i <= to; i++) raftWB.deleteMeta(raftLogKey(id, i));
  }

  // ---- snapshot generation ----

  private startSnapshotGeneration(): void {
    if (this.runner === undefined) {
      this.logger.warn('cannot generate a snapshot: no background runner');
      return;
    }
    const runner = this.runner;
    const token = this.nextSnapToken++;
    const region = cloneRegion(this.regionValue);
    const index = this.applyState.appliedIndex;
    const term = this.term(index);
    // Taken now, between actor jobs: the kv engine holds exactly what the in-memory apply state says.
    const view = this.engines.kv.snapshot();
    this.snapState = { kind: 'generating', token };
    this.logger.info('generating snapshot', { index, term });
    runner.spawn(`generate snapshot of region ${region.id}`, async () => {
      let outcome: Snapshot | Error;
      try {
        const persisted = await getApplyState(view, region.id);
        if (persisted?.appliedIndex !== index) {
          throw new PeerStorageError(`snapshot: the kv engine says applied ${persisted?.appliedIndex}, memory says ${index}`);
        }
        outcome = makeSnapshot(region, index, term, await readRegionData(view, region));
      } catch (err) {
        outcome = err instanceof Error ? err : new Error(String(err));
      } finally {
        await view.close();
      }
      runner.post(`snapshot of region ${region.id} generated`, () => this.onSnapshotGenerated(token, outcome));
    });
  }

  private onSnapshotGenerated(token: number, outcome: Snapshot | Error): void {
    const state = this.snapState;
    if (state.kind !== 'generating' || state.token !== token) return; // superseded (a snapshot was applied meanwhile)
    if (outcome instanceof Error) {
      this.logger.error('snapshot generation failed', { error: outcome.message });
      this.snapState = { kind: 'idle' };
      return;
    }
    this.snapState = { kind: 'ready', snapshot: outcome, confVer: cloneEpoch(this.regionValue.regionEpoch).confVer };
    this.logger.info('snapshot generated', { index: outcome.metadata?.index, bytes: outcome.data.length });
  }

  /** Drop a generated or pending snapshot (the peer is going away). */
  cancelSnapshotGeneration(): void {
    this.snapState = { kind: 'idle' };
  }

  /** For tests: is a generated snapshot waiting to be handed out? */
  hasGeneratedSnapshot(): boolean {
    return this.snapState.kind === 'ready';
  }
}

/** Reads entries [first, last] of a region's log from the raft engine; every one must be there. */
async function loadLog(raft: Engine, regionId: number, first: number, last: number): Promise<Entry[]> {
  const entries: Entry[] = [];
  if (last < first) return entries;
  const it = raft.iterMeta({ end: raftLogKey(regionId, last + 1) });
  try {
    let expect = first;
    for (await it.seek(raftLogKey(regionId, first)); it.valid(); await it.next()) {
      const { key, value } = it.item();
      const index = raftLogIndex(key);
      if (index !== expect) break;
      const entry = decodeEntry(value);
      if (entry.index !== index) {
        throw new PeerStorageError(`region ${regionId}: the log key of index ${index} holds entry ${entry.index}`);
      }
      entries.push(entry);
      expect++;
    }
  } finally {
    await it.close();
  }
  if (entries.length !== last - first + 1) {
    throw new PeerStorageError(
      `region ${regionId}: raft log entries [${first}, ${last}] are expected, found ${entries.length} from ${first} on`,
    );
  }
  return entries;
}

function decodeEntry(bytes: Uint8Array): Entry {
  return decode('eraftpb.Entry', bytes);
}

/** Adds to `raftWB` the deletion of every log entry of the region found in the raft engine. */
async function deleteAllLogEntries(raft: Engine, raftWB: WriteBatch, regionId: number): Promise<void> {
  const it = raft.iterMeta({ end: raftLogKey(regionId, Number.MAX_SAFE_INTEGER) });
  try {
    for (await it.seek(raftLogKey(regionId, 0)); it.valid(); await it.next()) {
      raftWB.deleteMeta(Uint8Array.from(it.item().key));
    }
  } finally {
    await it.close();
  }
}

/** Adds to `kvWB` the deletion of every key of every column family in the range [start, end) (empty end: no bound; see cfRange). */
export async function deleteRange(kv: Engine, kvWB: WriteBatch, start: Uint8Array, end: Uint8Array): Promise<void> {
  for (const cf of COLUMN_FAMILIES) {
    const range = cfRange(cf, start, end);
    const it = kv.iterCF(cf, range.end.length > 0 ? { end: range.end } : {});
    try {
      for (await it.seek(range.start); it.valid(); await it.next()) kvWB.deleteCF(cf, Uint8Array.from(it.item().key));
    } finally {
      await it.close();
    }
  }
}

/** Deletes the parts of `prev`'s range that `next` does not cover. */
async function deleteOutside(kv: Engine, kvWB: WriteBatch, prev: metapb.Region, next: metapb.Region): Promise<void> {
  if (compareBytes(prev.startKey, next.startKey) < 0) {
    await deleteRange(kv, kvWB, prev.startKey, next.startKey);
  }
  if (next.endKey.length > 0 && (prev.endKey.length === 0 || compareBytes(next.endKey, prev.endKey) < 0)) {
    await deleteRange(kv, kvWB, next.endKey, prev.endKey);
  }
}

