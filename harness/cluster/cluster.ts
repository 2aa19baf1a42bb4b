/**
 * The test cluster (TinyKV's test_raftstore Cluster) on the deterministic simulation: the one object a
 * cluster test works with (see run-cluster-test.ts for how a test gets one).
 *
 * N stores, ids 1..N, each a simulation node running a Raftstore over real engines in a temporary directory
 * (removed at the end). The stores talk over a simulated network of RaftMessages (filters: partition,
 * isolate, random drops, by type/region/store) and to one in-process mock scheduler.
 *
 * Everything a test does through the cluster runs inside a client actor (the test body of runClusterTest is
 * one; GenericTest spawns more). The Cluster puts together parts that each have a file of their own:
 *   stores.ts            the stores' life cycle: engines, bootstrap, start, stop, restart
 *   regions.ts           what the scheduler knows of regions, polled as TinyKV's tests do
 *   client.ts            the retrying client: requests reach a region's leader (TinyKV's Request)
 *   kv-requests.ts       put, get, delete and scan through raft (TinyKV's MustPut, MustGet...)
 *   membership.ts        adding and removing peers, transferring leadership (3B)
 *   store-inspection.ts  looking into one store: its engine, its raft log, whether it leads
 */
import type { metapb, raft_cmdpb, errorpb } from '#proto';
import type { Raftstore, CommandResult } from '@impl/kv/raftstore/raftstore.ts';
import { testConfig, type RaftstoreConfig } from '@impl/kv/raftstore/config.ts';
import type { Engines } from '@impl/kv/raftstore/engines.ts';
import type { ColumnFamily } from '@impl/kv/storage/storage.ts';
import type { SeededRandom } from '@impl/util/prng.ts';
import {
  dropRandomly,
  isolate,
  partition,
  type Filter,
  type FilterHandle,
  type NetworkOptions,
  type Sim,
  type SimNetwork,
} from '../sim/index.ts';
import * as client from './client.ts';
import { ClusterUsageError } from './errors.ts';
import { ClusterInvariants, invariantsByDefault } from './invariant-checks.ts';
import * as kv from './kv-requests.ts';
import * as membership from './membership.ts';
import type { ClusterScheduler } from './cluster-scheduler.ts';
import { MockScheduler } from './mock-scheduler.ts';
import { ReferenceScheduler } from './reference-scheduler.ts';
import type { SchedulerOptions } from '@impl/scheduler/cluster.ts';
import { createRaftNetwork, type MessageCounts, type RaftMessage } from './raft-network.ts';
import * as regions from './regions.ts';
import * as inspection from './store-inspection.ts';
import { ClusterStores, defaultDisk } from './stores.ts';

export interface ClusterOptions {
  /** Number of stores (ids 1..stores). */
  stores: number;
  /** Changes to TinyKV's test configuration (testConfig()). */
  config?: Partial<RaftstoreConfig>;
  /** Latency and reordering of the network between stores (default: DEFAULT_NETWORK). */
  network?: Pick<NetworkOptions<RaftMessage>, 'minLatencyMs' | 'maxLatencyMs' | 'reorderProbability' | 'reorderExtraMs'>;
  /**
   * Deadline of one client request in virtual ms, when the caller gives none (default 30 000). TinyKV's
   * Request names 5 s, but retries at least 10 times, each through CallCommandOnLeader's own 5 s loop, so in
   * effect it waits far longer. Elections after a partition can need several rounds (the only candidate
   * that can win must time out first), so a short deadline would fail correct stores.
   */
  requestTimeoutMs?: number;
  /** Where the stores' temporary directories are made (default: the OS temp directory). */
  baseDir?: string;
  /** Where the stores' engines keep their bytes (default: SIM_DISK=level, else the simulation's disk). */
  disk?: 'memory' | 'level';
  /** Cluster id written into each store's ident (default 0, as TinyKV's tests). */
  clusterId?: number;
  /**
   * Check the invariants (invariant-checks.ts) after every event and on every engine write, failing the run
   * at the first violation (default: on, unless the environment sets SIM_CHECKS=off, to measure their cost).
   */
  invariants?: boolean;
  /**
   * Which scheduler the stores talk to: TinyKV's mock (default; the test sets operators) or the
   * implementation's own (stage 3C), whose replica checker and balance-region run every
   * coordinatorIntervalMs of virtual time.
   */
  scheduler?: 'mock' | { kind: 'reference'; options?: Partial<SchedulerOptions>; coordinatorIntervalMs?: number };
  /** Stores holding a peer of the first region (default: every store). */
  firstRegionOn?: number[];
  /** Stores left out of start(): each joins when the test calls joinStore (default: none). */
  joinLater?: number[];
}

