/**
 * Kit: the pure region split (reference/kv/raftstore/split.ts, given code of 3B): the two regions a Split
 * request produces, and every request it must refuse (including a stale request whose new peer ids do not
 * match the region's peers). Given code is tested here, not in the 3B suite, so that the suite measures
 * the student's blocks only.
 */
import { describe, expect, test } from 'vitest';
import { metapb, raft_cmdpb } from '#proto';
import { checkSplitRequest, splitRegion, SplitError } from '@impl/kv/raftstore/split.ts';

const enc = (s: string) => new TextEncoder().encode(s);

function region(opts: { start?: string; end?: string; version?: number; confVer?: number; peers?: [number, number][] } = {}): metapb.Region {
  return metapb.Region({
    id: 7,
    startKey: enc(opts.start ?? 'b'),
    endKey: enc(opts.end ?? 'p'),
    regionEpoch: metapb.RegionEpoch({ version: opts.version ?? 4, confVer: opts.confVer ?? 3 }),
    peers: (opts.peers ?? [[71, 1], [72, 2], [73, 3]]).map(([id, storeId]) => metapb.Peer({ id, storeId })),
  });
}

function splitReq(key: string, newRegionId = 20, newPeerIds = [201, 202, 203]): raft_cmdpb.SplitRequest {
  return raft_cmdpb.SplitRequest({ splitKey: enc(key), newRegionId, newPeerIds });
}

