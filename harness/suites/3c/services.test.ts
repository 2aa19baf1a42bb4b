/**
 * Project 3C, the given parts around the student code, through heartbeats (so they need
 * processRegionHeartbeat): the operator controller (steps sent to the leader, success, timeout, cancel,
 * pruning), the replica checker and the in-process client the simulated stores use. Timestamps, ids and
 * bootstrap are tested with the kit (harness/suites/kit/scheduler-services.test.ts): they involve no student
 * code.
 */
import { describe, expect, test } from 'vitest';
import { eraftpb, metapb, schedulerpb } from '#proto';
import { BadHeartbeatError, SchedulerCluster } from '@impl/scheduler/cluster.ts';
import { ReplicaChecker } from '@impl/scheduler/checkers/replica-checker.ts';
import { LocalSchedulerClient } from '@impl/scheduler/local-client.ts';
import { createMovePeerOperator, LEADER_OPERATOR_TIMEOUT_MS, Operator, OpKind, REGION_OPERATOR_TIMEOUT_MS } from '@impl/scheduler/operator/operator.ts';
import { SeededRandom } from '@impl/util/prng.ts';

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

function heartbeat(region: metapb.Region, leaderPeerId: number, pending: number[] = []): schedulerpb.RegionHeartbeatRequest {
  return schedulerpb.RegionHeartbeatRequest({
    region,
    leader: region.peers.find((p) => p.id === leaderPeerId),
    pendingPeers: region.peers.filter((p) => pending.includes(p.id)),
    approximateSize: 1 << 20,
  });
}

/** A scheduler with stores 1..n, all heard from at `clock.now`, and every heartbeat response kept. */
function setup(n: number) {
  const clock = { now: 1_000_000 };
  const cluster = new SchedulerCluster(() => clock.now, new SeededRandom(5), { maxReplicas: 3, maxStoreDownTimeMs: 3_000 }, 100);
  const sent: schedulerpb.RegionHeartbeatResponse[] = [];
  for (let id = 1; id <= n; id++) {
    cluster.putStore(metapb.Store({ id, address: `store-${id}` }));
    cluster.handleStoreHeartbeat(schedulerpb.StoreStats({ storeId: id }));
    cluster.onRegionHeartbeatResponse(id, (resp) => sent.push(resp));
  }
  return { clock, cluster, sent };
}