/**
 * The network between stores by default: 10-30 ms one way, no extra reordering. Well below the heartbeat
 * interval (100 ms) and the election timeout (500-1000 ms), and slow enough that a client's operation takes
 * a few tens of virtual ms, which keeps GenericTest's load (and so its real running time) moderate.
 */
const DEFAULT_NETWORK = { minLatencyMs: 10, maxLatencyMs: 30 } as const;

export class Cluster {
  readonly sim: Sim;
  readonly count: number;
  readonly config: RaftstoreConfig;
  readonly scheduler: ClusterScheduler;
  readonly network: SimNetwork<RaftMessage>;
  /** Raft messages sent by the stores, by type (dropped ones included). */
  readonly messageCounts: MessageCounts = new Map();
  /** Random choices of the clients (which peer to try): a stream of its own, so they replay with the seed. */
  readonly random: SeededRandom;
  /** The invariant checks (ClusterOptions.invariants), undefined when they are off. */
  readonly invariants: ClusterInvariants | undefined;
  private readonly requestTimeoutMs: number;
  private readonly stores: ClusterStores;

  constructor(sim: Sim, options: ClusterOptions) {
    if (!Number.isInteger(options.stores) || options.stores < 1) {
      throw new ClusterUsageError(`a cluster needs a whole number of stores >= 1, got ${options.stores}`);
    }
    this.sim = sim;
    this.count = options.stores;
    this.config = { ...testConfig(), ...options.config };
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    const clusterId = options.clusterId ?? 0;
    const choice = options.scheduler ?? 'mock';
    this.scheduler =
      choice === 'mock'
        ? new MockScheduler({ clusterId, firstId: this.count + 1, note: (t) => sim.note(t) })
        : new ReferenceScheduler(sim, { clusterId, firstId: this.count + 1, scheduler: choice.options, coordinatorIntervalMs: choice.coordinatorIntervalMs });
    // The order of the forks of the seed's random stream below (network, then clients) is part of the replay.
    this.network = createRaftNetwork(sim, { ...DEFAULT_NETWORK, ...options.network }, this.messageCounts);
    this.random = sim.forkRandom(0xc105);
    this.invariants = (options.invariants ?? invariantsByDefault()) ? new ClusterInvariants(sim, (id) => this.runningStore(id)) : undefined;
    this.stores = new ClusterStores(sim, {
      count: this.count,
      clusterId,
      config: this.config,
      network: this.network,
      scheduler: this.scheduler,
      firstRegionOn: options.firstRegionOn,
      joinLater: options.joinLater,
      baseDir: options.baseDir,
      disk: options.disk ?? defaultDisk(),
      onEnginesOpened: this.invariants && ((id, engines) => this.invariants!.watchEngines(id, engines)),
    });
  }

  /** Deadline of one client request in virtual ms (ClusterOptions.requestTimeoutMs). */
  get requestDeadlineMs(): number {
    return this.requestTimeoutMs;
  }

  /** The temporary directory holding the stores' engines (undefined before start and after shutdown). */
  get directory(): string | undefined {
    return this.stores.directory;
  }

  /** 1..count. */
  storeIds(): number[] {
    return this.stores.storeIds();
  }

  /** Election timeout of the configuration, in virtual ms (TinyKV's tests wait in multiples of it). */
  get electionTimeoutMs(): number {
    return this.config.raftBaseTickIntervalMs * this.config.raftElectionTimeoutTicks;
  }

