/**
 * The pure part of a region split (3B): checking a Split admin request against a region, and computing the
 * two regions it produces. No engine, no peers: the raftstore calls checkSplitRequest when it proposes a
 * split and again when it applies one (the region may have changed in between), then splitRegion.
 */
import { metapb, raft_cmdpb } from '#proto';
import { compareBytes, hexKey } from '../../util/bytes.ts';
import { cloneEpoch, clonePeer, cloneRegion, describeRegion, exceedsEndKey } from './region-util.ts';

/** A Split request that cannot be applied to the region as it is. */
export class SplitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SplitError';
  }
}

/**
 * Validates a Split admin request against the region as it is NOW. Returns undefined when the split can be
 * applied, otherwise a message saying what is wrong.
 */
export function checkSplitRequest(region: metapb.Region, split: raft_cmdpb.SplitRequest | undefined): string | undefined {
  const where = `split of region ${describeRegion(region)}`;
  if (split === undefined) return `${where}: the admin request carries no split request`;

  const key = split.splitKey;
  if (key.length === 0) return `${where}: the split key is empty`;
  const vsStart = compareBytes(key, region.startKey);
  if (vsStart === 0) return `${where}: the split key ${hexKey(key)} equals the region's start key (the left region would be empty)`;
  if (vsStart < 0) return `${where}: the split key ${hexKey(key)} lies before the region's start key ${hexKey(region.startKey)}`;
  if (exceedsEndKey(key, region.endKey)) {
    return `${where}: the split key ${hexKey(key)} is not below the region's end key ${hexKey(region.endKey)}`;
  }

  if (!(split.newRegionId > 0)) return `${where}: the new region id must be positive, got ${split.newRegionId}`;
  if (split.newRegionId === region.id) return `${where}: the new region id ${split.newRegionId} is the region's own id`;

  // A request built for an older membership (known bug 32) has the wrong number of new peer ids: reject it
  // rather than read past the end of the list or build a region without a peer on some store.
  const ids = split.newPeerIds;
  if (ids.length !== region.peers.length) {
    return `${where}: ${ids.length} new peer ids for ${region.peers.length} peers (a stale split request?)`;
  }
  const seen = new Set<number>();
  for (const [i, id] of ids.entries()) {
    if (!(id > 0)) return `${where}: new peer id #${i} must be positive, got ${id}`;
    if (seen.has(id)) return `${where}: new peer id ${id} appears more than once`;
    if (region.peers.some((p) => p.id === id)) return `${where}: new peer id ${id} is already a peer of the region`;
    seen.add(id);
  }
  return undefined;
}

/**
 * The two regions after splitting `region` at split.splitKey. The left one keeps the region's id and covers
 * [startKey, splitKey); the right one gets split.newRegionId and covers [splitKey, endKey), with one peer per
 * peer of the left (same store, same order) whose id is split.newPeerIds[i]. Both epochs have version + 1 and
 * the same conf_ver. The inputs are not modified; the results share no arrays with them.
 * Throws SplitError when checkSplitRequest refuses the request.
 */
export function splitRegion(region: metapb.Region, split: raft_cmdpb.SplitRequest): { left: metapb.Region; right: metapb.Region } {
  const problem = checkSplitRequest(region, split);
  if (problem !== undefined) throw new SplitError(problem);

  const epoch = cloneEpoch(region.regionEpoch);
  epoch.version += 1; // the key range changed; the membership did not

  const left = cloneRegion(region);
  left.endKey = Uint8Array.from(split.splitKey);
  left.regionEpoch = cloneEpoch(epoch);

  const right = metapb.Region({
    id: split.newRegionId,
    startKey: Uint8Array.from(split.splitKey),
    endKey: Uint8Array.from(region.endKey),
    regionEpoch: cloneEpoch(epoch),
    peers: region.peers.map((p, i) => metapb.Peer({ ...clonePeer(p), id: split.newPeerIds[i]! })),
  });
  return { left, right };
}
