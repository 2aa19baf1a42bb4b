/**
 * The storage raft reads its persisted state from, and an in-memory implementation of it.
 *
 * Raft never writes to storage itself: the application persists what a Ready hands out (entries, hard
 * state, snapshot) and raft reads it back through this interface. Reads are synchronous because raft is a
 * pure state machine.
 */
import { eraftpb } from '#proto';
import {
  CompactedError,
  LogInvariantError,
  SnapOutOfDateError,
  UnavailableError,
} from './errors.ts';

type Entry = eraftpb.Entry;
type HardState = eraftpb.HardState;
type ConfState = eraftpb.ConfState;
type Snapshot = eraftpb.Snapshot;

export interface RaftStorage {
  /** The persisted hard state (term, vote, commit) and the membership at the last snapshot. */
  initialState(): { hardState: HardState; confState: ConfState };
  /**
   * Entries with index in [lo, hi). Throws CompactedError when lo is at or before the compaction point,
   * UnavailableError when hi is beyond lastIndex() + 1. Returns a new array: raft keeps it and appends to it.
   */
  entries(lo: number, hi: number): Entry[];
  /**
   * The term of entry i, for i in [firstIndex() - 1, lastIndex()]. The term of the entry just before
   * firstIndex() is kept (though the entry is not) so that appends right after a snapshot can be matched.
   * Throws CompactedError before that range and UnavailableError after it.
   */
  term(i: number): number;
  /** The index of the last entry (the compaction point when no entry follows it). */
  lastIndex(): number;
  /** The index of the first entry that may still be read with entries(). */
  firstIndex(): number;
  /** The latest snapshot. Throws SnapshotTemporarilyUnavailableError while one is being prepared. */
  snapshot(): Snapshot;
}

function copyConfState(cs: ConfState | undefined): ConfState {
  return eraftpb.ConfState({ nodes: [...(cs?.nodes ?? [])] });
}

/**
 * A RaftStorage backed by an array. `ents[0]` is a dummy entry that records the index and term of the
 * compaction point (the last entry folded into the snapshot); real entries follow it, so entry i sits at
 * `ents[i - ents[0].index]`. A fresh storage has the dummy at index 0, term 0.
 */
export class MemoryStorage implements RaftStorage {
  private hardState: HardState = eraftpb.HardState();
  private snap: Snapshot;
  private ents: Entry[];

  /** `confState` sets the membership a fresh storage reports (as if bootstrapped with those peers). */
  constructor(confState?: ConfState) {
    this.snap = eraftpb.Snapshot({
      metadata: eraftpb.SnapshotMetadata({ index: 0, term: 0, confState: copyConfState(confState) }),
    });
    this.ents = [eraftpb.Entry({ index: 0, term: 0 })];
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hardState }, confState: copyConfState(this.snap.metadata?.confState) };
  }

  setHardState(hs: HardState): void {
    this.hardState = { ...hs };
  }

  /** Index of the compaction point (the dummy entry). */
  private get offset(): number {
    return this.ents[0]!.index;
  }

  entries(lo: number, hi: number): Entry[] {
    if (lo > hi) throw new RangeError(`entries: lo ${lo} is greater than hi ${hi}`);
    if (lo <= this.offset) {
      throw new CompactedError(`entries: index ${lo} is compacted (compaction point ${this.offset})`);
    }
    if (hi > this.lastIndex() + 1) {
      throw new UnavailableError(`entries: hi ${hi} is beyond last index ${this.lastIndex()} + 1`);
    }
    return this.ents.slice(lo - this.offset, hi - this.offset);
  }

  term(i: number): number {
    if (i < this.offset) {
      throw new CompactedError(`term: index ${i} is compacted (compaction point ${this.offset})`);
    }
    if (i > this.lastIndex()) {
      throw new UnavailableError(`term: index ${i} is beyond last index ${this.lastIndex()}`);
    }
    return this.ents[i - this.offset]!.term;
  }

  lastIndex(): number {
    return this.offset + this.ents.length - 1;
  }

  firstIndex(): number {
    return this.offset + 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole content with `snap`: the log restarts right after the snapshot's index. */
  applySnapshot(snap: Snapshot): void {
    const meta = snap.metadata;
    if (!meta) throw new RangeError('applySnapshot: snapshot has no metadata');
    const current = this.snap.metadata?.index ?? 0;
    if (meta.index <= current) {
      throw new SnapOutOfDateError(`applySnapshot: snapshot index ${meta.index} is not newer than ${current}`);
    }
    this.snap = snap;
    this.ents = [eraftpb.Entry({ index: meta.index, term: meta.term })];
  }

  /**
   * Records a snapshot of the state machine as of entry i (which must still be in the log).
   * `cs` is the membership at i; when omitted the previous snapshot's membership is kept.
   */
  createSnapshot(i: number, cs?: ConfState, data?: Uint8Array): Snapshot {
    const current = this.snap.metadata?.index ?? 0;
    if (i <= current) {
      throw new SnapOutOfDateError(`createSnapshot: index ${i} is not newer than the snapshot at ${current}`);
    }
    if (i > this.lastIndex()) {
      throw new UnavailableError(`createSnapshot: index ${i} is beyond last index ${this.lastIndex()}`);
    }
    this.snap = eraftpb.Snapshot({
      data: data ?? new Uint8Array(0),
      metadata: eraftpb.SnapshotMetadata({
        index: i,
        term: this.ents[i - this.offset]!.term,
        confState: cs ? copyConfState(cs) : copyConfState(this.snap.metadata?.confState),
      }),
    });
    return this.snap;
  }

  /** Discards every entry before compactIndex; entry compactIndex becomes the new dummy. */
  compact(compactIndex: number): void {
    if (compactIndex <= this.offset) {
      throw new CompactedError(`compact: index ${compactIndex} is already compacted (compaction point ${this.offset})`);
    }
    if (compactIndex > this.lastIndex()) {
      throw new UnavailableError(`compact: index ${compactIndex} is beyond last index ${this.lastIndex()}`);
    }
    const k = compactIndex - this.offset;
    const dummy = eraftpb.Entry({ index: compactIndex, term: this.ents[k]!.term });
    this.ents = [dummy, ...this.ents.slice(k + 1)];
  }

  /**
   * Appends entries (consecutive indexes). Entries at or before the compaction point are skipped; an entry
   * whose index already exists replaces it and everything after it (a leader overwrote the tail).
   */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    for (let k = 1; k < entries.length; k++) {
      if (entries[k]!.index !== entries[k - 1]!.index + 1) {
        throw new LogInvariantError(
          `append: entries are not consecutive (index ${entries[k - 1]!.index} is followed by ${entries[k]!.index})`,
        );
      }
    }
    const first = this.firstIndex();
    const lastNew = entries[entries.length - 1]!.index;
    if (lastNew < first) return; // everything is already compacted
    const kept = entries[0]!.index < first ? entries.slice(first - entries[0]!.index) : entries;
    const start = kept[0]!.index;
    if (start > this.lastIndex() + 1) {
      throw new LogInvariantError(`append: missing entries between last index ${this.lastIndex()} and ${start}`);
    }
    // In place: drop the replaced tail (if any), then add the new entries.
    const keep = start - this.offset;
    if (keep < this.ents.length) this.ents.length = keep;
    for (const e of kept) this.ents.push(e);
  }
}
