/**
 * The store's region map: every region this store has a peer of, by id, and the initialized ones by range.
 *
 * Ranges of the regions on one store never overlap; the range index answers "which region holds this key"
 * and "which regions would a new range overlap" (before creating a peer or applying a snapshot, 3B).
 * A peer created by a message (not initialized yet) is in `regions` but not in the range index: it has no
 * range until its first snapshot.
 */
import type { metapb, raft_serverpb } from '#proto';
import { compareBytes } from '../../util/bytes.ts';
import { keyInRegion, rangesOverlap } from './region-util.ts';

/** Votes kept per region, and regions with kept votes: enough for a few splits in flight, bounded memory. */
const MAX_VOTES_PER_REGION = 4;
const MAX_REGIONS_WITH_VOTES = 64;

export class StoreMeta {
  /** region id -> region (the same object the peer holds). */
  readonly regions = new Map<number, metapb.Region>();
  /** Initialized regions, ordered by start key. */
  private ranges: metapb.Region[] = [];
  /**
   * Vote requests for regions that do not exist here yet because a split is still to be applied (3B):
   * replayed once the split creates the peer. The latest few per region, a bounded number of regions.
   */
  private readonly pendingVotes = new Map<number, raft_serverpb.RaftMessage[]>();

  /** Keep a vote request for region `msg.regionId`, which a split not yet applied here will create. */
  holdVote(msg: raft_serverpb.RaftMessage): void {
    const votes = this.pendingVotes.get(msg.regionId) ?? [];
    votes.push(msg);
    if (votes.length > MAX_VOTES_PER_REGION) votes.shift();
    this.pendingVotes.delete(msg.regionId); // re-inserted last: the map's order is the order of arrival
    this.pendingVotes.set(msg.regionId, votes);
    if (this.pendingVotes.size > MAX_REGIONS_WITH_VOTES) this.pendingVotes.delete(this.pendingVotes.keys().next().value!);
  }

  /** The vote requests kept for `regionId`, in arrival order (and forgets them). */
  takeVotes(regionId: number): raft_serverpb.RaftMessage[] {
    const votes = this.pendingVotes.get(regionId) ?? [];
    this.pendingVotes.delete(regionId);
    return votes;
  }

  /** Record (or replace) a region by id. */
  setRegion(region: metapb.Region): void {
    this.regions.set(region.id, region);
  }

  removeRegion(regionId: number): void {
    this.regions.delete(regionId);
  }

  /** Add a region's range to the index (replacing an entry of the same region id). */
  insertRange(region: metapb.Region): void {
    this.ranges = this.ranges.filter((r) => r.id !== region.id);
    const at = this.lowerBound(region.startKey);
    this.ranges.splice(at, 0, region);
  }

  /** Remove a region's range from the index; returns false if it was not there. */
  removeRange(regionId: number): boolean {
    const before = this.ranges.length;
    this.ranges = this.ranges.filter((r) => r.id !== regionId);
    return this.ranges.length !== before;
  }

  /** The initialized region holding `key`, if any. */
  regionForKey(key: Uint8Array): metapb.Region | undefined {
    const at = this.upperBound(key) - 1;
    const candidate = at >= 0 ? this.ranges[at] : undefined;
    return candidate !== undefined && keyInRegion(key, candidate) ? candidate : undefined;
  }

  /** Initialized regions whose ranges overlap [startKey, endKey). */
  overlapping(range: { startKey: Uint8Array; endKey: Uint8Array }): metapb.Region[] {
    return this.ranges.filter((r) => rangesOverlap(r, range));
  }

  /** The region right after `region` (its range starts where `region` ends), if this store has it. */
  nextRegion(region: metapb.Region): metapb.Region | undefined {
    if (region.endKey.length === 0) return undefined;
    return this.ranges.find((r) => compareBytes(r.startKey, region.endKey) === 0);
  }

  /** Ranges in key order (for tests and debugging). */
  orderedRanges(): metapb.Region[] {
    return this.ranges.slice();
  }

  /** First position whose start key is >= key. */
  private lowerBound(key: Uint8Array): number {
    let lo = 0;
    let hi = this.ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareBytes(this.ranges[mid]!.startKey, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First position whose start key is > key. */
  private upperBound(key: Uint8Array): number {
    let lo = 0;
    let hi = this.ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareBytes(this.ranges[mid]!.startKey, key) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

