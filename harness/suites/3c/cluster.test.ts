/**
 * Project 3C, region heartbeats (TinyKV's cluster tests): the scheduler's cluster takes in what region leaders
 * report: newer epochs replace older ones, staler ones are refused and change nothing, splits and merges
 * replace the regions they overlap, and every store's counts follow.
 */
import { describe, expect, test } from 'vitest';
import { metapb, schedulerpb } from '#proto';
import { SchedulerCluster, StaleRegionError } from '@impl/scheduler/cluster.ts';
import { Coordinator } from '@impl/scheduler/coordinator.ts';
import { RegionInfo } from '@impl/scheduler/core/region-info.ts';
import { SeededRandom } from '@impl/util/prng.ts';

function newCluster(): SchedulerCluster {
  return new SchedulerCluster(() => 1_000_000, new SeededRandom(7));
}

function epoch(version: number, confVer: number): metapb.RegionEpoch {
  return metapb.RegionEpoch({ version, confVer });
}

/** A copy of `region` with its epoch, peers, leader, pending peers or size changed. */
function cloneRegion(
  region: RegionInfo,
  change: { version?: number; confVer?: number; peers?: metapb.Peer[]; leader?: metapb.Peer; pendingPeers?: metapb.Peer[]; size?: number; startKey?: Uint8Array; endKey?: Uint8Array },
): RegionInfo {
  const meta = metapb.Region({
    id: region.id,
    startKey: change.startKey ?? region.startKey,
    endKey: change.endKey ?? region.endKey,
    regionEpoch: epoch(change.version ?? region.version, change.confVer ?? region.confVer),
    peers: (change.peers ?? region.peers).map((p) => metapb.Peer({ id: p.id, storeId: p.storeId })),
  });
  return new RegionInfo({
    meta,
    leader: change.leader ?? region.leader,
    pendingPeers: change.pendingPeers ?? [...region.pendingPeers],
    approximateSize: change.size ?? region.approximateSize,
  });
}

/**
 * Stores 1, 2, 3 and regions 0, 1, 2 ([i, i+1) as single bytes, epoch v2/c2), each with peers i*3+j on store
 * (i+j) mod 3 and its first peer as leader: store 0 holds peers but is not registered.
 */
function setUpTestCluster(): { cluster: SchedulerCluster; regions: RegionInfo[] } {
  const cluster = newCluster();
  for (const id of [1, 2, 3]) cluster.putStore(metapb.Store({ id, state: metapb.StoreState.Up }));
  const regions: RegionInfo[] = [];
  for (let i = 0; i < 3; i++) {
    const peers = [0, 1, 2].map((j) => metapb.Peer({ id: i * 3 + j, storeId: (i + j) % 3 }));
    regions.push(
      new RegionInfo({
        meta: metapb.Region({ id: i, startKey: Uint8Array.of(i), endKey: Uint8Array.of(i + 1), regionEpoch: epoch(2, 2), peers }),
        leader: peers[0],
      }),
    );
  }
  regions.forEach((region, i) => {
    cluster.processRegionHeartbeat(region);
    checkRegions(cluster, regions.slice(0, i + 1));
  });
  return { cluster, regions };
}

/** The cluster holds exactly `expected`, indexed right: by id, by key, and per store as leader or follower. */
function checkRegions(cluster: SchedulerCluster, expected: readonly RegionInfo[]): void {
  const leaders = new Map<number, number>();
  const followers = new Map<number, number>();
  const index = cluster.core.regions;
  for (const region of expected) {
    for (const peer of region.peers) {
      const isLeader = peer.id === region.leaderPeerId;
      const counts = isLeader ? leaders : followers;
      counts.set(peer.storeId, (counts.get(peer.storeId) ?? 0) + 1);
      const stored = isLeader ? index.ofStore(peer.storeId).leaders.get(region.id) : index.ofStore(peer.storeId).followers.get(region.id);
      expect(stored, `region ${region.id} as ${isLeader ? 'leader' : 'follower'} on store ${peer.storeId}`).toEqual(region);
    }
  }
  expect(index.size).toBe(expected.length);
  for (const store of new Set([...leaders.keys(), ...followers.keys()])) {
    expect(index.leaderCount(store), `leaders on store ${store}`).toBe(leaders.get(store) ?? 0);
    expect(index.followerCount(store), `followers on store ${store}`).toBe(followers.get(store) ?? 0);
    expect(index.regionCount(store), `regions on store ${store}`).toBe((leaders.get(store) ?? 0) + (followers.get(store) ?? 0));
  }
  for (const region of index.all()) expect(region).toEqual(expected.find((r) => r.id === region.id));
}

