/**
 * The mock scheduler (TinyKV's MockSchedulerClient): the cluster's placement driver, in process.
 *
 * What it does for the stores, through one SchedulerClient per store incarnation:
 *   - keeps the region map from the leaders' region heartbeats. A heartbeat is ignored when its epoch is
 *     older than what is known for that region in version OR conf_ver (both are compared), or when it
 *     overlaps a region of another id with a version at least as new. Otherwise it replaces the known
 *     region and every region it overlaps (after a split the first half to report pushes out the old,
 *     wider range; the gap closes when the other half reports);
 *   - remembers the leader and the pending peers each heartbeat names;
 *   - carries operators (add peer, remove peer, transfer leader; used by 3B) in heartbeat responses to the
 *     region's leader until the region shows the step done;
 *   - allocates ids and answers askSplit.
 * Replies reach a store through its runtime.post, so they run as jobs of that store's actor, never inline.
 *
 * What it does for the test: region lookup by key or id, the leader of a region, id allocation, operators.
 */
import { metapb, schedulerpb, eraftpb } from '#proto';
import type { Runtime } from '@impl/runtime/runtime.ts';
import type { SchedulerClient } from '@impl/kv/raftstore/scheduler-client.ts';
import type { RandomSource } from '@impl/util/prng.ts';
import { BadSchedulerRequestError, ClusterUsageError, SchedulerRefusedError } from './errors.ts';
import { cloneEpoch, clonePeer, cloneRegion, isEpochStale, keyInRegion, rangesOverlap } from '@impl/kv/raftstore/region-util.ts';
import { compareBytes } from '@impl/util/bytes.ts';
import { showRegion } from './keys.ts';
import type { ClusterScheduler, RegionInfo } from './cluster-scheduler.ts';

export type { RegionInfo } from './cluster-scheduler.ts';

/** A step the scheduler wants a region's leader to take. */
export type Operator =
  | { type: 'addPeer'; peer: metapb.Peer; /** the peer is in the region; waiting for it to catch up */ pending: boolean }
  | { type: 'removePeer'; peer: metapb.Peer }
  | { type: 'transferLeader'; peer: metapb.Peer };

export interface MockSchedulerOptions {
  /** The cluster id (TinyKV's tests use 0). */
  clusterId?: number;
  /** The first id allocId hands out (TinyKV: number of stores + 1, above the bootstrap peer ids). */
  firstId: number;
  /** Where to write notable events (region changes, operator steps); usually sim.note. */
  note?: (text: string) => void;
}

/** Counters for tests of the scheduler and for reports. */
export interface MockSchedulerStats {
  regionHeartbeats: number;
  staleHeartbeats: number;
  storeHeartbeats: number;
  askSplits: number;
  operatorSteps: number;
}

export class MockScheduler implements ClusterScheduler {
  readonly clusterId: number;
  readonly stats: MockSchedulerStats = {
    regionHeartbeats: 0,
    staleHeartbeats: 0,
    storeHeartbeats: 0,
    askSplits: 0,
    operatorSteps: 0,
  };
  private nextId: number;
  private bootstrapped = false;
  private readonly stores = new Map<number, metapb.Store>();
  /** Known regions, sorted by start key, ranges disjoint. */
  private regions: metapb.Region[] = [];
  private readonly leaders = new Map<number, metapb.Peer>();
  /** Peers a leader reported as not yet caught up, by peer id. */
  private readonly pendingPeers = new Map<number, metapb.Peer>();
  private readonly operators = new Map<number, Operator>();
  private readonly storeStats = new Map<number, schedulerpb.StoreStats>();
  private readonly note: (text: string) => void;

  constructor(options: MockSchedulerOptions) {
    this.clusterId = options.clusterId ?? 0;
    this.nextId = options.firstId;
    this.note = options.note ?? (() => undefined);
  }

  // ---------------------------------------------------------------------------------------------------
  // Cluster setup

  /** A fresh unique id (regions, peers). */
  allocId(): number {
    return this.nextId++;
  }

  /** Record the cluster's first region and its stores. Can be done once. */
  bootstrap(firstRegion: metapb.Region, stores: readonly metapb.Store[]): void {
    if (this.bootstrapped) throw new ClusterUsageError('the cluster is already bootstrapped');
    this.bootstrapped = true;
    for (const store of stores) this.putStore(store);
    this.insertRegion(cloneRegion(firstRegion));
  }

