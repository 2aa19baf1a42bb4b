/**
 * Project 3C, the cases TinyKV's tests miss: a report for an unknown region id that is older than a region it
 * overlaps, store counts of a store that lost a member, an offline store as a target, the size-gap rule, and
 * bad input (answered with clear errors, the model untouched).
 */
import { describe, expect, test } from 'vitest';
import { metapb, schedulerpb } from '#proto';
import { BadHeartbeatError, SchedulerCluster, StaleRegionError } from '@impl/scheduler/cluster.ts';
import { RegionInfo } from '@impl/scheduler/core/region-info.ts';
import { createMovePeerOperator, OpKind } from '@impl/scheduler/operator/operator.ts';
import { BalanceRegionScheduler } from '@impl/scheduler/schedulers/balance-region.ts';
import { SeededRandom } from '@impl/util/prng.ts';
import { MockCluster } from './mock-cluster.ts';

const enc = (s: string) => new TextEncoder().encode(s);

function region(id: number, start: string, end: string, version: number, confVer: number, peers: [number, number][] = [], leader?: number): RegionInfo {
  const ps = peers.map(([peerId, storeId]) => metapb.Peer({ id: peerId, storeId }));
  return new RegionInfo({
    meta: metapb.Region({ id, startKey: enc(start), endKey: enc(end), regionEpoch: metapb.RegionEpoch({ version, confVer }), peers: ps }),
    leader: leader === undefined ? undefined : ps.find((p) => p.id === leader),
    approximateSize: 1,
  });
}

function clusterWithStores(...ids: number[]): SchedulerCluster {
  const cluster = new SchedulerCluster(() => 1000, new SeededRandom(3));
  for (const id of ids) cluster.putStore(metapb.Store({ id, state: metapb.StoreState.Up }));
  return cluster;
}

describe('heartbeats, beyond TinyKV', () => {
  test('TestStaleOverlappingRegion3C', () => {
    // A region id the scheduler does not know, older than the region it overlaps: a split's old half arriving
    // late must not wipe out the newer region.
    const cluster = clusterWithStores(1);
    const newer = region(1, 'a', 'z', 5, 1, [[10, 1]], 10);
    cluster.processRegionHeartbeat(newer);
    expect(() => cluster.processRegionHeartbeat(region(2, 'm', '', 3, 1, [[11, 1]], 11))).toThrow(StaleRegionError);
    expect(() => cluster.processRegionHeartbeat(region(3, '', 'b', 5, 0, [[12, 1]], 12))).toThrow(StaleRegionError);
    expect(cluster.core.regions.all()).toEqual([newer]);
    expect(cluster.getStore(1)!.regionCount).toBe(1);
    // Not older: it replaces what it overlaps.
    const split = region(4, 'm', 'z', 5, 1, [[13, 1]], 13);
    cluster.processRegionHeartbeat(split);
    expect(cluster.core.regions.all()).toEqual([split]);
  });

  test('TestStoreCountsAfterPeerRemoved3C', () => {
    // The store that lost its member must see its counts drop, not only the stores still holding one.
    const cluster = clusterWithStores(1, 2, 3);
    cluster.processRegionHeartbeat(region(1, '', '', 1, 1, [[1, 1], [2, 2], [3, 3]], 1));
    expect([1, 2, 3].map((id) => cluster.getStore(id)!.regionCount)).toEqual([1, 1, 1]);
    cluster.processRegionHeartbeat(region(1, '', '', 1, 2, [[1, 1], [2, 2]], 1));
    expect([1, 2, 3].map((id) => cluster.getStore(id)!.regionCount)).toEqual([1, 1, 0]);
    // And the stores of a region a split replaced.
    cluster.processRegionHeartbeat(region(2, '', '', 2, 2, [[4, 1]], 4));
    expect([1, 2, 3].map((id) => cluster.getStore(id)!.regionCount)).toEqual([1, 0, 0]);
  });
});