/** Both the check and the split refuse the request with the same message, matching `pattern`. */
function expectRefused(r: metapb.Region, split: raft_cmdpb.SplitRequest | undefined, pattern: RegExp): void {
  const message = checkSplitRequest(r, split);
  expect(message).toMatch(pattern);
  expect(message).toMatch(/split of region 7/);
  if (split !== undefined) {
    let thrown: unknown;
    try {
      splitRegion(r, split);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(SplitError);
    expect((thrown as Error).name).toBe('SplitError');
    expect((thrown as Error).message).toBe(message);
  }
}

describe('split: the regions it produces', () => {
  test('split: left keeps the id and [start, splitKey), right gets the new id and [splitKey, end)', () => {
    const { left, right } = splitRegion(region(), splitReq('h'));
    expect(left.id).toBe(7);
    expect(left.startKey).toEqual(enc('b'));
    expect(left.endKey).toEqual(enc('h'));
    expect(right.id).toBe(20);
    expect(right.startKey).toEqual(enc('h'));
    expect(right.endKey).toEqual(enc('p'));
  });

  test('split: the right region has one new peer per left peer, on the same stores in the same order', () => {
    const { left, right } = splitRegion(region({ peers: [[71, 3], [72, 1], [73, 2]] }), splitReq('h', 20, [303, 301, 302]));
    expect(left.peers.map((p) => [p.id, p.storeId])).toEqual([[71, 3], [72, 1], [73, 2]]);
    expect(right.peers.map((p) => [p.id, p.storeId])).toEqual([[303, 3], [301, 1], [302, 2]]);
  });

  test('split: both epochs get version + 1 and keep conf_ver', () => {
    const { left, right } = splitRegion(region({ version: 4, confVer: 3 }), splitReq('h'));
    expect(left.regionEpoch).toEqual(metapb.RegionEpoch({ version: 5, confVer: 3 }));
    expect(right.regionEpoch).toEqual(metapb.RegionEpoch({ version: 5, confVer: 3 }));
  });

  test('split: a region without an epoch counts from zero', () => {
    const r = region();
    r.regionEpoch = undefined;
    const { left, right } = splitRegion(r, splitReq('h'));
    expect(left.regionEpoch).toEqual(metapb.RegionEpoch({ version: 1, confVer: 0 }));
    expect(right.regionEpoch).toEqual(metapb.RegionEpoch({ version: 1, confVer: 0 }));
  });

  test('split: an unbounded region (empty start and end keys) splits into [, k) and [k, +inf)', () => {
    const r = region({ start: '', end: '' });
    const { left, right } = splitRegion(r, splitReq('k'));
    expect(left.startKey).toEqual(new Uint8Array(0));
    expect(left.endKey).toEqual(enc('k'));
    expect(right.startKey).toEqual(enc('k'));
    expect(right.endKey).toEqual(new Uint8Array(0));
  });

  test('split: inputs are not modified and the results share nothing with them or each other', () => {
    const r = region();
    const req = splitReq('h');
    const before = structuredClone(r);
    const reqBefore = structuredClone(req);
    const { left, right } = splitRegion(r, req);
    expect(r).toEqual(before);
    expect(req).toEqual(reqBefore);

    // Changing the results must not reach the inputs or the other result.
    left.regionEpoch!.version = 99;
    left.peers[0]!.id = 999;
    left.startKey[0] = 0;
    left.endKey[0] = 0;
    right.startKey[0] = 0;
    right.endKey[0] = 0;
    right.peers[0]!.storeId = 999;
    expect(r).toEqual(before);
    expect(req).toEqual(reqBefore);
    expect(right.regionEpoch!.version).toBe(5);
    expect(left.peers[0]!.storeId).toBe(1);
  });

  test('split: a split key just above the start key and just below the end key are both accepted', () => {
    const r = region({ start: 'b', end: 'p' });
    expect(checkSplitRequest(r, splitReq('b\x00'))).toBeUndefined();
    expect(checkSplitRequest(r, splitReq('o\xff'))).toBeUndefined();
    const { left, right } = splitRegion(r, splitReq('b\x00'));
    expect(left.endKey).toEqual(enc('b\x00'));
    expect(right.startKey).toEqual(enc('b\x00'));
  });

  test('split: a single-peer region splits into a single-peer region', () => {
    const { right } = splitRegion(region({ peers: [[71, 5]] }), splitReq('h', 20, [500]));
    expect(right.peers).toEqual([metapb.Peer({ id: 500, storeId: 5 })]);
  });
});

describe('split: requests it refuses', () => {
  test('split: a missing split request is refused', () => {
    expectRefused(region(), undefined, /carries no split request/);
  });

  test('split: an empty split key is refused', () => {
    expectRefused(region({ start: '', end: '' }), splitReq(''), /split key is empty/);
  });

  test('split: a split key equal to the start key is refused', () => {
    expectRefused(region({ start: 'b' }), splitReq('b'), /equals the region's start key/);
  });

  test('split: a split key before the start key is refused', () => {
    expectRefused(region({ start: 'b' }), splitReq('a'), /lies before the region's start key/);
  });

  test('split: a split key equal to the end key is refused', () => {
    expectRefused(region({ end: 'p' }), splitReq('p'), /not below the region's end key/);
  });

  test('split: a split key beyond the end key is refused', () => {
    expectRefused(region({ end: 'p' }), splitReq('z'), /not below the region's end key/);
  });

  test('split: a new region id of 0 is refused', () => {
    expectRefused(region(), splitReq('h', 0), /new region id must be positive, got 0/);
  });

  test("split: a new region id equal to the region's own id is refused", () => {
    expectRefused(region(), splitReq('h', 7), /new region id 7 is the region's own id/);
  });

  test('split: a stale request with fewer new peer ids than peers is refused, not read out of range', () => {
    expectRefused(region(), splitReq('h', 20, [201, 202]), /2 new peer ids for 3 peers/);
  });

  test('split: a stale request with more new peer ids than peers is refused', () => {
    expectRefused(region({ peers: [[71, 1], [72, 2]] }), splitReq('h', 20, [201, 202, 203]), /3 new peer ids for 2 peers/);
  });

  test('split: a new peer id of 0 is refused', () => {
    expectRefused(region(), splitReq('h', 20, [201, 0, 203]), /new peer id #1 must be positive, got 0/);
  });

  test('split: a duplicated new peer id is refused', () => {
    expectRefused(region(), splitReq('h', 20, [201, 202, 201]), /new peer id 201 appears more than once/);
  });

  test('split: a new peer id that is already a peer of the region is refused', () => {
    expectRefused(region(), splitReq('h', 20, [201, 72, 203]), /new peer id 72 is already a peer of the region/);
  });

  test('split: a refused request leaves the region untouched', () => {
    const r = region();
    const before = structuredClone(r);
    expect(() => splitRegion(r, splitReq('h', 20, [201]))).toThrow(SplitError);
    expect(r).toEqual(before);
  });
});
