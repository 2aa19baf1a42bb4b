// The scheduler's services that hold no student code: timestamps (TSO), ids and bootstrap; and the test
// cluster's options for a cluster that grows (firstRegionOn, joinLater, joinStore).
import { describe, expect, test } from 'vitest';
import { metapb } from '#proto';
import { AlreadyBootstrappedError, SchedulerCluster } from '@impl/scheduler/cluster.ts';
import { IdAllocator, TimestampOracle, TSO_LOGICAL_BITS } from '@impl/scheduler/id-allocator.ts';
import { SeededRandom } from '@impl/util/prng.ts';
import { bytes, Cluster, ClusterUsageError, runClusterTest } from '../../cluster/index.ts';
import { Sim } from '../../sim/index.ts';

const enc = (s: string) => new TextEncoder().encode(s);

function regionMeta(id: number, start: string, end: string, version: number, confVer: number, peers: [number, number][]): metapb.Region {
  return metapb.Region({
    id,
    startKey: enc(start),
    endKey: enc(end),
    regionEpoch: metapb.RegionEpoch({ version, confVer }),
    peers: peers.map(([peerId, storeId]) => metapb.Peer({ id: peerId, storeId })),
  });
}

describe('timestamps and ids', () => {
  test('TestTsoMonotonic3C', () => {
    const clock = { now: 5 };
    const tso = new TimestampOracle(() => clock.now);
    const first = tso.next();
    expect(first).toBe((5n << BigInt(TSO_LOGICAL_BITS)) | 1n);
    const seen = [first];
    // The clock stands still, goes back, then jumps ahead: the answers only ever grow.
    for (const now of [5, 5, 3, 0, 9, 9, 2]) {
      clock.now = now;
      seen.push(tso.next());
    }
    for (let i = 1; i < seen.length; i++) expect(seen[i]! > seen[i - 1]!).toBe(true);
    expect(seen.at(-3)! >> BigInt(TSO_LOGICAL_BITS)).toBe(9n);
    // A batch of 10 returns the last of 10 consecutive timestamps.
    const before = tso.next();
    expect(tso.next(10)).toBe(before + 10n);
  });

  test('TestTsoLogicalOverflow3C', () => {
    const tso = new TimestampOracle(() => 7);
    const limit = 1 << TSO_LOGICAL_BITS;
    const a = tso.next(limit - 1);
    const b = tso.next(1);
    // The logical part of millisecond 7 is used up: the next answer borrows millisecond 8.
    expect(a >> BigInt(TSO_LOGICAL_BITS)).toBe(7n);
    expect(b >> BigInt(TSO_LOGICAL_BITS)).toBe(8n);
    expect(b > a).toBe(true);
    expect(() => tso.next(0)).toThrow(RangeError);
    expect(() => tso.next(limit)).toThrow(RangeError);
    expect(() => tso.next(1.5)).toThrow(RangeError);
  });

  test('TestIdAllocator3C', () => {
    const ids = new IdAllocator(41);
    expect([ids.alloc(), ids.alloc(), ids.alloc()]).toEqual([42, 43, 44]);
    expect(ids.current).toBe(44);
  });
});

describe('bootstrap', () => {
  test('TestBootstrap3C', () => {
    const cluster = new SchedulerCluster(() => 0, new SeededRandom(1));
    const store = metapb.Store({ id: 1, address: 'a' });
    expect(cluster.isBootstrapped()).toBe(false);
    expect(() => cluster.bootstrap(store, regionMeta(2, '', '', 1, 1, []))).toThrow(/no peers/);
    expect(() => cluster.bootstrap(store, regionMeta(2, '', '', 1, 1, [[3, 9]]))).toThrow(/no peer on store 1/);
    expect(cluster.isBootstrapped()).toBe(false);
    expect(cluster.getStores()).toEqual([]);
    cluster.bootstrap(store, regionMeta(2, '', '', 1, 1, [[3, 1]]));
    expect(cluster.isBootstrapped()).toBe(true);
    expect(cluster.getRegionByKey(enc('any'))?.id).toBe(2);
    expect(cluster.getRegion(2)?.leader).toBeUndefined();
    expect(cluster.getStore(1)?.regionCount).toBe(1);
    expect(() => cluster.bootstrap(store, regionMeta(5, '', '', 1, 1, [[6, 1]]))).toThrow(AlreadyBootstrappedError);
    expect(cluster.getRegion(5)).toBeUndefined();
  });
});

describe('a cluster that grows', () => {
  test('bad store lists are refused up front', () => {
    const sim = new Sim({ seed: 1 });
    try {
      expect(() => new Cluster(sim, { stores: 3, firstRegionOn: [4] })).toThrow(ClusterUsageError);
      expect(() => new Cluster(sim, { stores: 3, firstRegionOn: [] })).toThrow(/names no store/);
      expect(() => new Cluster(sim, { stores: 3, firstRegionOn: [1], joinLater: [1] })).toThrow(/cannot join later/);
    } finally {
      sim.close();
    }
  });

  test('a store of joinLater stays out until it joins, then takes a peer', async () => {
    await runClusterTest(
      { stores: 3, firstRegionOn: [1, 2], joinLater: [3] },
      async (cluster) => {
        expect(cluster.isUp(3)).toBe(false);
        await expect(cluster.startStore(3)).rejects.toThrow(/has not joined yet/);
        await expect(cluster.joinStore(2)).rejects.toThrow(/not one that joins later/);
        await cluster.mustPut(bytes('k'), bytes('v'));
        expect((await cluster.getRegion(bytes('k'))).peers.map((p) => p.storeId)).toEqual([1, 2]);
        await cluster.joinStore(3);
        await expect(cluster.joinStore(3)).rejects.toThrow(/has joined already/);
        await cluster.mustAddPeer(1, cluster.allocPeer(3));
        await cluster.mustGetEqual(3, bytes('k'), bytes('v'));
      },
      { maxVirtualMs: 60_000, seed: 11 },
    );
  });
});
