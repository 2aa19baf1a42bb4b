/**
 * The new region's peer after a split (3B). Its region state was written with the split; here it is created
 * from it like any peer at start, registered with the store, and given what a fresh region needs:
 *   - the vote requests that reached this store before the split was applied here (kept in the store meta)
 *     are handed back for the caller to replay to it, so the region's first election does not wait for a
 *     second round;
 *   - on the store that led the parent region, it campaigns at once (the parent's leader is most likely the
 *     first to apply the split, and the region has no leader until someone campaigns);
 *   - its size is unknown: the split checker looks at it soon (Peer.forgetSize, as for every new peer).
 */
import type { metapb, raft_serverpb } from '#proto';
import type { StoreContext } from './context.ts';
import { Peer } from './peer.ts';

export async function createSplitPeer(
  ctx: StoreContext,
  region: metapb.Region,
  parentWasLeader: boolean,
): Promise<{ peer: Peer; heldVotes: raft_serverpb.RaftMessage[] }> {
  const peer = await Peer.createFromRegion(ctx, region);
  ctx.router.register(peer);
  ctx.storeMeta.setRegion(peer.region());
  ctx.storeMeta.insertRange(peer.region());
  if (parentWasLeader && !peer.isLeader()) peer.raftGroup.campaign();
  ctx.markDirty(peer);
  return { peer, heldVotes: ctx.storeMeta.takeVotes(region.id) };
}
