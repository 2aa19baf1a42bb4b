/**
 * Small helpers for keys, regions and peers shared by the test cluster and the mock scheduler.
 * Keys are bytes compared lexicographically; an empty end key means "no upper bound".
 */
import { metapb } from '#proto';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 bytes of `text` (tests write keys and values as strings). */
export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** The UTF-8 text of `data`. */
export function text(data: Uint8Array): string {
  return decoder.decode(data);
}

/** Lexicographic order of two byte strings: negative, zero or positive. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return compareBytes(a, b) === 0;
}

/** True when `key` lies at or beyond `end`; an empty `end` is unbounded, so nothing exceeds it. */
export function exceedsEnd(key: Uint8Array, end: Uint8Array): boolean {
  return end.length > 0 && compareBytes(key, end) >= 0;
}

/** True when `key` is inside [region.startKey, region.endKey). */
export function regionContains(region: metapb.Region, key: Uint8Array): boolean {
  return compareBytes(key, region.startKey) >= 0 && !exceedsEnd(key, region.endKey);
}

/** True when the ranges of two regions share at least one key. */
export function rangesOverlap(a: metapb.Region, b: metapb.Region): boolean {
  const aEndsBeforeB = a.endKey.length > 0 && compareBytes(a.endKey, b.startKey) <= 0;
  const bEndsBeforeA = b.endKey.length > 0 && compareBytes(b.endKey, a.startKey) <= 0;
  return !aEndsBeforeB && !bEndsBeforeA;
}

/** A deep copy of a region, so callers can never change the scheduler's bookkeeping by accident. */
export function cloneRegion(region: metapb.Region): metapb.Region {
  return metapb.Region({
    id: region.id,
    startKey: region.startKey.slice(),
    endKey: region.endKey.slice(),
    regionEpoch: region.regionEpoch && metapb.RegionEpoch({ ...region.regionEpoch }),
    peers: region.peers.map((p) => metapb.Peer({ id: p.id, storeId: p.storeId })),
  });
}

export function clonePeer(peer: metapb.Peer): metapb.Peer {
  return metapb.Peer({ id: peer.id, storeId: peer.storeId });
}

/** The region's epoch, or the zero epoch when the field is missing. */
export function epochOf(region: metapb.Region): metapb.RegionEpoch {
  return region.regionEpoch ?? metapb.RegionEpoch();
}

/**
 * True when `epoch` is older than `than` in either counter. Both must be compared: a split bumps only the
 * version, a conf change only conf_ver, and a heartbeat can be behind in one while equal in the other.
 */
export function isEpochStale(epoch: metapb.RegionEpoch, than: metapb.RegionEpoch): boolean {
  return epoch.version < than.version || epoch.confVer < than.confVer;
}

/** The region's peer on `storeId`, if it has one. */
export function findPeer(region: metapb.Region, storeId: number): metapb.Peer | undefined {
  return region.peers.find((p) => p.storeId === storeId);
}

export function samePeer(a: metapb.Peer | undefined, b: metapb.Peer | undefined): boolean {
  return a !== undefined && b !== undefined && a.id === b.id && a.storeId === b.storeId;
}

/** Short printable form of a key for messages: the text when printable, else hex. */
export function showKey(key: Uint8Array): string {
  if (key.length === 0) return '""';
  const printable = key.every((b) => b >= 0x20 && b < 0x7f);
  return printable ? JSON.stringify(text(key)) : `0x${Buffer.from(key).toString('hex')}`;
}

/** "region 3 [\"a\", \"c\") v2/c1 peers 4@1,5@2": regions in error messages. */
export function showRegion(region: metapb.Region): string {
  const epoch = epochOf(region);
  const end = region.endKey.length === 0 ? '+inf' : showKey(region.endKey);
  const peers = region.peers.map((p) => `${p.id}@${p.storeId}`).join(',');
  return `region ${region.id} [${showKey(region.startKey)}, ${end}) v${epoch.version}/c${epoch.confVer} peers ${peers}`;
}