describe('region heartbeats', () => {
  test('TestRegionNotUpdate3C', () => {
    const { cluster, regions } = setUpTestCluster();
    for (const region of regions) {
      cluster.processRegionHeartbeat(region);
      checkRegions(cluster, regions);
    }
  });

  test('TestRegionUpdateVersion3C', () => {
    const { cluster, regions } = setUpTestCluster();
    regions.forEach((region, i) => {
      regions[i] = cloneRegion(region, { version: region.version + 1 });
      cluster.processRegionHeartbeat(regions[i]!);
      checkRegions(cluster, regions);
    });
  });

  test('TestRegionWithStaleVersion3C', () => {
    const { cluster, regions } = setUpTestCluster();
    regions.forEach((origin, i) => {
      regions[i] = cloneRegion(origin, { version: origin.version + 1 });
      cluster.processRegionHeartbeat(regions[i]!);
      checkRegions(cluster, regions);
      // A higher conf_ver does not make up for a lower version.
      expect(() => cluster.processRegionHeartbeat(cloneRegion(origin, { confVer: origin.confVer + 1 }))).toThrow(StaleRegionError);
      checkRegions(cluster, regions);
    });
  });

  test('TestRegionUpdateVersionAndConfver3C', () => {
    const { cluster, regions } = setUpTestCluster();
    regions.forEach((region, i) => {
      regions[i] = cloneRegion(region, { version: region.version + 1, confVer: region.confVer + 1 });
      cluster.processRegionHeartbeat(regions[i]!);
      checkRegions(cluster, regions);
    });
  });

  test('TestRegionWithStaleConfVer3C', () => {
    const { cluster, regions } = setUpTestCluster();
    regions.forEach((origin, i) => {
      regions[i] = cloneRegion(origin, { confVer: origin.confVer + 1 });
      cluster.processRegionHeartbeat(regions[i]!);
      checkRegions(cluster, regions);
      expect(() => cluster.processRegionHeartbeat(cloneRegion(origin, {}))).toThrow(StaleRegionError);
      checkRegions(cluster, regions);
    });
  });

  test('TestRegionAddPendingPeer3C', () => {
    const { cluster, regions } = setUpTestCluster();
    const random = new SeededRandom(1);
    regions.forEach((region, i) => {
      const pending = region.peers[random.nextInt(region.peers.length)]!;
      regions[i] = cloneRegion(region, { pendingPeers: [pending] });
      cluster.processRegionHeartbeat(regions[i]!);
      checkRegions(cluster, regions);
      expect(cluster.core.regions.ofStore(pending.storeId).pending.get(region.id)).toBe(regions[i]);
    });
  });

  test('TestRegionRemovePendingPeer3C', () => {
    const { cluster, regions } = setUpTestCluster();
    const random = new SeededRandom(2);
    regions.forEach((region, i) => {
      regions[i] = cloneRegion(region, { pendingPeers: [region.peers[random.nextInt(region.peers.length)]!] });
      cluster.processRegionHeartbeat(regions[i]!);
      checkRegions(cluster, regions);
      regions[i] = cloneRegion(regions[i]!, { pendingPeers: [] });
      cluster.processRegionHeartbeat(regions[i]!);
      checkRegions(cluster, regions);
    });
    for (const id of [1, 2, 3]) expect(cluster.getStore(id)!.pendingPeerCount, `pending peers of store ${id}`).toBe(0);
  });

  test('TestRegionRemovePeers3C', () => {
    const { cluster, regions } = setUpTestCluster();
    regions.forEach((region, i) => {
      // Same epoch, fewer peers: not an update to skip.
      regions[i] = cloneRegion(region, { peers: region.peers.slice(0, 1) });
      cluster.processRegionHeartbeat(regions[i]!);
      checkRegions(cluster, regions);
    });
  });

  test('TestRegionAddBackPeers3C', () => {
    const { cluster, regions } = setUpTestCluster();
    regions.forEach((origin, i) => {
      regions[i] = cloneRegion(origin, { peers: origin.peers.slice(0, 1) });
      cluster.processRegionHeartbeat(regions[i]!);
      checkRegions(cluster, regions);
      regions[i] = origin;
      cluster.processRegionHeartbeat(origin);
      checkRegions(cluster, regions);
    });
  });

  test('TestRegionChangeLeader3C', () => {
    const { cluster, regions } = setUpTestCluster();
    regions.forEach((region, i) => {
      regions[i] = cloneRegion(region, { leader: region.peers[1] });
      cluster.processRegionHeartbeat(regions[i]!);
      checkRegions(cluster, regions);
    });
  });

  test('TestRegionChangeApproximateSize3C', () => {
    const { cluster, regions } = setUpTestCluster();
    regions.forEach((region, i) => {
      regions[i] = cloneRegion(region, { size: 144 });
      cluster.processRegionHeartbeat(regions[i]!);
      checkRegions(cluster, regions);
      expect(cluster.getRegion(region.id)!.approximateSize).toBe(144);
    });
  });

  test('TestRegionCounts3C', () => {
    const { cluster } = setUpTestCluster();
    for (const store of [0, 1, 2]) expect(cluster.core.regions.regionCount(store), `regions on store ${store}`).toBe(3);
    expect(cluster.core.regions.regionCount(3)).toBe(0);
  });

  test('TestRegionGetRegions3C', () => {
    const { cluster, regions } = setUpTestCluster();
    const got = cluster.core.regions.all();
    expect(got.map((r) => r.id)).toEqual([0, 1, 2]);
    for (const region of got) {
      expect(region).toEqual(regions[region.id]);
      expect(region.meta).toEqual(regions[region.id]!.meta);
    }
  });

  test('TestRegionGetStores3C', () => {
    const { cluster, regions } = setUpTestCluster();
    for (const region of regions) {
      const stores = cluster.getRegionStores(region);
      // Store 0 holds a peer but is not registered: it is left out.
      expect(stores.map((s) => s.id).sort()).toEqual([...region.storeIds()].filter((id) => id !== 0).sort());
      for (const store of cluster.getFollowerStores(region)) expect(region.peerOnStore(store.id)!.id).not.toBe(region.leaderPeerId);
    }
  });

  test('TestRegionGetStoresInfo3C', () => {
    const { cluster } = setUpTestCluster();
    const index = cluster.core.regions;
    for (const id of [1, 2, 3]) {
      const store = cluster.getStore(id)!;
      expect(store.leaderCount, `leaders of store ${id}`).toBe(index.leaderCount(id));
      expect(store.regionCount, `regions of store ${id}`).toBe(index.regionCount(id));
      expect(store.leaderSize).toBe(index.leaderSize(id));
      expect(store.regionSize).toBe(index.regionSize(id));
    }
    expect([1, 2, 3].map((id) => [cluster.getStore(id)!.leaderCount, cluster.getStore(id)!.regionCount])).toEqual([
      [1, 3],
      [1, 3],
      [0, 0],
    ]);
  });
});