describe('the operator controller', () => {
  test('TestMovePeerOperatorSteps3C', () => {
    const { cluster, sent } = setup(4);
    let region = regionMeta(1, '', '', 1, 1, [[1, 1], [2, 2], [3, 3]]);
    cluster.handleRegionHeartbeat(heartbeat(region, 1));
    const op = createMovePeerOperator('move', cluster.getRegion(1)!, OpKind.Balance, 1, 4, 50, () => true);
    expect(cluster.operators.add(op)).toBe(true);
    // First step at once, to the leader: add peer 50 on store 4.
    expect(sent.at(-1)).toMatchObject({ regionId: 1, targetPeer: { id: 1, storeId: 1 }, changePeer: { changeType: eraftpb.ConfChangeType.AddNode, peer: { id: 50, storeId: 4 } } });
    // Added but still catching up: nothing more is sent.
    region = regionMeta(1, '', '', 1, 2, [[1, 1], [2, 2], [3, 3], [50, 4]]);
    const count = sent.length;
    cluster.handleRegionHeartbeat(heartbeat(region, 1, [50]));
    expect(sent.length).toBe(count);
    // Caught up: the source leads, so leadership goes to a follower first.
    cluster.handleRegionHeartbeat(heartbeat(region, 1));
    expect(sent.at(-1)!.transferLeader?.peer?.storeId).toBe(2);
    cluster.handleRegionHeartbeat(heartbeat(region, 2));
    expect(sent.at(-1)).toMatchObject({ targetPeer: { id: 2, storeId: 2 }, changePeer: { changeType: eraftpb.ConfChangeType.RemoveNode, peer: { id: 1, storeId: 1 } } });
    region = regionMeta(1, '', '', 1, 3, [[2, 2], [3, 3], [50, 4]]);
    cluster.handleRegionHeartbeat(heartbeat(region, 2));
    expect(cluster.operators.status(1)).toBe('success');
    expect(cluster.operators.get(1)).toBeUndefined();
  });

  test('TestOperatorTimeout3C', () => {
    const { clock, cluster } = setup(4);
    const region = regionMeta(1, '', '', 1, 1, [[1, 1], [2, 2], [3, 3]]);
    cluster.handleRegionHeartbeat(heartbeat(region, 1));
    cluster.operators.add(createMovePeerOperator('move', cluster.getRegion(1)!, OpKind.Balance, 2, 4, 50, () => true));
    clock.now += REGION_OPERATOR_TIMEOUT_MS;
    cluster.handleRegionHeartbeat(heartbeat(region, 1));
    expect(cluster.operators.status(1)).toBe('running'); // not over the limit yet
    clock.now += 1;
    cluster.handleRegionHeartbeat(heartbeat(region, 1));
    expect(cluster.operators.status(1)).toBe('timeout');
    // A leader-only operator has 10 s; a region that stops reporting loses it to prune().
    const transfer = new Operator('transfer', 1, { version: 1, confVer: 1 }, OpKind.Leader, [{ kind: 'transfer-leader', fromStore: 1, toStore: 3 }]);
    expect(cluster.operators.add(transfer)).toBe(true);
    clock.now += LEADER_OPERATOR_TIMEOUT_MS + 1;
    cluster.operators.prune();
    expect(cluster.operators.status(1)).toBe('timeout');
  });

  test('TestOperatorCancelledByOtherChange3C', () => {
    const { cluster } = setup(5);
    cluster.handleRegionHeartbeat(heartbeat(regionMeta(1, '', '', 1, 1, [[1, 1], [2, 2], [3, 3]]), 1));
    cluster.operators.add(createMovePeerOperator('move', cluster.getRegion(1)!, OpKind.Balance, 2, 4, 50, () => true));
    // The membership changed, but not by this operator (a peer went to store 5): the plan is stale.
    cluster.handleRegionHeartbeat(heartbeat(regionMeta(1, '', '', 1, 2, [[1, 1], [2, 2], [3, 3], [60, 5]]), 1));
    expect(cluster.operators.status(1)).toBe('cancel');
    // Made for an epoch the region has left behind: refused at once.
    const old = createMovePeerOperator('old', cluster.getRegion(1)!.with({ meta: regionMeta(1, '', '', 1, 1, [[1, 1], [2, 2], [3, 3]]) }), OpKind.Balance, 2, 4, 51, () => true);
    expect(cluster.operators.add(old)).toBe(false);
    expect(cluster.operators.status(1)).toBe('cancel');
  });

  test('TestOperatorForRemovedRegion3C', () => {
    const { cluster, sent } = setup(4);
    cluster.handleRegionHeartbeat(heartbeat(regionMeta(1, 'a', 'm', 2, 1, [[1, 1], [2, 2], [3, 3]]), 1));
    cluster.operators.add(createMovePeerOperator('move', cluster.getRegion(1)!, OpKind.Balance, 2, 4, 50, () => true));
    // A newer region of another id covers its range: region 1 is gone, and so is its operator.
    cluster.handleRegionHeartbeat(heartbeat(regionMeta(7, 'a', 'z', 3, 1, [[11, 1], [12, 2], [13, 3]]), 11));
    expect(cluster.getRegion(1)).toBeUndefined();
    const count = sent.length;
    cluster.operators.prune();
    expect(cluster.operators.status(1)).toBe('cancel');
    expect(sent.length).toBe(count);
  });
});

