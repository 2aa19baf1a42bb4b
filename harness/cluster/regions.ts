/**
 * What the scheduler knows of regions, as the test cluster's clients ask it: polled in virtual time, with
 * TinyKV's counts and intervals (after a split, or before a new leader has reported, the scheduler may not
 * know the answer yet).
 */
import type { metapb } from '#proto';
import type { Cluster } from './cluster.ts';
import { ClusterCheckError, NoRegionError } from './errors.ts';
import { showKey } from './keys.ts';
import type { RegionInfo } from './mock-scheduler.ts';

/** How long a region lookup polls by default (TinyKV's GetRegion: 10 s), and how often. */
export const REGION_WAIT_MS = 10_000;
const REGION_POLL_MS = 20;
/** Polls for the leader of a region (TinyKV: 500 polls 10 ms apart). */
const LEADER_POLLS = 500;
export const LEADER_POLL_MS = 10;

/**
 * Poll the scheduler every 20 virtual ms for the region holding `key`, for up to `waitMs` (default 10 s, as
 * TinyKV's GetRegion). After a split the scheduler has a gap where the new region is, until the new
 * region's leader reports it.
 */
export async function regionInfoForKey(cluster: Cluster, key: Uint8Array, waitMs = REGION_WAIT_MS): Promise<RegionInfo> {
  const started = cluster.sim.now();
  for (;;) {
    const info = cluster.scheduler.getRegion(key);
    if (info !== undefined) return info;
    if (cluster.sim.now() - started >= waitMs) throw new NoRegionError(showKey(key), waitMs);
    await cluster.sim.sleep(REGION_POLL_MS);
  }
}

/** Poll the scheduler for the region with id `regionId`, as regionInfoForKey. */
export async function regionInfoById(cluster: Cluster, regionId: number, waitMs = REGION_WAIT_MS): Promise<RegionInfo> {
  const started = cluster.sim.now();
  for (;;) {
    const info = cluster.scheduler.getRegionById(regionId);
    if (info !== undefined) return info;
    if (cluster.sim.now() - started >= waitMs) throw new ClusterCheckError(`the scheduler does not know region ${regionId} (waited ${waitMs} ms)`);
    await cluster.sim.sleep(REGION_POLL_MS);
  }
}

/** The leader the scheduler knows for the region, polling up to 5 s as TinyKV does. */
export async function leaderOfRegion(cluster: Cluster, regionId: number): Promise<metapb.Peer | undefined> {
  for (let i = 0; i < LEADER_POLLS; i++) {
    const leader = cluster.scheduler.leaderOf(regionId);
    if (leader !== undefined) return leader;
    await cluster.sim.sleep(LEADER_POLL_MS);
  }
  return undefined;
}

/** Every region the scheduler knows, from the first key to the last (each once). */
export async function regionsInKeyOrder(cluster: Cluster): Promise<metapb.Region[]> {
  const regions: metapb.Region[] = [];
  let key: Uint8Array = new Uint8Array(0);
  for (;;) {
    const region = (await regionInfoForKey(cluster, key)).region;
    regions.push(region);
    if (region.endKey.length === 0) return regions;
    key = region.endKey;
  }
}