  // ---------------------------------------------------------------------------------------------------
  // Life cycle (stores.ts)

  /** Create, bootstrap and start every store. Call from a client actor. */
  async start(): Promise<void> {
    await this.stores.start();
  }

  /** Crash every store that is up (closing its engines) and delete the stores' directories. */
  async shutdown(): Promise<void> {
    this.scheduler.stop();
    await this.stores.shutdown();
  }

  /** Store `id` of ClusterOptions.joinLater joins: it registers with the scheduler and starts, empty. */
  async joinStore(id: number): Promise<void> {
    await this.stores.joinStore(id);
  }

  /** Stop store `id` the hard way: its pending work is lost, its engines closed (TinyKV's StopServer). */
  async stopStore(id: number): Promise<void> {
    await this.stores.stopStore(id);
  }

  /** Start store `id` again on its engines (TinyKV's StartServer). */
  async startStore(id: number): Promise<void> {
    await this.stores.startStore(id);
  }

  async restartStore(id: number): Promise<void> {
    await this.stopStore(id);
    await this.startStore(id);
  }

  isUp(id: number): boolean {
    return this.stores.isUp(id);
  }

  /** The running raftstore of store `id` (throws if the store is down). */
  raftstore(id: number): Raftstore {
    return this.stores.raftstore(id);
  }

  /** Store `id`'s raftstore while it is up and started; undefined while it is down or still starting. */
  runningStore(id: number): Raftstore | undefined {
    if (!Number.isInteger(id) || id < 1 || id > this.count || !this.isUp(id)) return undefined;
    try {
      return this.raftstore(id);
    } catch {
      return undefined;
    }
  }

  /** The open engines of store `id`, or undefined while it is down. */
  engines(id: number): Engines | undefined {
    return this.stores.engines(id);
  }

  // ---------------------------------------------------------------------------------------------------
  // Network

  /** Add a network filter (see harness/sim/filters.ts and ./raft-network.ts). */
  addFilter(filter: Filter<RaftMessage>): FilterHandle {
    return this.network.addFilter(filter);
  }

  /** Remove every filter (TinyKV's ClearFilters). */
  clearFilters(): void {
    this.network.clearFilters();
  }

  /** Cut the stores of `sideA` off from those of `sideB` (TinyKV's PartitionFilter). */
  partition(sideA: readonly number[], sideB: readonly number[]): FilterHandle {
    return this.addFilter(partition<RaftMessage>(sideA, sideB));
  }

  /** Cut store `id` off from every other store. */
  isolate(id: number): FilterHandle {
    this.stores.checkStore(id);
    return this.addFilter(isolate<RaftMessage>(id));
  }

  /** Drop requests and replies at random with these probabilities. */
  dropRandomly(requests: number, replies = requests): FilterHandle {
    return this.addFilter(dropRandomly<RaftMessage>({ requests, replies }));
  }

  // ---------------------------------------------------------------------------------------------------
  // The scheduler's view, what clients route by (regions.ts)

  /** The region holding `key`, polling the scheduler as TinyKV does (regions may be missing after a split). */
  async getRegion(key: Uint8Array): Promise<metapb.Region> {
    return (await regions.regionInfoForKey(this, key)).region;
  }

  /** The region with id `regionId` as the scheduler knows it, if it knows it. */
  regionById(regionId: number): metapb.Region | undefined {
    return this.scheduler.getRegionById(regionId)?.region;
  }

  /** The leader the scheduler knows for the region, polling up to 5 s as TinyKV does. */
  async leaderOfRegion(regionId: number): Promise<metapb.Peer | undefined> {
    return regions.leaderOfRegion(this, regionId);
  }

  /** Every region the scheduler knows, from the first key to the last (each once). */
  async regionsInKeyOrder(): Promise<metapb.Region[]> {
    return regions.regionsInKeyOrder(this);
  }

  // ---------------------------------------------------------------------------------------------------
  // Client requests (client.ts)