/** A region without peers or leader over [start, end) (empty: unbounded). */
function bareRegion(id: number, start: string, end: string, version: number, confVer: number): RegionInfo {
  const enc = (s: string) => new TextEncoder().encode(s);
  return new RegionInfo({ meta: metapb.Region({ id, startKey: enc(start), endKey: enc(end), regionEpoch: epoch(version, confVer), peers: [] }) });
}

function regionIdAt(cluster: SchedulerCluster, key: string | Uint8Array): number | undefined {
  return cluster.getRegionByKey(typeof key === 'string' ? new TextEncoder().encode(key) : key)?.id;
}

describe('splits and merges', () => {
  test('TestHeartbeatSplit3C', () => {
    const cluster = newCluster();
    // 1: [-inf, +inf)
    cluster.processRegionHeartbeat(bareRegion(1, '', '', 1, 1));
    expect(regionIdAt(cluster, 'foo')).toBe(1);
    // Split into 2: [-inf, m) and 1: [m, +inf); the left one comes first and replaces region 1 whole.
    cluster.processRegionHeartbeat(bareRegion(2, '', 'm', 1, 1));
    expect(regionIdAt(cluster, 'a')).toBe(2);
    expect(regionIdAt(cluster, 'z')).toBeUndefined();
    cluster.processRegionHeartbeat(bareRegion(1, 'm', '', 2, 1));
    expect(regionIdAt(cluster, 'z')).toBe(1);
    // Split 1 again: 1: [q, +inf) first, then 3: [m, q).
    cluster.processRegionHeartbeat(bareRegion(1, 'q', '', 3, 1));
    expect(regionIdAt(cluster, 'z')).toBe(1);
    expect(regionIdAt(cluster, 'a')).toBe(2);
    expect(regionIdAt(cluster, 'n')).toBeUndefined();
    cluster.processRegionHeartbeat(bareRegion(3, 'm', 'q', 1, 1));
    expect(regionIdAt(cluster, 'n')).toBe(3);
  });

  test('TestRegionSplitAndMerge3C', () => {
    const cluster = newCluster();
    let regions = [new RegionInfo({ meta: metapb.Region({ id: 0, startKey: new Uint8Array(0), endKey: new Uint8Array(0), regionEpoch: epoch(0, 0), peers: [] }) })];
    const byte = (key: Uint8Array, empty: number) => (key.length === 0 ? empty : key[0]!);

    // Each region splits at its middle byte: the left part gets id + n, the right id + 2n, both a newer version.
    const split = (list: RegionInfo[]): RegionInfo[] => {
      const n = list.length;
      return list.flatMap((r) => {
        const middle = Uint8Array.of(Math.floor(byte(r.startKey, 0) / 2) + Math.floor(byte(r.endKey, 255) / 2));
        const left = new RegionInfo({ meta: metapb.Region({ id: r.id + n, startKey: r.startKey, endKey: middle, regionEpoch: epoch(r.version + 1, r.confVer), peers: [] }) });
        const right = new RegionInfo({ meta: metapb.Region({ id: r.id + 2 * n, startKey: middle, endKey: r.endKey, regionEpoch: epoch(r.version + 1, r.confVer), peers: [] }) });
        return [left, right];
      });
    };
    // Neighbours merge: the new region takes id left + n and a version above both.
    const merge = (list: RegionInfo[]): RegionInfo[] => {
      const n = list.length;
      const out: RegionInfo[] = [];
      for (let i = 0; i + 1 < n; i += 2) {
        const [l, r] = [list[i]!, list[i + 1]!];
        const version = Math.max(l.version, r.version) + 1;
        out.push(new RegionInfo({ meta: metapb.Region({ id: l.id + n, startKey: l.startKey, endKey: r.endKey, regionEpoch: epoch(version, Math.max(l.confVer, r.confVer)), peers: [] }) }));
      }
      return out;
    };
    const heartbeatAll = (list: RegionInfo[]): void => {
      const lookups = (r: RegionInfo) => {
        expect(cluster.getRegion(r.id)).toEqual(r);
        expect(regionIdAt(cluster, r.startKey)).toBe(r.id);
        if (r.endKey.length > 0) expect(regionIdAt(cluster, Uint8Array.of(r.endKey[0]! - 1))).toBe(r.id);
      };
      for (const r of list) {
        cluster.processRegionHeartbeat(r);
        lookups(r);
      }
      for (const r of list) {
        lookups(r);
        if (r.endKey.length > 0 && r.endKey[0]! < 255) expect(regionIdAt(cluster, Uint8Array.of(r.endKey[0]! + 1))).not.toBe(r.id);
      }
    };

    for (let i = 0; i < 7; i++) {
      regions = split(regions);
      heartbeatAll(regions);
    }
    expect(regions).toHaveLength(128);
    for (let i = 0; i < 7; i++) {
      regions = merge(regions);
      heartbeatAll(regions);
    }
    expect(regions).toHaveLength(1);
    for (let i = 0; i < 14; i++) {
      regions = (i + 1) % 3 === 0 ? merge(regions) : split(regions);
      heartbeatAll(regions);
    }
    expect(cluster.core.regions.size).toBe(regions.length);
  });
});

