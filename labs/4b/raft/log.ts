/**
 * RaftLog: raft's view of its log.
 *
 *   compaction point | firstIndex ... applied ... committed ... stabled ... lastIndex
 *   -----------------|-------------------------------------------------------------|
 *        (snapshot)                       entries (in memory)
 *
 * `entries` holds every entry that is not compacted yet, the persisted ones (index <= stabled) and the
 * ones the application still has to persist. A log index is NOT an array position: entry i lives at
 * `entries[i - offset]`, where `offset` is the index of entries[0]. After a snapshot or a compaction the
 * first entry is not entry 1 any more, which is where most off-by-one bugs come from.
 *
 * Invariants: applied <= committed <= lastIndex(); offset - 1 <= stabled <= lastIndex().
 */
import { eraftpb } from '#proto';
import { NotImplemented } from '../util/not-implemented.ts';
import { CompactedError, LogInvariantError, UnavailableError } from './errors.ts';
import type { RaftStorage } from './storage.ts';

type Entry = eraftpb.Entry;
type Snapshot = eraftpb.Snapshot;

export class RaftLog {
  /** The persisted entries and state since the last snapshot. */
  storage: RaftStorage;
  /** The highest index known to be stored on a quorum of nodes. */
  committed = 0;
  /** The highest index the application has been told to apply. applied <= committed. */
  applied = 0;
  /** Entries with index <= stabled are persisted in storage; later ones are still to be persisted. */
  stabled = 0;
  /** Every entry not compacted yet, stable and unstable. */
  entries: Entry[] = [];
  /** A snapshot received from the leader that the application has not applied yet (2C). */
  pendingSnapshot?: Snapshot;
  /** The log index of entries[0] (the first entry after the compaction point). */
  private offset = 1;

  /** Builds the log from what the storage holds: every persisted entry is stable, nothing applied yet. */
  constructor(storage: RaftStorage) {
    this.storage = storage;
    // Your code here (2AA): load the persisted entries from storage and set offset, committed, applied and stabled (the compaction point counts as committed and applied)
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.offset = first;
    this.entries = last >= first ? storage.entries(first, last + 1) : [];
    this.committed = first - 1;
    this.applied = first - 1;
    this.stabled = last;
    // End of your code (2AA).
  }

  /** The index of the first entry still in the log. */
  firstIndex(): number {
    // Your code here (2AA): the index of entries[0]
    return this.offset;
    // End of your code (2AA).
  }

  /** The index of the last entry (the compaction point when the log holds no entry). */
  lastIndex(): number {
    // Your code here (2AA): the index of the last entry; with no entries, the compaction point
    return this.offset + this.entries.length - 1;
    // End of your code (2AA).
  }

  /**
   * The term of entry i. Works for every entry in the log and for the compaction point just before it.
   * Throws CompactedError for older indexes and UnavailableError beyond the last entry.
   */
  term(i: number): number {
    // Your code here (2AA): look the entry up by index (not array position); the compaction point's term comes from a pending snapshot or from storage
    if (i > this.lastIndex()) {
      throw new UnavailableError(`term: index ${i} is beyond last index ${this.lastIndex()}`);
    }
    if (i >= this.offset) return this.entries[i - this.offset]!.term;
    const snap = this.pendingSnapshot?.metadata;
    if (snap && snap.index === i) return snap.term;
    if (i === this.offset - 1) return this.storage.term(i);
    throw new CompactedError(`term: index ${i} is compacted (first index ${this.offset})`);
    // End of your code (2AA).
  }

