// Which keys of each column family belong to a region (cfRange in region-util.ts): regions are cut between
// encoded user keys, versions live under encoded keys and locks under bare user keys, so every family of one
// user key must fall in the same region; a boundary that is not an encoded key is taken as it is.
import { describe, expect, test } from 'vitest';
import { metapb } from '#proto';
import { cfKeyInRegion, cfRange } from '@impl/kv/raftstore/region-util.ts';
import { encodeBytes, encodeKey } from '@impl/kv/transaction/mvcc/codec.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const region = (start: Uint8Array, end: Uint8Array) => metapb.Region({ id: 1, startKey: start, endKey: end });

describe('kit: column families and region ranges', () => {
  test('a user key\'s lock and versions fall in the same region, even with an 8-byte shared prefix', () => {
    const keys = ['a', 'b', 'b\u0000', 'bz', 'c', 'long-key-0001', 'long-key-0002', 'long-key-0002x', 'z'].map(enc);
    const cuts = [enc('b'), enc('long-key-0002'), enc('y')].map(encodeBytes);
    const regions = [region(new Uint8Array(0), cuts[0]!), region(cuts[0]!, cuts[1]!), region(cuts[1]!, cuts[2]!), region(cuts[2]!, new Uint8Array(0))];
    for (const key of keys) {
      const lock = regions.findIndex((r) => cfKeyInRegion('lock', key, r));
      const version = regions.findIndex((r) => cfKeyInRegion('write', encodeKey(key, 42n), r));
      const data = regions.findIndex((r) => cfKeyInRegion('default', encodeKey(key, 7n), r));
      expect([lock, data], new TextDecoder().decode(key)).toEqual([version, version]);
      expect(regions.filter((r) => cfKeyInRegion('lock', key, r))).toHaveLength(1);
    }
    // The split key itself starts the right-hand region, in every family.
    expect(cfKeyInRegion('lock', enc('b'), regions[1]!)).toBe(true);
    expect(cfKeyInRegion('lock', enc('b'), regions[0]!)).toBe(false);
  });

  test('boundaries that are not encoded keys (raw-API splits) are used as they are', () => {
    expect(cfRange('lock', enc('k1'), enc('k5'))).toEqual({ start: enc('k1'), end: enc('k5') });
    expect(cfRange('default', encodeBytes(enc('b')), new Uint8Array(0))).toEqual({ start: encodeBytes(enc('b')), end: new Uint8Array(0) });
    expect(cfRange('lock', encodeBytes(enc('b')), new Uint8Array(0))).toEqual({ start: enc('b'), end: new Uint8Array(0) });
  });
});
