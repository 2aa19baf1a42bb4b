/**
 * Invariants of one store, checked between simulation events (3B scenarios check them after conf changes,
 * splits and restarts). Each names the store, the region and what disagrees, so a failure points at the
 * bookkeeping that went wrong rather than at a client timeout much later.
 *
 * The store's bookkeeping (Raftstore.metaView):
 *   - the region map holds exactly the regions the router has peers of, each as the peer knows it;
 *   - the range index holds exactly the initialized peers' regions, with their current ranges, and no two
 *     of them overlap.
 * What is on disk (the kv and raft engines):
 *   - a Normal region state comes with an apply state and a raft state whose log reaches the applied index,
 *     and its region lists a peer on this store;
 *   - a Tombstone region state (a destroyed peer) has no apply state and no raft state or log left, except
 *     the raft state (with an empty log) of a newer peer of the region that has no data yet: its vote;
 */
import { decode, raft_serverpb, type metapb } from '#proto';
import { getApplyState, getRaftLocalState } from '@impl/kv/raftstore/meta.ts';
import { decodeRegionMetaKey, isRegionStateSuffix, regionRaftRange, REGION_META_RANGE } from '@impl/kv/raftstore/keys.ts';
import type { Cluster } from './cluster.ts';
import { ClusterCheckError } from './errors.ts';
import { compareBytes } from '@impl/util/bytes.ts';
import { rangesOverlap } from '@impl/kv/raftstore/region-util.ts';
import { showRegion } from './keys.ts';

function sameRange(a: metapb.Region, b: metapb.Region): boolean {
  return compareBytes(a.startKey, b.startKey) === 0 && compareBytes(a.endKey, b.endKey) === 0;
}

function sameEpoch(a: metapb.Region, b: metapb.Region): boolean {
  return (
    (a.regionEpoch?.version ?? 0) === (b.regionEpoch?.version ?? 0) && (a.regionEpoch?.confVer ?? 0) === (b.regionEpoch?.confVer ?? 0)
  );
}

/** Problems with store `id`'s region map and range index (empty: none). The store must be up. */
function storeMetaProblems(cluster: Cluster, id: number): string[] {
  const view = cluster.raftstore(id).metaView();
  const problems: string[] = [];
  const mapped = new Map(view.regions.map((r) => [r.id, r]));
  const indexed = new Map(view.ranges.map((r) => [r.id, r]));
  for (const { region, initialized } of view.peers) {
    const inMap = mapped.get(region.id);
    if (inMap === undefined) problems.push(`region ${region.id} has a peer but is missing from the store's region map`);
    else if (!sameRange(inMap, region) || !sameEpoch(inMap, region)) {
      problems.push(`the region map holds ${showRegion(inMap)} but the peer holds ${showRegion(region)}`);
    }
    const inIndex = indexed.get(region.id);
    if (initialized && inIndex === undefined) {
      problems.push(`${showRegion(region)} is initialized but missing from the store's range index`);
    } else if (initialized && inIndex !== undefined && !sameRange(inIndex, region)) {
      problems.push(`the range index holds ${showRegion(inIndex)} but the peer holds ${showRegion(region)}`);
    } else if (!initialized && inIndex !== undefined) {
      problems.push(`region ${region.id} is not initialized (no data yet) but is in the range index as ${showRegion(inIndex)}`);
    }
  }
  const withPeers = new Set(view.peers.map((p) => p.region.id));
  for (const r of view.regions) {
    if (!withPeers.has(r.id)) problems.push(`the region map still holds ${showRegion(r)}, which has no peer on this store (destroyed?)`);
  }
  for (const r of view.ranges) {
    if (!withPeers.has(r.id)) problems.push(`the range index still holds ${showRegion(r)}, which has no peer on this store (destroyed?)`);
  }
  for (let i = 1; i < view.ranges.length; i++) {
    const [a, b] = [view.ranges[i - 1]!, view.ranges[i]!];
    if (rangesOverlap(a, b)) problems.push(`the range index holds overlapping regions ${showRegion(a)} and ${showRegion(b)}`);
  }
  return problems;
}

/** Problems with what store `id` has on disk for its regions (empty: none). The store must be up. */
async function storeDiskProblems(cluster: Cluster, id: number): Promise<string[]> {
  const engines = cluster.engines(id);
  if (engines === undefined) return [];
  const problems: string[] = [];
  const states: raft_serverpb.RegionLocalState[] = [];
  const it = engines.kv.iterMeta({ end: REGION_META_RANGE.end });
  try {
    for (await it.seek(REGION_META_RANGE.start); it.valid(); await it.next()) {
      const { key, value } = it.item();
      if (isRegionStateSuffix(decodeRegionMetaKey(key).suffix)) states.push(decode('raft_serverpb.RegionLocalState', value));
    }
  } finally {
    await it.close();
  }
  for (const state of states) {
    const region = state.region;
    if (region === undefined) {
      problems.push('a region state without a region');
      continue;
    }
    const apply = await getApplyState(engines.kv, region.id);
    const raft = await getRaftLocalState(engines.raft, region.id);
    if (state.state === raft_serverpb.PeerState.Tombstone) {
      if (apply !== undefined) {
        problems.push(`region ${region.id} is a tombstone (its peer was destroyed) but its apply state (applied ${apply.appliedIndex}) was written again`);
      }
      const raftKeys = await countKeys(engines.raft, region.id);
      // The raft state alone, with an empty log, is the term and vote of a newer, empty peer of the region.
      const voteOfEmptyPeer = raft !== undefined && raft.lastIndex === 0 && raftKeys === 1;
      if (raftKeys > 0 && !voteOfEmptyPeer) problems.push(`region ${region.id} is a tombstone but ${raftKeys} key(s) of its raft state and log remain`);
      continue;
    }
    if (!region.peers.some((p) => p.storeId === id)) {
      problems.push(`${showRegion(region)} is persisted as Normal but has no peer on this store (a restart cannot load it)`);
    }
    if (apply === undefined) problems.push(`${showRegion(region)} is persisted as Normal but has no apply state`);
    if (raft === undefined) problems.push(`${showRegion(region)} is persisted as Normal but has no raft state`);
    if (apply !== undefined && raft !== undefined && raft.lastIndex < apply.appliedIndex) {
      problems.push(`region ${region.id}: the raft log ends at ${raft.lastIndex}, before the applied index ${apply.appliedIndex} (a restart fails)`);
    }
  }
  return problems;
}

async function countKeys(engine: NonNullable<ReturnType<Cluster['engines']>>['raft'], regionId: number): Promise<number> {
  const { start, end } = regionRaftRange(regionId);
  const it = engine.iterMeta({ end });
  let count = 0;
  try {
    for (await it.seek(start); it.valid(); await it.next()) count++;
  } finally {
    await it.close();
  }
  return count;
}

/** Checks both kinds of invariants on every store that is up; throws one error listing every problem. */
export async function checkStoreInvariants(cluster: Cluster): Promise<void> {
  const problems: string[] = [];
  for (const id of cluster.storeIds()) {
    if (!cluster.isUp(id)) continue;
    for (const p of storeMetaProblems(cluster, id)) problems.push(`store ${id}: ${p}`);
    for (const p of await storeDiskProblems(cluster, id)) problems.push(`store ${id} (on disk): ${p}`);
  }
  if (problems.length > 0) {
    throw new ClusterCheckError(`store invariants do not hold:\n  ${problems.join('\n  ')}`);
  }
}
