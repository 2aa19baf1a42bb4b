/**
 * Keys, regions and peers as tests write and print them: text to bytes and back, printable forms for
 * messages, and peer identity. Order, equality and range checks are the product's own (util/bytes.ts,
 * kv/raftstore/region-util.ts); the harness uses those rather than copies.
 */
import type { metapb } from '#proto';
import { cloneEpoch } from '@impl/kv/raftstore/region-util.ts';

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

/** True when both are the same peer (same id on the same store); false if either is missing. */
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
  const epoch = cloneEpoch(region.regionEpoch);
  const end = region.endKey.length === 0 ? '+inf' : showKey(region.endKey);
  const peers = region.peers.map((p) => `${p.id}@${p.storeId}`).join(',');
  return `region ${region.id} [${showKey(region.startKey)}, ${end}) v${epoch.version}/c${epoch.confVer} peers ${peers}`;
}