  isBootstrapped(): boolean {
    return this.bootstrapped;
  }

  putStore(store: metapb.Store): void {
    this.stores.set(store.id, metapb.Store({ ...store }));
  }

  storeIds(): number[] {
    return [...this.stores.keys()].sort((a, b) => a - b);
  }

  /** The latest stats a store reported in its store heartbeat. */
  storeStatsOf(storeId: number): schedulerpb.StoreStats | undefined {
    return this.storeStats.get(storeId);
  }

  /**
   * The SchedulerClient for one incarnation of store `storeId`, whose replies run as jobs on `runtime`.
   * A restarted store gets a new client; the old one's replies go to its dead runtime, which drops them.
   */
  clientFor(storeId: number, runtime: Runtime): SchedulerClient {
    if (!this.stores.has(storeId)) throw new ClusterUsageError(`store ${storeId} is not registered with the scheduler`);
    return new MockSchedulerClient(this, storeId, runtime);
  }

  // ---------------------------------------------------------------------------------------------------
  // Queries (for the test cluster and the tests)

  /** The region whose range holds `key`, with its last known leader (copies). */
  getRegion(key: Uint8Array): RegionInfo | undefined {
    const region = this.findRegion(key);
    if (region === undefined) return undefined;
    return { region: cloneRegion(region), leader: this.leaderOf(region.id) };
  }

  getRegionById(regionId: number): RegionInfo | undefined {
    const region = this.regions.find((r) => r.id === regionId);
    if (region === undefined) return undefined;
    return { region: cloneRegion(region), leader: this.leaderOf(regionId) };
  }

  leaderOf(regionId: number): metapb.Peer | undefined {
    const leader = this.leaders.get(regionId);
    return leader === undefined ? undefined : clonePeer(leader);
  }

  /** Every known region in key order (copies). */
  allRegions(): metapb.Region[] {
    return this.regions.map(cloneRegion);
  }

  /** A region chosen at random among those with a known leader (TinyKV's getRandomRegion). */
  randomRegion(random: RandomSource): metapb.Region | undefined {
    const candidates = this.regions.filter((r) => this.leaders.has(r.id));
    if (candidates.length === 0) return undefined;
    return cloneRegion(candidates[random.nextInt(candidates.length)]!);
  }

  /** True while a leader reports peer `peerId` as not caught up. */
  isPending(peerId: number): boolean {
    return this.pendingPeers.has(peerId);
  }

  // ---------------------------------------------------------------------------------------------------
  // Operators (3B)

  /** Ask the region's leader to add `peer`; replaces any operator the region had. */
  addPeer(regionId: number, peer: metapb.Peer): void {
    this.setOperator(regionId, { type: 'addPeer', peer: clonePeer(peer), pending: false });
  }

  removePeer(regionId: number, peer: metapb.Peer): void {
    this.setOperator(regionId, { type: 'removePeer', peer: clonePeer(peer) });
  }

  transferLeader(regionId: number, peer: metapb.Peer): void {
    this.setOperator(regionId, { type: 'transferLeader', peer: clonePeer(peer) });
  }

  /** The region's unfinished operator, if any. */
  operatorOf(regionId: number): Operator | undefined {
    return this.operators.get(regionId);
  }

  describeOperator(regionId: number): string | undefined {
    const op = this.operators.get(regionId);
    return op === undefined ? undefined : describeOperator(op);
  }

  stop(): void {
    // nothing runs in the background
  }

  private setOperator(regionId: number, op: Operator): void {
    this.operators.set(regionId, op);
    this.note(`scheduler: operator for region ${regionId}: ${describeOperator(op)}`);
  }

  // ---------------------------------------------------------------------------------------------------
  // Requests from stores (through MockSchedulerClient)