  /** The term of the last entry. */
  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  /**
   * True when a log ending at (lastIndex, lastTerm) is at least as up to date as this one: its last term is
   * higher, or the terms are equal and it is at least as long (Raft paper, section 5.4.1).
   */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    // Your code here (2AA): compare last terms first, then lengths
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
    // End of your code (2AA).
  }

  /** Every entry still in memory (a copy of the array), for tests and debugging. */
  allEntries(): Entry[] {
    return this.entries.slice();
  }

  /** The entries the application has not persisted yet (index > stabled). */
  unstableEntries(): Entry[] {
    // Your code here (2AB): the entries after stabled
    return this.entries.slice(this.stabled + 1 - this.offset);
    // End of your code (2AB).
  }

  /** The committed entries the application has not applied yet: (applied, committed]. */
  nextEnts(): Entry[] {
    // Your code here (2AB): the entries after applied, up to and including committed
    if (this.committed <= this.applied) return [];
    return this.slice(this.applied + 1, this.committed + 1);
    // End of your code (2AB).
  }

  /** Entries with index in [lo, hi). Throws CompactedError if lo is compacted, UnavailableError past the end. */
  slice(lo: number, hi: number): Entry[] {
    // Your code here (2AB): translate both indexes to array positions; refuse compacted or missing ranges
    if (lo > hi) throw new RangeError(`slice: lo ${lo} is greater than hi ${hi}`);
    if (lo < this.offset) {
      throw new CompactedError(`slice: index ${lo} is compacted (first index ${this.offset})`);
    }
    if (hi > this.lastIndex() + 1) {
      throw new UnavailableError(`slice: hi ${hi} is beyond last index ${this.lastIndex()} + 1`);
    }
    return this.entries.slice(lo - this.offset, hi - this.offset);
    // End of your code (2AB).
  }

  /** True when entry i exists (or is the compaction point) and has term t. */
  matchTerm(i: number, t: number): boolean {
    // Your code here (2AB): compare terms; an index that is compacted or missing does not match
    // Outside [firstIndex - 1, lastIndex] nothing can match: say so without asking term(), because a
    // follower asks this for every entry it appends and a thrown error costs far more than the check.
    if (i > this.lastIndex() || i < this.offset - 1) return false;
    try {
      return this.term(i) === t;
    } catch (err) {
      if (err instanceof CompactedError || err instanceof UnavailableError) return false;
      throw err;
    }
    // End of your code (2AB).
  }

  /**
   * The index of the first of `ents` that conflicts with the log (same index, different term) or is new
   * (beyond the last entry); 0 when every one of them is already in the log.
   */
  findConflict(ents: Entry[]): number {
    // Your code here (2AB): the first entry whose term does not match ours (a missing entry never matches)
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
    // End of your code (2AB).
  }

  /**
   * The largest index <= `index` whose term is <= `term` (stopping at the compaction point). Used to
   * skip a whole term of conflicting entries at once when an append is rejected.
   */
  findConflictByTerm(index: number, term: number): number {
    // Your code here (2AB): walk back from index while our term there is greater than term
    let i = Math.min(index, this.lastIndex());
    while (i > 0) {
      let t: number;
      try {
        t = this.term(i);
      } catch (err) {
        if (err instanceof CompactedError) break;
        throw err;
      }
      if (t <= term) break;
      i--;
    }
    return i;
    // End of your code (2AB).
  }

  /**
   * Appends `ents` (consecutive indexes) right after the entry before ents[0]: any entries from
   * ents[0].index on are replaced. Returns the new last index. Committed entries are never replaced.
   */
  append(ents: Entry[]): number {
    // Your code here (2AB): cut the tail from ents[0].index on, add ents, and pull stabled back if the cut reached persisted entries
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index;
    if (after <= this.committed) {
      throw new LogInvariantError(`append: index ${after} would overwrite committed entries (committed ${this.committed})`);
    }
    if (after > this.lastIndex() + 1) {
      throw new LogInvariantError(`append: index ${after} would leave a gap after last index ${this.lastIndex()}`);
    }
    // In place (copying the whole log for every append would make appends cost as much as the log is long).
    const keep = after - this.offset;
    if (keep < this.entries.length) this.entries.length = keep; // cut the conflicting tail
    for (const e of ents) this.entries.push(e);
    this.stabled = Math.min(this.stabled, after - 1);
    return this.lastIndex();
    // End of your code (2AB).
  }

  /**
   * A follower's handling of a leader's append: if our entry at prevIndex has prevTerm, add whatever of
   * `ents` we do not have yet (replacing our entries only from the first real conflict on), advance the
   * commit index to min(leaderCommit, last new index), and return that last new index. Returns undefined
   * when prevIndex/prevTerm does not match (the leader must back off).
   */
  maybeAppend(prevIndex: number, prevTerm: number, leaderCommit: number, ents: Entry[]): number | undefined {
    // Your code here (2AB): check the previous entry, append from the first conflict only (an append that conflicts with nothing must not truncate), then commit
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + ents.length;
    const conflict = this.findConflict(ents);
    if (conflict !== 0) {
      this.append(ents.slice(conflict - (prevIndex + 1)));
    }
    this.commitTo(Math.min(leaderCommit, lastNew));
    return lastNew;
    // End of your code (2AB).
  }

  /** Raises the commit index to i (never lowers it). */
  commitTo(i: number): void {
    // Your code here (2AB): commit only forward, and never beyond the last entry
    if (i <= this.committed) return;
    if (i > this.lastIndex()) {
      throw new LogInvariantError(`commitTo: index ${i} is beyond last index ${this.lastIndex()}`);
    }
    this.committed = i;
    // End of your code (2AB).
  }

  /** Records that the application applied every entry up to i. */
  appliedTo(i: number): void {
    // Your code here (2AB): applied only moves forward and never passes committed
    if (i <= this.applied) return;
    if (i > this.committed) {
      throw new LogInvariantError(`appliedTo: index ${i} is beyond the commit index ${this.committed}`);
    }
    this.applied = i;
    // End of your code (2AB).
  }

  /**
   * Records that the application persisted the entries up to i, whose last has term t. Ignored when the
   * entry at i has changed since (a leader replaced it while the application was writing).
   */
  stableTo(i: number, t: number): void {
    // Your code here (2AB): move stabled forward only if our entry at i still has term t
    if (i > this.stabled && this.matchTerm(i, t)) this.stabled = i;
    // End of your code (2AB).
  }

  /**
   * Replaces the log with a snapshot from the leader: no entries, everything up to the snapshot's index
   * committed, applied and stable; the snapshot stays pending until the application has applied it.
   */
  restore(snap: Snapshot): void {
    // Your code here (2C): drop every entry, move offset and the committed/applied/stabled indexes to the snapshot's index, keep the snapshot as pending
    const meta = snap.metadata;
    if (!meta) throw new RangeError('restore: snapshot has no metadata');
    this.entries = [];
    this.offset = meta.index + 1;
    this.committed = meta.index;
    this.applied = meta.index;
    this.stabled = meta.index;
    this.pendingSnapshot = snap;
    // End of your code (2C).
  }

  /** The application has applied the snapshot at `index`: it is no longer pending. */
  stableSnapTo(index: number): void {
    // Your code here (2C): forget the pending snapshot once the application has applied it
    if (this.pendingSnapshot?.metadata?.index === index) this.pendingSnapshot = undefined;
    // End of your code (2C).
  }

  /**
   * Drops from memory the entries the storage has compacted (the application compacts storage after
   * applying entries). Entries not yet persisted or applied are always kept.
   */
  maybeCompact(): void {
    // Your code here (2C): forget entries before storage.firstIndex(), but never unstable or unapplied ones
    const first = Math.min(this.storage.firstIndex(), this.stabled + 1, this.applied + 1);
    if (first <= this.offset) return;
    this.entries = this.entries.slice(first - this.offset);
    this.offset = first;
    // End of your code (2C).
  }
}
