/**
 * Raft's safety properties, checked after every event of a cluster test (in the spirit of TigerBeetle's
 * state checkers): a bug fails the run at the step where it happens, naming the store, the region and the
 * events before it, not at a client check many seconds later.
 *
 * After each event of store S, every peer on S that handled a Ready in it is read (Raftstore.takeChangedProbes:
 * raft's term, commit and role move only through a Ready) and checked:
 *   - its term and commit index never go back (within one life of the peer: a restart may forget a commit
 *     index, which is volatile, and a term the store never persisted);
 *   - applied <= commit <= last index (the raftstore applies only what raft committed);
 *   - Election Safety: at most one leader per term per region;
 *   - State Machine Safety: when a peer's commit index moves, the entries it now counts as committed have the
 *     terms that any peer committed at those indexes before (the first peer to commit an index records it);
 *   - Leader Completeness: a peer seen leading a term for the first time holds every entry committed in an
 *     earlier term (those its log still covers: older ones are in its snapshot).
 * Entries are compared by term: two entries at one index with the same term are the same entry (Log Matching).
 */
import type { RaftProbe } from '@impl/kv/raftstore/raftstore.ts';

/** What the checker remembers about one region. */
interface RegionRecord {
  /**
   * The entry committed at each index: its term, and the lowest term of a peer seen counting it committed
   * (the term of the leader that committed it is no higher: no peer learns of a commit before that term).
   */
  committed: Map<number, { term: number; seenInTerm: number }>;
  /** Leader of each term: "peer 7 on store 2". */
  leaders: Map<number, string>;
}

/** What the checker last saw of one peer instance. */
interface PeerRecord {
  term: number;
  commit: number;
}

function describePeer(storeId: number, probe: RaftProbe): string {
  return `peer ${probe.peerId} of region ${probe.regionId} on store ${storeId}`;
}

export class RaftSafetyChecker {
  private readonly regions = new Map<number, RegionRecord>();
  /** Per peer instance (a restart, or a peer added again with the same id, brings a new one). */
  private readonly seen = new WeakMap<object, PeerRecord>();

  /**
   * `probe(storeId)`: the raft state of the peers of a running store that may have changed since the last
   * call (every peer will do; undefined: the store is down).
   */
  constructor(private readonly probe: (storeId: number) => RaftProbe[] | undefined) {}

  /** The term of the entry committed at `index` of region `regionId`, if a peer has committed it. */
  committedTerm(regionId: number, index: number): number | undefined {
    return this.regions.get(regionId)?.committed.get(index)?.term;
  }

  /** Check every peer of store `storeId` (after one of its events). Returns the first violation found. */
  checkStore(storeId: number): string | undefined {
    for (const probe of this.probe(storeId) ?? []) {
      const before = this.seen.get(probe.instance);
      const [term, commit] = [probe.term, probe.commit];
      // Most peers did nothing in this event: only the bounds need a look.
      if (before !== undefined && before.term === term && before.commit === commit && !probe.isLeader) {
        if (probe.applied > commit || commit > probe.lastIndex) return this.checkPeer(storeId, probe, before);
        continue;
      }
      const problem = this.checkPeer(storeId, probe, before);
      if (problem !== undefined) return problem;
      if (before === undefined) this.seen.set(probe.instance, { term, commit });
      else [before.term, before.commit] = [term, commit];
    }
    return undefined;
  }

  private region(regionId: number): RegionRecord {
    let record = this.regions.get(regionId);
    if (record === undefined) {
      record = { committed: new Map(), leaders: new Map() };
      this.regions.set(regionId, record);
    }
    return record;
  }

  private checkPeer(storeId: number, p: RaftProbe, before: PeerRecord | undefined): string | undefined {
    const who = describePeer(storeId, p);
    if (before !== undefined && p.term < before.term) return `the term of ${who} went back from ${before.term} to ${p.term}`;
    if (before !== undefined && p.commit < before.commit) {
      return `the commit index of ${who} went back from ${before.commit} to ${p.commit}`;
    }
    if (p.applied > p.commit) return `${who} applied up to ${p.applied}, beyond its commit index ${p.commit}`;
    if (p.commit > p.lastIndex) return `${who} has commit index ${p.commit} beyond its last index ${p.lastIndex}`;

    const region = this.region(p.regionId);
    if (p.isLeader) {
      const leader = region.leaders.get(p.term);
      const self = `peer ${p.peerId} on store ${storeId}`;
      if (leader === undefined) {
        region.leaders.set(p.term, self);
        const missing = this.missingCommitted(region, p);
        if (missing !== undefined) return `Leader Completeness: ${who} leads term ${p.term} but ${missing}`;
      } else if (leader !== self) {
        return `Election Safety: two leaders in term ${p.term} of region ${p.regionId}: ${leader} and ${self}`;
      }
    }

    // Entries this peer instance counts as committed for the first time.
    const from = Math.max(before?.commit ?? 0, p.firstIndex - 1) + 1;
    for (let index = from; index <= p.commit; index++) {
      const term = p.termAt(index);
      if (term === undefined) continue;
      const committed = region.committed.get(index);
      if (committed === undefined) region.committed.set(index, { term, seenInTerm: p.term });
      else if (committed.term !== term) {
        return (
          `State Machine Safety: ${who} commits index ${index} with an entry of term ${term}, ` +
          `but an entry of term ${committed.term} was committed at that index before`
        );
      } else if (p.term < committed.seenInTerm) committed.seenInTerm = p.term;
    }
    return undefined;
  }

  /**
   * Which entry committed in a term before the leader's own it lacks or holds differently (undefined: none).
   * Entries committed in its term or later need not be there: a candidate whose votes came late can lead
   * an old term after a newer leader committed more.
   */
  private missingCommitted(region: RegionRecord, p: RaftProbe): string | undefined {
    for (const [index, committed] of region.committed) {
      if (committed.seenInTerm >= p.term || index < p.firstIndex) continue;
      const term = p.termAt(index);
      if (term !== committed.term) {
        return `${term === undefined ? `its log ends at ${p.lastIndex}, without` : `its entry at ${index} has term ${term}, not`} the entry of term ${committed.term} committed at ${index} in term ${committed.seenInTerm} or before`;
      }
    }
    return undefined;
  }
}