test('TestConcurrentHandleRegion3C', async () => {
  const cluster = newCluster();
  const storeIds = [1, 2, 3].map(() => cluster.ids.alloc());
  const received = new Map<number, number>(storeIds.map((id) => [id, 0]));
  for (const id of storeIds) {
    cluster.putStore(metapb.Store({ id, address: `127.0.1.1:${id}`, state: metapb.StoreState.Up }));
    cluster.handleStoreHeartbeat(schedulerpb.StoreStats({ storeId: id, capacity: 1000 * 2 ** 20, available: 1000 * 2 ** 20 }));
    cluster.onRegionHeartbeatResponse(id, () => received.set(id, received.get(id)! + 1));
  }
  const first = storeIds[0]!;
  const key = (i: number) => new TextEncoder().encode(String(i).padStart(5, ' '));
  const n = 2000;
  // 2000 heartbeats in flight at once, each resuming at its own moment: each must be taken in whole.
  const results = await Promise.allSettled(
    Array.from({ length: n }, async (_, i) => {
      for (let hop = i % 7; hop > 0; hop--) await Promise.resolve();
      const peer = metapb.Peer({ id: cluster.ids.alloc(), storeId: first });
      cluster.handleRegionHeartbeat(
        schedulerpb.RegionHeartbeatRequest({
          region: metapb.Region({
            id: cluster.ids.alloc(),
            startKey: i === 0 ? new Uint8Array(0) : key(i),
            endKey: i === n - 1 ? new Uint8Array(0) : key(i + 1),
            regionEpoch: epoch(1, 1),
            peers: [peer],
          }),
          leader: peer,
        }),
      );
    }),
  );
  expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
  expect(cluster.core.regions.size).toBe(n);
  expect(cluster.getStore(first)!.leaderCount).toBe(n);
  // The replica checker finds regions short of members and sends the first step to their leader, store 1.
  expect(new Coordinator(cluster).runOnce()).toBeGreaterThan(0);
  expect(received.get(first)).toBeGreaterThan(0);
});