test('TestRegionQueries3C', () => {
  const cluster = clusterWithStores(1);
  for (const r of [region(1, '', 'g', 1, 1), region(2, 'g', 'p', 1, 1), region(3, 'q', '', 1, 1)]) cluster.processRegionHeartbeat(r);
  expect(cluster.getPrevRegion(enc('h'))?.id).toBe(1);
  expect(cluster.getPrevRegion(enc('a'))).toBeUndefined(); // the first region
  expect(cluster.getPrevRegion(enc('z'))).toBeUndefined(); // a gap [p, q) before it
  expect(cluster.getPrevRegion(enc('pp'))).toBeUndefined(); // no region holds the key
  expect(cluster.scanRegions(enc('h'), enc(''), 0).map((r) => r.id)).toEqual([2, 3]);
  expect(cluster.scanRegions(enc(''), enc('q'), 0).map((r) => r.id)).toEqual([1, 2]);
  expect(cluster.scanRegions(enc(''), enc(''), 2).map((r) => r.id)).toEqual([1, 2]);
});

describe('balance-region, beyond TinyKV', () => {
  test('TestOfflineStoreTakesNothing3C', () => {
    const tc = new MockCluster();
    const sb = new BalanceRegionScheduler();
    tc.setMaxReplicas(1);
    tc.addRegionStore(1, 16);
    tc.addRegionStore(2, 0); // the emptiest store, but offline
    tc.addRegionStore(3, 4);
    tc.addLeaderRegion(1, 1);
    tc.setStoreOffline(2);
    const op = sb.schedule(tc);
    expect(op?.steps[0]).toMatchObject({ kind: 'add-peer', toStore: 3 });
  });

  test('TestMoveOnlyWhenWorthIt3C', () => {
    // 50 MB against 40 MB with 10 MB regions: after a move the target would hold 50, the source 40, and the
    // next round would move it back.
    const tc = new MockCluster();
    const sb = new BalanceRegionScheduler();
    tc.setMaxReplicas(1);
    tc.addRegionStore(1, 5);
    tc.addRegionStore(2, 4);
    tc.addLeaderRegion(1, 1);
    expect(sb.schedule(tc)).toBeUndefined();
    tc.updateRegionCount(1, 7); // 70 - 40 = 30 > 2 x 10
    expect(sb.schedule(tc)?.steps[0]).toMatchObject({ kind: 'add-peer', toStore: 2 });
  });
});

describe('bad input is answered, never applied', () => {
  test('TestBadHeartbeats3C', () => {
    const cluster = clusterWithStores(1);
    const good = region(1, '', '', 2, 2, [[1, 1]], 1);
    cluster.processRegionHeartbeat(good);
    // A store that was never registered.
    expect(() => cluster.handleStoreHeartbeat(schedulerpb.StoreStats({ storeId: 9 }))).toThrow(/store 9 is not registered/);
    expect(() => cluster.putStore(metapb.Store({ id: 0 }))).toThrow(BadHeartbeatError);
    // A region heartbeat without a region, or with no members.
    expect(() => cluster.handleRegionHeartbeat(schedulerpb.RegionHeartbeatRequest({}))).toThrow(/without a region/);
    expect(() =>
      cluster.handleRegionHeartbeat(schedulerpb.RegionHeartbeatRequest({ region: metapb.Region({ id: 1, regionEpoch: metapb.RegionEpoch({ version: 3, confVer: 3 }) }) })),
    ).toThrow(/no peers/);
    // An epoch going backwards.
    expect(() => cluster.processRegionHeartbeat(region(1, '', '', 1, 2, [[1, 1]], 1))).toThrow(StaleRegionError);
    expect(cluster.core.regions.all()).toEqual([good]);
    expect(cluster.getStore(1)!.regionCount).toBe(1);
    // An operator for a region the scheduler does not know is not started.
    const gone = region(7, 'x', 'y', 1, 1, [[70, 1]], 70);
    const op = createMovePeerOperator('test', gone, OpKind.Balance, 1, 2, 99, () => true);
    expect(cluster.operators.add(op)).toBe(false);
    expect(cluster.operators.status(7)).toBe('cancel');
    // Split ids only for a known region.
    expect(() => cluster.askSplit(gone.meta)).toThrow(/region 7 is not known/);
  });
});
