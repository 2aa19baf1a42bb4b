/**
 * Project 3C, balance-region (TinyKV's balance tests): from the store with the most region data, move a
 * region (a pending one first, then a follower, then a leader) to the smallest suitable store that does not
 * hold it, if the gap is worth it; never from or to a store that is offline or down, never a region short of
 * replicas.
 */
import { expect, test } from 'vitest';
import { OpKind, type Operator } from '@impl/scheduler/operator/operator.ts';
import { BalanceRegionScheduler } from '@impl/scheduler/schedulers/balance-region.ts';
import { MockCluster } from './mock-cluster.ts';

/** `op` moves a peer from `source` to `target`: add, (hand leadership away,) remove. */
function expectTransferPeer(op: Operator | undefined, source: number, target: number): void {
  expect(op, `a move from store ${source} to store ${target}`).toBeDefined();
  const steps = op!.steps;
  expect(steps[0]).toMatchObject({ kind: 'add-peer', toStore: target });
  if (steps.length === 3) {
    expect(steps[1]).toMatchObject({ kind: 'transfer-leader', fromStore: source });
    expect(op!.kind & OpKind.Leader).toBeTruthy();
  } else {
    expect(steps).toHaveLength(2);
  }
  expect(steps[steps.length - 1]).toEqual({ kind: 'remove-peer', fromStore: source });
  expect(op!.kind & (OpKind.Balance | OpKind.Region)).toBe(OpKind.Balance | OpKind.Region);
}

test('TestReplicas13C', () => {
  const tc = new MockCluster();
  const sb = new BalanceRegionScheduler();
  tc.setMaxReplicas(1);
  tc.addRegionStore(1, 6);
  tc.addRegionStore(2, 8);
  tc.addRegionStore(3, 8);
  tc.addRegionStore(4, 16);
  tc.addLeaderRegion(1, 4);
  const first = sb.schedule(tc);
  expectTransferPeer(first, 4, 1);
  expect(first!.steps).toHaveLength(3);

  // An offline store takes nothing.
  tc.setStoreOffline(1);
  tc.updateRegionCount(2, 6);
  const second = sb.schedule(tc);
  expectTransferPeer(second, 4, 2);
  expect(second!.steps).toHaveLength(3);

  // A region short of replicas is not moved.
  tc.setMaxReplicas(3);
  expect(sb.schedule(tc)).toBeUndefined();
  tc.setMaxReplicas(1);
  expect(sb.schedule(tc)).toBeDefined();
});

test('TestReplicas33C', () => {
  const tc = new MockCluster();
  const sb = new BalanceRegionScheduler();
  tc.addRegionStore(1, 16);
  tc.addRegionStore(2, 15);
  tc.addRegionStore(3, 14);
  tc.addLeaderRegion(1, 1, 2, 3);
  // Every other store holds the region already.
  expect(sb.schedule(tc)).toBeUndefined();

  tc.addRegionStore(4, 2);
  expectTransferPeer(sb.schedule(tc), 1, 4);
  tc.addRegionStore(5, 1);
  expectTransferPeer(sb.schedule(tc), 1, 5);
  tc.addRegionStore(6, 0);
  expectTransferPeer(sb.schedule(tc), 1, 6);
  // A down store takes nothing.
  tc.setStoreDown(6);
  expectTransferPeer(sb.schedule(tc), 1, 5);
  tc.setStoreDown(4);
  tc.setStoreDown(5);
  tc.addRegionStore(7, 20);
  expect(sb.schedule(tc)).toBeUndefined();
});

test('TestReplicas53C', () => {
  const tc = new MockCluster();
  const sb = new BalanceRegionScheduler();
  tc.setMaxReplicas(5);
  tc.addRegionStore(1, 4);
  tc.addRegionStore(2, 5);
  tc.addRegionStore(3, 6);
  tc.addRegionStore(4, 7);
  tc.addRegionStore(5, 28);
  tc.addLeaderRegion(1, 1, 2, 3, 4, 5);

  tc.addRegionStore(6, 1);
  const op = sb.schedule(tc);
  expectTransferPeer(op, 5, 6);
  expect(op!.steps).toHaveLength(2);
  tc.addRegionStore(7, 5);
  expectTransferPeer(sb.schedule(tc), 5, 6);

  tc.addLeaderRegion(1, 2, 3, 4, 5, 6);
  expectTransferPeer(sb.schedule(tc), 5, 1);

  tc.addRegionStore(11, 29);
  tc.addRegionStore(12, 8);
  tc.addRegionStore(13, 7);
  tc.addLeaderRegion(1, 2, 3, 11, 12, 13);
  expectTransferPeer(sb.schedule(tc), 11, 6);
});

test('TestReplacePendingRegion3C', () => {
  const tc = new MockCluster();
  const sb = new BalanceRegionScheduler();
  tc.addRegionStore(1, 16);
  tc.addRegionStore(2, 7);
  tc.addRegionStore(3, 15);
  tc.addRegionStore(4, 10);
  tc.addLeaderRegion(1, 1, 2, 3);
  tc.addLeaderRegion(2, 1, 2, 3);
  tc.addLeaderRegion(3, 2, 1, 3);
  const region3 = tc.getRegion(3)!;
  tc.putRegion(region3.with({ pendingPeers: [region3.peerOnStore(1)!] }));

  // The pending region goes first.
  expect(sb.schedule(tc)?.regionId).toBe(3);
  const op = sb.schedule(tc);
  expectTransferPeer(op, 1, 4);
  expect(op!.steps).toHaveLength(2);
});