  /**
   * Send data requests for the region of `key` until one attempt succeeds (TinyKV's Request). Returns the
   * successful result; a Snap result carries a reader the caller must close. Throws RequestTimeoutError
   * once the deadline has passed and at least 10 attempts were made.
   */
  async request(key: Uint8Array, reqs: raft_cmdpb.Request[], timeoutMs = this.requestTimeoutMs, onUnsettled?: client.UnsettledAttempt): Promise<CommandResult> {
    return client.request(this, key, reqs, timeoutMs, onUnsettled);
  }

  /** Send an admin request to a region's leader, with the same retry rules. */
  async adminRequest(regionId: number, admin: raft_cmdpb.AdminRequest, timeoutMs = this.requestTimeoutMs): Promise<CommandResult> {
    return client.adminRequest(this, regionId, admin, timeoutMs);
  }

  /**
   * Send data requests to `region` as the caller knows it (its id and epoch) at its leader, following
   * NotLeader hints, for up to 5 virtual seconds (TinyKV's CallCommandOnLeader). Returns the region error
   * of the first answer that is not NotLeader, or undefined if it succeeded.
   */
  async callOnLeader(region: metapb.Region, reqs: raft_cmdpb.Request[]): Promise<errorpb.Error | undefined> {
    return client.callOnLeader(this, region, reqs);
  }

  /**
   * Hand `reqs` straight to store `storeId`'s raftstore for region `regionId`, as that store knows the region:
   * one proposal, no retries (unlike request). Returns the pending answer (wait for it with sim.waitFor).
   */
  sendToStore(storeId: number, regionId: number, reqs: raft_cmdpb.Request[]): Promise<CommandResult> {
    return client.sendToStore(this, storeId, regionId, reqs);
  }

  // ---------------------------------------------------------------------------------------------------
  // Key-value operations (kv-requests.ts)

  async mustPutCF(cf: ColumnFamily, key: Uint8Array, value: Uint8Array): Promise<void> {
    await kv.mustPutCF(this, cf, key, value);
  }

  /** `onUnsettled` hears of each attempt that may have taken effect without success (see client.ts). */
  async mustPut(key: Uint8Array, value: Uint8Array, onUnsettled?: client.UnsettledAttempt): Promise<void> {
    await kv.mustPutCF(this, 'default', key, value, onUnsettled);
  }

  /** The value of `key` in `cf` read through raft; empty when the key has none. */
  async getCF(cf: ColumnFamily, key: Uint8Array): Promise<Uint8Array> {
    return kv.getCF(this, cf, key);
  }

  async get(key: Uint8Array): Promise<Uint8Array> {
    return kv.getCF(this, 'default', key);
  }

  async mustGet(key: Uint8Array, value: Uint8Array): Promise<void> {
    await kv.mustGet(this, key, value);
  }

  /** The key must have no value (a Get through raft answers an empty value). */
  async mustGetNone(key: Uint8Array): Promise<void> {
    await kv.mustGetNone(this, key);
  }

  async mustDeleteCF(cf: ColumnFamily, key: Uint8Array): Promise<void> {
    await kv.mustDeleteCF(this, cf, key);
  }

  async mustDelete(key: Uint8Array, onUnsettled?: client.UnsettledAttempt): Promise<void> {
    await kv.mustDeleteCF(this, 'default', key, onUnsettled);
  }

  /** The values of the default family for keys in [start, end) (an empty end: to the last key). */
  async scan(start: Uint8Array, end: Uint8Array): Promise<Uint8Array[]> {
    return (await kv.scan(this, start, end)).map((pair) => pair.value);
  }

  /** The keys and values of the default family in [start, end). */
  async scanPairs(start: Uint8Array, end: Uint8Array): Promise<kv.KvPair[]> {
    return kv.scan(this, start, end);
  }

  // ---------------------------------------------------------------------------------------------------
  // Membership and leadership, 3B (membership.ts)

  /** A new peer on `storeId` with a fresh id (TinyKV's AllocPeer). */
  allocPeer(storeId: number): metapb.Peer {
    this.stores.checkStore(storeId);
    return membership.allocPeer(this, storeId);
  }