describe('the replica checker', () => {
  test('TestReplicaCheckerRepairs3C', () => {
    const { clock, cluster } = setup(5);
    const checker = new ReplicaChecker();
    // Short of a member: one is added on the store with the fewest regions.
    cluster.handleRegionHeartbeat(heartbeat(regionMeta(1, '', 'k', 1, 1, [[1, 1], [2, 2]]), 1));
    cluster.handleRegionHeartbeat(heartbeat(regionMeta(2, 'k', '', 1, 1, [[3, 3], [4, 4], [5, 2]]), 3));
    expect(checker.check(cluster.getRegion(1)!, cluster)!.steps).toEqual([{ kind: 'add-peer', toStore: 5, peerId: expect.any(Number) }]);
    expect(checker.check(cluster.getRegion(2)!, cluster)).toBeUndefined();
    // Store 4 falls silent past maxStoreDownTimeMs: its member moves (added elsewhere first, then removed).
    clock.now += 3_001;
    for (const id of [1, 2, 3, 5]) cluster.handleStoreHeartbeat(schedulerpb.StoreStats({ storeId: id }));
    const steps = checker.check(cluster.getRegion(2)!, cluster)!.steps;
    expect(steps[0]).toMatchObject({ kind: 'add-peer', toStore: 5 }); // healthy, fewest regions, not holding it
    expect(steps.at(-1)).toEqual({ kind: 'remove-peer', fromStore: 4 });
    // With a member too many, the silent one is simply removed; with none silent, a follower of the fullest store.
    cluster.handleRegionHeartbeat(heartbeat(regionMeta(2, 'k', '', 1, 2, [[3, 3], [4, 4], [5, 2], [6, 1]]), 3));
    expect(checker.check(cluster.getRegion(2)!, cluster)!.steps).toEqual([{ kind: 'remove-peer', fromStore: 4 }]);
    cluster.handleRegionHeartbeat(heartbeat(regionMeta(2, 'k', '', 1, 3, [[3, 3], [5, 2], [6, 1], [7, 5]]), 3));
    expect(checker.check(cluster.getRegion(2)!, cluster)!.steps).toEqual([{ kind: 'remove-peer', fromStore: 2 }]);
    // A leader last seen on a silent store: wait for the new leader to report.
    cluster.handleRegionHeartbeat(heartbeat(regionMeta(3, 'a', 'b', 9, 1, [[20, 4], [21, 3]]), 20));
    expect(checker.check(cluster.getRegion(3)!, cluster)).toBeUndefined();
  });
});

describe('the in-process client', () => {
  test('TestLocalSchedulerClient3C', () => {
    const { cluster } = setup(3);
    cluster.bootstrap(metapb.Store({ id: 1 }), regionMeta(1, '', '', 1, 1, [[1, 1], [2, 2], [3, 3]]));
    const posted: (() => void)[] = [];
    const refused: string[] = [];
    const client = new LocalSchedulerClient(cluster, 1, { post: (_label, job) => posted.push(job), onRefused: (what, err) => refused.push(`${what}: ${err.message}`) });
    client.regionHeartbeat(heartbeat(regionMeta(1, '', '', 1, 1, [[1, 1], [2, 2], [3, 3]]), 1));
    expect(cluster.getRegion(1)?.leader?.id).toBe(1);
    // Stale: counted, not refused. From the wrong store, or stats of another store: refused.
    client.regionHeartbeat(heartbeat(regionMeta(1, '', '', 0, 1, [[1, 1], [2, 2], [3, 3]]), 1));
    expect(client.staleHeartbeats).toBe(1);
    client.regionHeartbeat(heartbeat(regionMeta(1, '', '', 1, 1, [[1, 1], [2, 2], [3, 3]]), 2));
    client.storeHeartbeat(schedulerpb.StoreHeartbeatRequest({ stats: schedulerpb.StoreStats({ storeId: 2 }) }));
    expect(refused).toEqual([expect.stringMatching(/^region heartbeat: .*led from store 2/), expect.stringMatching(/^store heartbeat: .*stats of store 2/)]);
    // Answers never run inline: they are posted to the store.
    const answers: unknown[] = [];
    client.askSplit(regionMeta(1, '', '', 1, 1, [[1, 1], [2, 2], [3, 3]]), (resp) => answers.push(resp));
    client.askSplit(regionMeta(99, '', '', 1, 1, [[1, 1]]), (resp) => answers.push(resp));
    expect(answers).toEqual([]);
    for (const job of posted.splice(0)) job();
    expect(answers[0]).toMatchObject({ newPeerIds: [expect.any(Number), expect.any(Number), expect.any(Number)] });
    expect(answers[1]).toBeInstanceOf(BadHeartbeatError);
  });
});
