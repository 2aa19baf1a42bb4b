/**
 * Small facts about regions, epochs, peers and raft messages that the raftstore checks over and over.
 */
import { eraftpb, metapb } from '#proto';
import { compareBytes } from '../../util/bytes.ts';
import { decodeBytes } from '../transaction/mvcc/codec.ts';
import { RAFT_INIT_LOG_TERM } from './meta.ts';

const { MessageType } = eraftpb;

/** True when `key` lies at or beyond `end`; an empty end key means "no upper bound". */
export function exceedsEndKey(key: Uint8Array, end: Uint8Array): boolean {
  return end.length > 0 && compareBytes(key, end) >= 0;
}

/**
 * Where the keys of column family `cf` that belong to the range [start, end) lie.
 *
 * Percolator's layout (Project 4) keeps the versions of a user key in `default` and `write` under its
 * encoded form (memcomparable, then the timestamp), but its lock in `lock` under the bare user key. A region
 * is cut between encoded user keys (split-check drops the timestamp from a split key), so for `default` and
 * `write` the region's range is the range itself, and for `lock` it is the range of the user keys those
 * encoded boundaries stand for: every family of one user key then lies in the same region. A boundary that is
 * not an encoded key (a region split on raw-API data) is taken as it is.
 */
export function cfRange(cf: string, start: Uint8Array, end: Uint8Array): { start: Uint8Array; end: Uint8Array } {
  if (cf !== 'lock') return { start, end };
  return { start: lockBoundary(start), end: lockBoundary(end) };
}

function lockBoundary(boundary: Uint8Array): Uint8Array {
  if (boundary.length === 0) return boundary;
  try {
    const { key, rest } = decodeBytes(boundary);
    return rest.length === 0 ? key : boundary;
  } catch {
    return boundary;
  }
}

/** True when `key` of family `cf` belongs to `region` (see cfRange). */
export function cfKeyInRegion(cf: string, key: Uint8Array, region: metapb.Region): boolean {
  const { start, end } = cfRange(cf, region.startKey, region.endKey);
  return compareBytes(key, start) >= 0 && !exceedsEndKey(key, end);
}

/** True when `key` is in [region.startKey, region.endKey). */
export function keyInRegion(key: Uint8Array, region: metapb.Region): boolean {
  return compareBytes(key, region.startKey) >= 0 && !exceedsEndKey(key, region.endKey);
}

/** True when the two key ranges share at least one key. */
export function rangesOverlap(a: { startKey: Uint8Array; endKey: Uint8Array }, b: { startKey: Uint8Array; endKey: Uint8Array }): boolean {
  return !exceedsEndKey(b.startKey, a.endKey) && !exceedsEndKey(a.startKey, b.endKey);
}

export function cloneEpoch(epoch: metapb.RegionEpoch | undefined): metapb.RegionEpoch {
  return metapb.RegionEpoch({ confVer: epoch?.confVer ?? 0, version: epoch?.version ?? 0 });
}

export function clonePeer(peer: metapb.Peer): metapb.Peer {
  return metapb.Peer({ id: peer.id, storeId: peer.storeId });
}

/** A deep copy: nobody holding it can change the store's region by accident (or see later changes). */
export function cloneRegion(region: metapb.Region): metapb.Region {
  return metapb.Region({
    id: region.id,
    startKey: Uint8Array.from(region.startKey),
    endKey: Uint8Array.from(region.endKey),
    regionEpoch: cloneEpoch(region.regionEpoch),
    peers: region.peers.map(clonePeer),
  });
}

/** True when `epoch` is older than `current` in either counter. */
export function isEpochStale(epoch: metapb.RegionEpoch | undefined, current: metapb.RegionEpoch | undefined): boolean {
  const e = cloneEpoch(epoch);
  const c = cloneEpoch(current);
  return e.version < c.version || e.confVer < c.confVer;
}

export function findPeerOnStore(region: metapb.Region, storeId: number): metapb.Peer | undefined {
  return region.peers.find((p) => p.storeId === storeId);
}

export function findPeerById(region: metapb.Region, peerId: number): metapb.Peer | undefined {
  return region.peers.find((p) => p.id === peerId);
}

/** The raft membership a region's peers make. */
export function confStateFromRegion(region: metapb.Region): eraftpb.ConfState {
  return eraftpb.ConfState({ nodes: region.peers.map((p) => p.id) });
}

function isVoteMessage(m: eraftpb.Message): boolean {
  return m.msgType === MessageType.MsgRequestVote;
}

/**
 * A message that may create a peer on a store that has none for the region yet: a vote request, or a
 * heartbeat from a leader that knows nothing of the target's log (commit 0).
 */
export function isInitialMessage(m: eraftpb.Message): boolean {
  return m.msgType === MessageType.MsgRequestVote || (m.msgType === MessageType.MsgHeartbeat && m.commit === 0);
}

/** The first vote of a freshly split region (its log starts at the initial term). */
export function isFirstVoteMessage(m: eraftpb.Message): boolean {
  return isVoteMessage(m) && m.term === RAFT_INIT_LOG_TERM + 1;
}

/** Text for logs: "1:[61, 62)". */
export function describeRegion(region: metapb.Region): string {
  const key = (k: Uint8Array) => (k.length === 0 ? '' : Buffer.from(k).toString('hex'));
  const e = cloneEpoch(region.regionEpoch);
  return `${region.id}:[${key(region.startKey)}, ${key(region.endKey) || '+inf'}) v${e.version}/c${e.confVer} peers=${region.peers
    .map((p) => `${p.id}@${p.storeId}`)
    .join(',')}`;
}