  /** @internal A region heartbeat; returns the response to send back, if there is an operator step in it. */
  handleRegionHeartbeat(fromStore: number, req: schedulerpb.RegionHeartbeatRequest): schedulerpb.RegionHeartbeatResponse | undefined {
    this.stats.regionHeartbeats++;
    const region = req.region;
    const leader = req.leader;
    if (region === undefined) throw new BadSchedulerRequestError('region heartbeat', `store ${fromStore} sent no region`);
    if (leader === undefined) throw new BadSchedulerRequestError('region heartbeat', `store ${fromStore} sent no leader for region ${region.id}`);
    if (leader.storeId !== fromStore) {
      throw new BadSchedulerRequestError('region heartbeat', `store ${fromStore} names a leader on store ${leader.storeId} (region ${region.id})`);
    }
    if (region.regionEpoch === undefined) throw new BadSchedulerRequestError('region heartbeat', `region ${region.id} has no epoch`);
    if (region.endKey.length > 0 && compareBytes(region.startKey, region.endKey) >= 0) {
      throw new BadSchedulerRequestError('region heartbeat', `${showRegion(region)}: start key is not below end key`);
    }

    if (!this.acceptRegion(region)) {
      this.stats.staleHeartbeats++;
      return undefined;
    }
    this.leaders.set(region.id, clonePeer(leader));
    for (const p of region.peers) this.pendingPeers.delete(p.id);
    for (const p of req.pendingPeers) this.pendingPeers.set(p.id, clonePeer(p));

    const op = this.operators.get(region.id);
    if (op === undefined) return undefined;
    if (this.operatorFinished(op, region, leader)) {
      this.operators.delete(region.id);
      this.note(`scheduler: operator for region ${region.id} done: ${describeOperator(op)}`);
      return undefined;
    }
    const resp = schedulerpb.RegionHeartbeatResponse({
      header: schedulerpb.ResponseHeader({ clusterId: this.clusterId }),
      regionId: region.id,
      regionEpoch: metapb.RegionEpoch({ ...region.regionEpoch }),
      targetPeer: clonePeer(leader),
    });
    switch (op.type) {
      case 'addPeer':
        if (op.pending) return undefined; // already added; waiting for it to catch up
        resp.changePeer = schedulerpb.ChangePeer({ changeType: eraftpb.ConfChangeType.AddNode, peer: clonePeer(op.peer) });
        break;
      case 'removePeer':
        resp.changePeer = schedulerpb.ChangePeer({ changeType: eraftpb.ConfChangeType.RemoveNode, peer: clonePeer(op.peer) });
        break;
      case 'transferLeader':
        resp.transferLeader = schedulerpb.TransferLeader({ peer: clonePeer(op.peer) });
        break;
    }
    this.stats.operatorSteps++;
    return resp;
  }

  /** @internal */
  handleStoreHeartbeat(fromStore: number, req: schedulerpb.StoreHeartbeatRequest): void {
    this.stats.storeHeartbeats++;
    if (req.stats !== undefined) this.storeStats.set(fromStore, schedulerpb.StoreStats({ ...req.stats }));
  }

  /** @internal New ids for splitting `region`, or the reason the split is refused. */
  handleAskSplit(region: metapb.Region): schedulerpb.AskSplitResponse | Error {
    this.stats.askSplits++;
    const known = this.regions.find((r) => r.id === region.id);
    if (known === undefined) return new SchedulerRefusedError(`askSplit: region ${region.id} is not known to the scheduler`);
    if (isEpochStale(region.regionEpoch, known.regionEpoch)) {
      return new SchedulerRefusedError(`askSplit: the epoch of ${showRegion(region)} is stale (known: ${showRegion(known)})`);
    }
    const newRegionId = this.allocId();
    const newPeerIds = region.peers.map(() => this.allocId());
    return schedulerpb.AskSplitResponse({
      header: schedulerpb.ResponseHeader({ clusterId: this.clusterId }),
      newRegionId,
      newPeerIds,
    });
  }

  // ---------------------------------------------------------------------------------------------------
  // Region bookkeeping

