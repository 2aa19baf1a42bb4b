/**
 * Destroying a peer (3B): this store's member of a region goes away because a conf change removed it, or
 * because the rest of the group told it it is stale (a tombstone message, or a message for a newer peer of
 * the region on this store).
 *
 * What is on disk after a destroy, and why in this order:
 *   1. one kv batch: the region state becomes Tombstone (holding the region as this peer last knew it, so
 *      later messages from older members can be recognised as stale), the apply state is deleted, and the
 *      region's data is deleted if this peer held any. Nothing of this peer is written to the kv engine
 *      after it — in particular no apply state (a restart would find an applied index beyond the log);
 *   2. then the raft engine: the raft state and the whole log of the region are deleted. A crash between
 *      1 and 2 leaves raft keys behind; the store deletes them at its next start (Raftstore's loadPeers,
 *      clearDestroyLeftovers), but not the raft state of a newer empty peer of the region: its vote.
 * In memory, the peer stops, its waiting commands are answered RegionNotFound, and the store forgets it
 * (router and region map) — once, and only if the store still maps the region to this very peer.
 */
import { raft_serverpb, type metapb } from '#proto';
import { cloneEpoch, clonePeer, isEpochStale } from './region-util.ts';
import { WriteBatch } from '../storage/engine.ts';
import { regionNotFoundError } from './cmd-resp.ts';
import type { StoreContext } from './context.ts';
import type { Engines } from './engines.ts';
import { applyStateKey, regionRaftRange } from './keys.ts';
import { getRaftLocalState, getRegionLocalState, writeRegionState } from './meta.ts';
import type { Peer } from './peer.ts';
import { deleteRange } from './peer-storage.ts';

/**
 * Adds to `kvWB` what marks `peer` destroyed: a Tombstone region state holding `region`, no apply state,
 * and (for a peer that held data) the deletion of the region's data.
 */
export async function writeTombstone(ctx: StoreContext, peer: Peer, region: metapb.Region, kvWB: WriteBatch): Promise<void> {
  if (peer.isInitialized()) await deleteRange(ctx.engines.kv, kvWB, region.startKey, region.endKey);
  kvWB.deleteMeta(applyStateKey(region.id));
  writeRegionState(kvWB, await newestKnownRegion(ctx, region), raft_serverpb.PeerState.Tombstone);
}

/**
 * The region a tombstone should hold: `region`, unless the store already holds a tombstone of the region
 * with a newer epoch. An empty peer (created by a message after an earlier peer of the region here was
 * destroyed) knows nothing of the region, epoch 0; its tombstone must not replace the earlier one, which
 * lets the store recognise messages from older members as stale.
 */
async function newestKnownRegion(ctx: StoreContext, region: metapb.Region): Promise<metapb.Region> {
  const persisted = (await getRegionLocalState(ctx.engines.kv, region.id))?.region;
  if (persisted !== undefined && isEpochStale(region.regionEpoch, persisted.regionEpoch)) return persisted;
  return region;
}

/**
 * After the tombstone batch is written: stop the peer, answer its commands, make the store forget it, and
 * delete its raft state and log.
 */
export async function finishDestroy(ctx: StoreContext, peer: Peer): Promise<void> {
  peer.stop();
  peer.storage.cancelSnapshotGeneration();
  peer.answerAllProposals(regionNotFoundError(peer.regionId));
  if (ctx.router.get(peer.regionId) === peer) {
    ctx.router.close(peer.regionId);
    ctx.storeMeta.removeRegion(peer.regionId);
    ctx.storeMeta.removeRange(peer.regionId);
  }
  ctx.dirty.delete(peer);
  await deleteRaftData(ctx.engines, peer.regionId);
  peer.logger.info('peer destroyed');
}

/** Destroys `peer` at once (it learned that it is stale): tombstone with its current region, then finishDestroy. */
export async function destroyPeer(ctx: StoreContext, peer: Peer, reason: string): Promise<void> {
  if (peer.stopped) return;
  peer.logger.info('destroying peer', { reason });
  const kvWB = new WriteBatch();
  await writeTombstone(ctx, peer, peer.region(), kvWB);
  await ctx.engines.kv.write(kvWB);
  await finishDestroy(ctx, peer);
}

/**
 * At start, for a region whose state is Tombstone: deletes the raft state and log a destroyed peer left
 * behind (a crash between the two writes of a destroy). A raft state with an empty log is not such a
 * leftover: it is the term and vote of a newer peer of the region on this store that has no data yet (a
 * message created it after the destroy, and it may have voted). It is kept, so that when a message creates
 * that peer again it remembers its vote and never votes twice in one term. Returns the keys deleted.
 */
export async function clearDestroyLeftovers(engines: Engines, regionId: number): Promise<number> {
  const raft = await getRaftLocalState(engines.raft, regionId);
  if (raft !== undefined && raft.lastIndex === 0) return 0;
  return deleteRaftData(engines, regionId);
}

/** Deletes every raft engine key of region `regionId` (its raft state and log). */
export async function deleteRaftData(engines: Engines, regionId: number): Promise<number> {
  const { start, end } = regionRaftRange(regionId);
  const raftWB = new WriteBatch();
  const it = engines.raft.iterMeta({ end });
  try {
    for (await it.seek(start); it.valid(); await it.next()) raftWB.deleteMeta(Uint8Array.from(it.item().key));
  } finally {
    await it.close();
  }
  const deleted = raftWB.count;
  if (deleted > 0) await engines.raft.write(raftWB);
  return deleted;
}

/**
 * Tells peer `to`, a removed member of `region` that does not know it yet, with a tombstone message from
 * `from`: the receiver destroys itself when the epoch in it is newer than its own.
 */
export function sendTombstone(ctx: StoreContext, region: metapb.Region, from: metapb.Peer, to: metapb.Peer): void {
  ctx.transport.send(
    to.storeId,
    raft_serverpb.RaftMessage({
      regionId: region.id,
      fromPeer: clonePeer(from),
      toPeer: clonePeer(to),
      regionEpoch: cloneEpoch(region.regionEpoch),
      isTombstone: true,
    }),
  );
}