  /** Ask the region's leader to hand leadership to `peer` (an admin TransferLeader command). */
  async transferLeader(regionId: number, peer: metapb.Peer): Promise<void> {
    await membership.transferLeader(this, regionId, peer);
  }

  /** Transfer leadership until the scheduler reports `peer` as leader, within 5 virtual seconds. */
  async mustTransferLeader(regionId: number, peer: metapb.Peer): Promise<void> {
    await membership.mustTransferLeader(this, regionId, peer);
  }

  /** Schedule adding `peer` and wait until the scheduler's region has it (default: up to 5 virtual s). */
  async mustAddPeer(regionId: number, peer: metapb.Peer, timeoutMs?: number): Promise<void> {
    await membership.mustAddPeer(this, regionId, peer, timeoutMs);
  }

  /** Schedule removing `peer` and wait until the scheduler's region no longer has it (timeout as mustAddPeer). */
  async mustRemovePeer(regionId: number, peer: metapb.Peer, timeoutMs?: number): Promise<void> {
    await membership.mustRemovePeer(this, regionId, peer, timeoutMs);
  }

  async mustHavePeer(regionId: number, peer: metapb.Peer, timeoutMs?: number): Promise<void> {
    await membership.mustHavePeer(this, regionId, peer, timeoutMs);
  }

  async mustNonePeer(regionId: number, peer: metapb.Peer, timeoutMs?: number): Promise<void> {
    await membership.mustNonePeer(this, regionId, peer, timeoutMs);
  }

  // ---------------------------------------------------------------------------------------------------
  // Looking into a store (store-inspection.ts)

  /** Read `key` of `cf` straight from store `id`'s kv engine; undefined when absent or the store is down. */
  async engineGetCF(id: number, cf: ColumnFamily, key: Uint8Array): Promise<Uint8Array | undefined> {
    return inspection.engineGetCF(this, id, cf, key);
  }

  /** Poll store `id`'s engine until `key` of `cf` holds `value` (up to 6 virtual seconds, as TinyKV). */
  async mustGetCfEqual(id: number, cf: ColumnFamily, key: Uint8Array, value: Uint8Array): Promise<void> {
    await inspection.mustGetCfEqual(this, id, cf, key, value);
  }

  async mustGetEqual(id: number, key: Uint8Array, value: Uint8Array): Promise<void> {
    await inspection.mustGetCfEqual(this, id, 'default', key, value);
  }

  /** Poll store `id`'s engine until `key` of `cf` is absent (up to 6 virtual seconds). */
  async mustGetCfNone(id: number, cf: ColumnFamily, key: Uint8Array): Promise<void> {
    await inspection.mustGetCfNone(this, id, cf, key);
  }

  async mustGetNoneOnStore(id: number, key: Uint8Array): Promise<void> {
    await inspection.mustGetCfNone(this, id, 'default', key);
  }

  /** Applied and truncated index of region `regionId` on store `id` (undefined: down, or no such peer). */
  applyState(id: number, regionId: number): inspection.ApplyStateView | undefined {
    return inspection.applyState(this, id, regionId);
  }

  /** Entries kept in the raft log of region `regionId` on store `id`: applied index - truncated index. */
  raftLogSize(id: number, regionId: number): number | undefined {
    return inspection.raftLogSize(this, id, regionId);
  }

  /**
   * The store whose peer of region `regionId` leads at the highest term, among `among` (default: every
   * store), as the stores themselves see it rather than the scheduler.
   */
  leaderStore(regionId: number, among: readonly number[] = this.storeIds()): number | undefined {
    return inspection.leaderStore(this, regionId, among);
  }

  /** Wait until a store among `among` leads region `regionId` (see leaderStore), for up to `timeoutMs` virtual ms. */
  async waitForLeaderStore(regionId: number, among: readonly number[] = this.storeIds(), timeoutMs = 10_000): Promise<number> {
    return inspection.waitForLeaderStore(this, regionId, among, timeoutMs);
  }
}