  /** Take `reported` into the region map unless it is stale; true if it was taken. */
  private acceptRegion(reported: metapb.Region): boolean {
    const epoch = cloneEpoch(reported.regionEpoch);
    const known = this.regions.find((r) => r.id === reported.id);
    if (known !== undefined && isEpochStale(epoch, known.regionEpoch)) return false;
    const overlapping = this.regions.filter((r) => r.id !== reported.id && rangesOverlap(r, reported));
    // A region of another id over the same keys: the newer split wins. Equal versions mean the other one
    // has the newer news (it came from the same split or a later one), so the report is stale.
    if (overlapping.some((r) => cloneEpoch(r.regionEpoch).version >= epoch.version)) return false;
    const changed = known === undefined || !sameRegion(known, reported);
    if (!changed && overlapping.length === 0) return true;
    for (const r of overlapping) {
      this.leaders.delete(r.id);
      this.note(`scheduler: ${showRegion(r)} replaced by the newer ${showRegion(reported)}`);
    }
    this.regions = this.regions.filter((r) => r.id !== reported.id && !overlapping.includes(r));
    this.insertRegion(cloneRegion(reported));
    this.note(`scheduler: ${showRegion(reported)}`);
    return true;
  }

  private insertRegion(region: metapb.Region): void {
    let at = 0;
    while (at < this.regions.length && compareBytes(this.regions[at]!.startKey, region.startKey) < 0) at++;
    this.regions.splice(at, 0, region);
  }

  private findRegion(key: Uint8Array): metapb.Region | undefined {
    for (const r of this.regions) {
      if (keyInRegion(key, r)) return r;
      if (compareBytes(r.startKey, key) > 0) return undefined;
    }
    return undefined;
  }

  private operatorFinished(op: Operator, region: metapb.Region, leader: metapb.Peer): boolean {
    switch (op.type) {
      case 'addPeer': {
        if (!op.pending) {
          // The step is done once the peer is in the region; then wait for it to stop being pending.
          if (region.peers.some((p) => p.id === op.peer.id)) op.pending = true;
          return false;
        }
        return !this.pendingPeers.has(op.peer.id);
      }
      case 'removePeer':
        return !region.peers.some((p) => p.id === op.peer.id);
      case 'transferLeader':
        return leader.id === op.peer.id;
    }
  }
}

/** The per-store face of the mock scheduler: what the raftstore calls. */
class MockSchedulerClient implements SchedulerClient {
  private heartbeatResponseHandler: ((resp: schedulerpb.RegionHeartbeatResponse) => void) | undefined;

  constructor(
    private readonly scheduler: MockScheduler,
    private readonly storeId: number,
    private readonly runtime: Runtime,
  ) {}

  regionHeartbeat(req: schedulerpb.RegionHeartbeatRequest): void {
    const resp = this.scheduler.handleRegionHeartbeat(this.storeId, req);
    if (resp === undefined) return;
    const handler = this.heartbeatResponseHandler;
    if (handler === undefined) return;
    this.runtime.post('scheduler: region heartbeat response', () => handler(resp));
  }

  storeHeartbeat(req: schedulerpb.StoreHeartbeatRequest): void {
    this.scheduler.handleStoreHeartbeat(this.storeId, req);
  }

  onRegionHeartbeatResponse(handler: (resp: schedulerpb.RegionHeartbeatResponse) => void): void {
    this.heartbeatResponseHandler = handler;
  }

  askSplit(region: metapb.Region, reply: (resp: schedulerpb.AskSplitResponse | Error) => void): void {
    const answer = this.scheduler.handleAskSplit(region);
    this.runtime.post('scheduler: askSplit reply', () => reply(answer));
  }
}

function sameRegion(a: metapb.Region, b: metapb.Region): boolean {
  const ea = cloneEpoch(a.regionEpoch);
  const eb = cloneEpoch(b.regionEpoch);
  return (
    ea.version === eb.version &&
    ea.confVer === eb.confVer &&
    compareBytes(a.startKey, b.startKey) === 0 &&
    compareBytes(a.endKey, b.endKey) === 0 &&
    a.peers.length === b.peers.length &&
    a.peers.every((p, i) => p.id === b.peers[i]!.id && p.storeId === b.peers[i]!.storeId)
  );
}

function describeOperator(op: Operator): string {
  const peer = `${op.peer.id}@${op.peer.storeId}`;
  switch (op.type) {
    case 'addPeer':
      return `add peer ${peer}`;
    case 'removePeer':
      return `remove peer ${peer}`;
    case 'transferLeader':
      return `transfer leader to ${peer}`;
  }
}

