/**
 * The test cluster (TinyKV's test_raftstore Cluster) on the deterministic simulation.
 *
 *   await runClusterTest({ stores: 5 }, async (cluster) => {
 *     await cluster.mustPut(bytes('k1'), bytes('v1'));
 *     cluster.partition([1, 2, 3], [4, 5]);
 *     await cluster.mustGet(bytes('k1'), bytes('v1'));
 *   }, { maxVirtualMs: 60_000 });
 *
 * N stores, ids 1..N, each a simulation node running a Raftstore over real engines in a temporary directory
 * (removed at the end). The stores talk over a simulated network of RaftMessages (filters: partition,
 * isolate, random drops, by type/region/store) and to one in-process mock scheduler.
 *
 * Everything a test does through the cluster runs inside a client actor (the test body of runClusterTest is
 * one; GenericTest spawns more): a request goes to a store's Raftstore.sendCommand and the client waits for
 * the answer in virtual time (sim.waitFor). Requests follow TinyKV's retry rules: find the key's region at
 * the scheduler, send to the believed leader, follow NotLeader hints or try another store, and retry
 * StaleCommand / EpochNotMatch / RegionNotFound / timeouts after a short virtual sleep, until a virtual
 * deadline.
 *
 * Crash and restart: stopStore crashes the store's node (sim.crash: its pending work is lost, then the kill
 * hook closes its engines); startStore reopens the engines and calls Raftstore.start again.
 */
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { metapb, raft_cmdpb, type errorpb } from '#proto';
import { Raftstore, type CommandResult } from '@impl/kv/raftstore/raftstore.ts';
import { testConfig, type RaftstoreConfig } from '@impl/kv/raftstore/config.ts';
import { closeEngines, openEngines, type Engines } from '@impl/kv/raftstore/engines.ts';
import { bootstrapStore, prepareBootstrapRegion } from '@impl/kv/raftstore/bootstrap.ts';
import type { ColumnFamily, StorageReader } from '@impl/kv/storage/storage.ts';
import type { SeededRandom } from '../../reference/util/prng.ts';
import {
  WaitTimeoutError,
  dropRandomly,
  isolate,
  partition,
  runSimTest,
  type Filter,
  type FilterHandle,
  type NetworkOptions,
  type Sim,
  type SimNetwork,
  type SimNodeRuntime,
  type SimTestOptions,
  type SimTestResult,
} from '../sim/index.ts';
import { ClusterCheckError, ClusterUsageError, NoRegionError, RequestTimeoutError } from './errors.ts';
import { bytesEqual, compareBytes, exceedsEnd, findPeer, samePeer, showKey, showRegion } from './keys.ts';
import { MockScheduler, type RegionInfo } from './mock-scheduler.ts';
import { createRaftNetwork, type MessageCounts, type RaftMessage } from './raft-network.ts';

const { CmdType, AdminCmdType } = raft_cmdpb;

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
  /** Cluster id written into each store's ident (default 0, as TinyKV's tests). */
  clusterId?: number;
}

/** What a running store node is: its raftstore and the engines it was started on. */
export interface StoreInstance {
  raftstore: Raftstore;
  engines: Engines;
}

/** The raft log of a region on a store, as the raftstore reports it. */
export interface ApplyStateView {
  appliedIndex: number;
  truncatedIndex: number;
  truncatedTerm: number;
}

/**
 * The network between stores by default: 10-30 ms one way, no extra reordering. Well below the heartbeat
 * interval (100 ms) and the election timeout (500-1000 ms), and slow enough that a client's operation takes
 * a few tens of virtual ms, which keeps GenericTest's load (and so its real running time) moderate.
 */
export const DEFAULT_NETWORK = { minLatencyMs: 10, maxLatencyMs: 30 } as const;

/** A request is retried at least this many times before its deadline can end it (as TinyKV's Request). */
const MIN_ATTEMPTS = 10;
/** How long one attempt waits for a store's answer (TinyKV: 1 s). */
const ATTEMPT_TIMEOUT_MS = 1000;
/**
 * Virtual time a client's request takes to reach a store and its answer to come back, on top of the store's
 * own work: between CLIENT_HOP_MIN_MS and CLIENT_HOP_MAX_MS (seeded). Without it a region with one member
 * would answer in zero virtual time, and a client could loop without virtual time ever moving on.
 */
const CLIENT_HOP_MIN_MS = 2;
const CLIENT_HOP_MAX_MS = 6;
/** Consecutive NotLeader hints followed without a pause, before the client sleeps a little. */
const FREE_HOPS = 3;
/** Polling of the scheduler and of engines, in TinyKV's counts and intervals. */
const REGION_WAIT_MS = 10_000;
const REGION_POLL_MS = 20;
const LEADER_POLLS = 500;
const LEADER_POLL_MS = 10;
/** How long a membership change may take by default (TinyKV: 500 polls 10 ms apart). */
const MEMBERSHIP_WAIT_MS = 5000;
const ENGINE_POLLS = 300;
const ENGINE_POLL_MS = 20;

/** One attempt's outcome. */
type CallOutcome =
  | { kind: 'answered'; result: CommandResult }
  | { kind: 'timeout' }
  | { kind: 'down' };

export class Cluster {
  readonly sim: Sim;
  readonly count: number;
  readonly config: RaftstoreConfig;
  readonly scheduler: MockScheduler;
  readonly network: SimNetwork<RaftMessage>;
  /** Raft messages sent by the stores, by type (dropped ones included). */
  readonly messageCounts: MessageCounts = new Map();
  /** Random choices of the clients (which peer to try): a stream of its own, so they replay with the seed. */
  readonly random: SeededRandom;
  private readonly requestTimeoutMs: number;
  private readonly clusterId: number;
  private readonly baseDirOption: string | undefined;
  private dir: string | undefined;
  private readonly liveEngines = new Map<number, Engines>();
  private started = false;

  constructor(sim: Sim, options: ClusterOptions) {
    if (!Number.isInteger(options.stores) || options.stores < 1) {
      throw new ClusterUsageError(`a cluster needs a whole number of stores >= 1, got ${options.stores}`);
    }
    this.sim = sim;
    this.count = options.stores;
    this.config = { ...testConfig(), ...options.config };
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.clusterId = options.clusterId ?? 0;
    this.baseDirOption = options.baseDir;
    this.scheduler = new MockScheduler({ clusterId: this.clusterId, firstId: this.count + 1, note: (t) => sim.note(t) });
    this.network = createRaftNetwork(sim, { ...DEFAULT_NETWORK, ...options.network }, this.messageCounts);
    this.random = sim.forkRandom(0xc105);
    for (const id of this.storeIds()) {
      sim.addNode<StoreInstance>(id, {
        start: (rt) => this.startInstance(id, rt),
        kill: (instance) => this.killInstance(id, instance),
      });
    }
  }

  /** Deadline of one client request in virtual ms (ClusterOptions.requestTimeoutMs). */
  get requestDeadlineMs(): number {
    return this.requestTimeoutMs;
  }

  /** The temporary directory holding the stores' engines (undefined before start and after shutdown). */
  get directory(): string | undefined {
    return this.dir;
  }

  /** 1..count. */
  storeIds(): number[] {
    return Array.from({ length: this.count }, (_, i) => i + 1);
  }

  /** Election timeout of the configuration, in virtual ms (TinyKV's tests wait in multiples of it). */
  get electionTimeoutMs(): number {
    return this.config.raftBaseTickIntervalMs * this.config.raftElectionTimeoutTicks;
  }

  // ---------------------------------------------------------------------------------------------------
  // Life cycle

  /**
   * Create the stores' engines, bootstrap them (store idents; the first region, id 1 over every key with
   * peer i on store i; the scheduler's record of it), then start every store. Call from a client actor.
   */
  async start(): Promise<void> {
    if (this.started) throw new ClusterUsageError('the cluster is already started');
    this.started = true;
    const base = this.baseDirOption ?? tmpdir();
    await mkdir(base, { recursive: true });
    this.dir = await mkdtemp(join(base, 'tinykv-ts-cluster-'));
    const region = metapb.Region({
      id: 1,
      startKey: new Uint8Array(0),
      endKey: new Uint8Array(0),
      regionEpoch: metapb.RegionEpoch({ version: 1, confVer: 1 }),
      peers: this.storeIds().map((id) => metapb.Peer({ id, storeId: id })),
    });
    for (const id of this.storeIds()) {
      const engines = await openEngines(this.storeDir(id));
      try {
        await bootstrapStore(engines, this.clusterId, id);
        await prepareBootstrapRegion(engines, region);
      } finally {
        await closeEngines(engines);
      }
    }
    this.scheduler.bootstrap(
      region,
      this.storeIds().map((id) => metapb.Store({ id, address: `store-${id}` })),
    );
    for (const id of this.storeIds()) await this.sim.startNode(id);
  }

  /** Crash every store that is up (closing its engines) and delete the stores' directories. */
  async shutdown(): Promise<void> {
    for (const id of this.storeIds()) {
      if (this.sim.isUp(id)) await this.sim.crash(id);
    }
    if (this.dir !== undefined) {
      await rm(this.dir, { recursive: true, force: true });
      this.dir = undefined;
    }
  }

  /** Stop store `id` the hard way: its pending work is lost, its engines closed (TinyKV's StopServer). */
  async stopStore(id: number): Promise<void> {
    this.checkStore(id);
    await this.sim.crash(id);
  }

  /** Start store `id` again on its engines (TinyKV's StartServer). */
  async startStore(id: number): Promise<void> {
    this.checkStore(id);
    if (this.sim.isUp(id)) throw new ClusterUsageError(`store ${id} is already up`);
    await this.sim.startNode(id);
  }

  async restartStore(id: number): Promise<void> {
    await this.stopStore(id);
    await this.startStore(id);
  }

  isUp(id: number): boolean {
    this.checkStore(id);
    return this.sim.isUp(id);
  }

  /** The running raftstore of store `id` (throws if the store is down). */
  raftstore(id: number): Raftstore {
    this.checkStore(id);
    if (!this.sim.isUp(id)) throw new ClusterUsageError(`store ${id} is down`);
    return this.sim.instance<StoreInstance>(id).raftstore;
  }

  /** The open engines of store `id`, or undefined while it is down. */
  engines(id: number): Engines | undefined {
    this.checkStore(id);
    return this.liveEngines.get(id);
  }

  private storeDir(id: number): string {
    if (this.dir === undefined) throw new ClusterUsageError('the cluster is not started');
    return join(this.dir, `store-${id}`);
  }

  private async startInstance(id: number, rt: SimNodeRuntime): Promise<StoreInstance> {
    const engines = await openEngines(this.storeDir(id));
    try {
      const raftstore = await Raftstore.start({
        storeId: id,
        runtime: rt,
        transport: this.network.transport(rt),
        engines,
        scheduler: this.scheduler.clientFor(id, rt),
        config: this.config,
      });
      this.liveEngines.set(id, engines);
      return { raftstore, engines };
    } catch (err) {
      await closeEngines(engines);
      throw err;
    }
  }

  private async killInstance(id: number, instance: StoreInstance | undefined): Promise<void> {
    this.liveEngines.delete(id);
    if (instance !== undefined) await closeEngines(instance.engines);
  }

  private checkStore(id: number): void {
    if (!Number.isInteger(id) || id < 1 || id > this.count) {
      throw new ClusterUsageError(`no store ${id}: the cluster has stores 1..${this.count}`);
    }
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
    this.checkStore(id);
    return this.addFilter(isolate<RaftMessage>(id));
  }

  /** Drop requests and replies at random with these probabilities. */
  dropRandomly(requests: number, replies = requests): FilterHandle {
    return this.addFilter(dropRandomly<RaftMessage>({ requests, replies }));
  }

  // ---------------------------------------------------------------------------------------------------
  // The scheduler's view (what clients route by)

  /** The region holding `key`, polling the scheduler as TinyKV does (regions may be missing after a split). */
  async getRegion(key: Uint8Array): Promise<metapb.Region> {
    return (await this.regionInfoForKey(key)).region;
  }

  /** The region with id `regionId` as the scheduler knows it, if it knows it. */
  regionById(regionId: number): metapb.Region | undefined {
    return this.scheduler.getRegionById(regionId)?.region;
  }

  /** The leader the scheduler knows for the region, polling up to 5 s as TinyKV does. */
  async leaderOfRegion(regionId: number): Promise<metapb.Peer | undefined> {
    for (let i = 0; i < LEADER_POLLS; i++) {
      const leader = this.scheduler.leaderOf(regionId);
      if (leader !== undefined) return leader;
      await this.sim.sleep(LEADER_POLL_MS);
    }
    return undefined;
  }

  /**
   * Poll the scheduler every 20 virtual ms for the region holding `key`, for up to `waitMs` (default 10 s, as
   * TinyKV's GetRegion). After a split the scheduler has a gap where the new region is, until the new
   * region's leader reports it.
   */
  private async regionInfoForKey(key: Uint8Array, waitMs = REGION_WAIT_MS): Promise<RegionInfo> {
    const started = this.sim.now();
    for (;;) {
      const info = this.scheduler.getRegion(key);
      if (info !== undefined) return info;
      if (this.sim.now() - started >= waitMs) throw new NoRegionError(showKey(key), waitMs);
      await this.sim.sleep(REGION_POLL_MS);
    }
  }

  private async regionInfoById(regionId: number, waitMs = REGION_WAIT_MS): Promise<RegionInfo> {
    const started = this.sim.now();
    for (;;) {
      const info = this.scheduler.getRegionById(regionId);
      if (info !== undefined) return info;
      if (this.sim.now() - started >= waitMs) throw new ClusterCheckError(`the scheduler does not know region ${regionId} (waited ${waitMs} ms)`);
      await this.sim.sleep(REGION_POLL_MS);
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Client requests

  /**
   * Send data requests for the region of `key` until one attempt succeeds (TinyKV's Request). Returns the
   * successful result; a Snap result carries a reader the caller must close. Throws RequestTimeoutError
   * once the deadline has passed and at least 10 attempts were made.
   */
  async request(key: Uint8Array, reqs: raft_cmdpb.Request[], timeoutMs = this.requestTimeoutMs): Promise<CommandResult> {
    const what = describeRequests(key, reqs);
    return this.sendWithRetries(
      what,
      // A request may wait for the scheduler to learn a new region as long as its deadline allows.
      () => this.regionInfoForKey(key, Math.max(REGION_WAIT_MS, timeoutMs)),
      (region, peer) =>
        raft_cmdpb.RaftCmdRequest({
          header: raft_cmdpb.RaftRequestHeader({ regionId: region.id, regionEpoch: epochCopy(region), peer }),
          requests: reqs,
        }),
      timeoutMs,
    );
  }

  /** Send an admin request to a region's leader, with the same retry rules. */
  async adminRequest(regionId: number, admin: raft_cmdpb.AdminRequest, timeoutMs = this.requestTimeoutMs): Promise<CommandResult> {
    return this.sendWithRetries(
      `admin ${AdminCmdType[admin.cmdType] ?? admin.cmdType} on region ${regionId}`,
      () => this.regionInfoById(regionId, Math.max(REGION_WAIT_MS, timeoutMs)),
      (region, peer) =>
        raft_cmdpb.RaftCmdRequest({
          header: raft_cmdpb.RaftRequestHeader({ regionId: region.id, regionEpoch: epochCopy(region), peer }),
          adminRequest: admin,
        }),
      timeoutMs,
    );
  }

  private async sendWithRetries(
    what: string,
    locate: () => Promise<RegionInfo>,
    build: (region: metapb.Region, peer: metapb.Peer) => raft_cmdpb.RaftCmdRequest,
    timeoutMs: number,
  ): Promise<CommandResult> {
    const started = this.sim.now();
    let attempts = 0;
    let lastProblem = 'no attempt made';
    let target: metapb.Peer | undefined;
    let hops = 0;
    // Peers that did not answer during this request: not tried again (hint or not) while others remain.
    // An old leader cut off in a minority keeps telling the scheduler it leads; without this the client
    // would go back to it again and again.
    const silent = new Set<number>();
    for (;;) {
      if (attempts >= MIN_ATTEMPTS && this.sim.now() - started >= timeoutMs) {
        throw new RequestTimeoutError(what, timeoutMs, attempts, lastProblem);
      }
      attempts++;
      const info = await locate();
      const region = info.region;
      if (region.peers.every((p) => silent.has(p.id))) silent.clear();
      if (target === undefined || silent.has(target.id)) target = this.pickPeer(region, info.leader, silent);
      if (target === undefined) {
        lastProblem = `${showRegion(region)} has no peers`;
        await this.sim.sleep(100);
        continue;
      }
      const outcome = await this.callCommand(target.storeId, build(region, target), what);
      if (outcome.kind !== 'answered') {
        lastProblem = outcome.kind === 'down' ? `store ${target.storeId} is down` : `no answer from store ${target.storeId} within ${ATTEMPT_TIMEOUT_MS} ms`;
        silent.add(target.id);
        target = undefined;
        hops = 0;
        if (outcome.kind === 'down') await this.sim.sleep(10);
        continue;
      }
      const { result } = outcome;
      const error = result.response.header?.error;
      if (error === undefined) return result;
      if (result.reader !== undefined) await result.reader.close();
      lastProblem = `store ${target.storeId}: ${describeRegionError(error)}`;
      if (error.notLeader !== undefined) {
        const hint = error.notLeader.leader;
        const useful = hint !== undefined && hint.id !== 0 && !samePeer(hint, target) && !silent.has(hint.id);
        if (useful && hops < FREE_HOPS) {
          target = hint;
          hops++;
        } else {
          // No usable hint: try a peer other than this one, after a short pause.
          silent.add(target.id);
          target = undefined;
          hops = 0;
          await this.sim.sleep(10);
        }
        continue;
      }
      hops = 0;
      target = undefined; // ask the scheduler again
      if (error.staleCommand !== undefined) {
        await this.sim.sleep(20);
      } else if (error.epochNotMatch !== undefined) {
        await this.sim.sleep(50);
      } else {
        // RegionNotFound, KeyNotInRegion, StoreNotMatch or another refusal: the scheduler's view is behind.
        await this.sim.sleep(100);
      }
    }
  }

  /** One attempt: after the client hop, hand the command to store `storeId` and wait up to a second of virtual time. */
  private async callCommand(storeId: number, req: raft_cmdpb.RaftCmdRequest, what: string): Promise<CallOutcome> {
    await this.sim.sleep(CLIENT_HOP_MIN_MS + this.random.nextInt(CLIENT_HOP_MAX_MS - CLIENT_HOP_MIN_MS + 1));
    if (!this.sim.isUp(storeId)) return { kind: 'down' };
    const pending = this.sim.instance<StoreInstance>(storeId).raftstore.sendCommand(req);
    try {
      const result = await this.sim.waitFor(pending, { timeoutMs: ATTEMPT_TIMEOUT_MS, label: `${what} at s${storeId}` });
      return { kind: 'answered', result };
    } catch (err) {
      if (!(err instanceof WaitTimeoutError)) throw err;
      // The answer may still come; a reader in it must not stay open.
      pending.then(
        (late) => late.reader?.close().catch(() => undefined),
        () => undefined,
      );
      return { kind: 'timeout' };
    }
  }

  /** The scheduler's leader unless it is silent, else a random peer that is not silent. */
  private pickPeer(region: metapb.Region, leader: metapb.Peer | undefined, silent: ReadonlySet<number>): metapb.Peer | undefined {
    if (leader !== undefined && !silent.has(leader.id) && region.peers.some((p) => samePeer(p, leader))) return leader;
    const candidates = region.peers.filter((p) => !silent.has(p.id));
    if (candidates.length === 0) return region.peers[0];
    return candidates[this.random.nextInt(candidates.length)];
  }

  // ---------------------------------------------------------------------------------------------------
  // Key-value operations (TinyKV's MustPut, MustGet, Scan...)

  async mustPutCF(cf: ColumnFamily, key: Uint8Array, value: Uint8Array): Promise<void> {
    const req = raft_cmdpb.Request({ cmdType: CmdType.Put, put: raft_cmdpb.PutRequest({ cf, key, value }) });
    const result = await this.request(key, [req]);
    expectOneResponse(result, CmdType.Put, 'put');
  }

  async mustPut(key: Uint8Array, value: Uint8Array): Promise<void> {
    await this.mustPutCF('default', key, value);
  }

  /** The value of `key` in `cf` read through raft; empty when the key has none. */
  async getCF(cf: ColumnFamily, key: Uint8Array): Promise<Uint8Array> {
    const req = raft_cmdpb.Request({ cmdType: CmdType.Get, get: raft_cmdpb.GetRequest({ cf, key }) });
    const result = await this.request(key, [req]);
    return expectOneResponse(result, CmdType.Get, 'get').get?.value ?? new Uint8Array(0);
  }

  async get(key: Uint8Array): Promise<Uint8Array> {
    return this.getCF('default', key);
  }

  async mustGet(key: Uint8Array, value: Uint8Array): Promise<void> {
    const got = await this.get(key);
    if (!bytesEqual(got, value)) {
      throw new ClusterCheckError(`get ${showKey(key)}: expected value ${showKey(value)}, got ${showKey(got)}`);
    }
  }

  /** The key must have no value (a Get through raft answers an empty value). */
  async mustGetNone(key: Uint8Array): Promise<void> {
    const got = await this.get(key);
    if (got.length !== 0) throw new ClusterCheckError(`get ${showKey(key)}: expected no value, got ${showKey(got)}`);
  }

  async mustDeleteCF(cf: ColumnFamily, key: Uint8Array): Promise<void> {
    const req = raft_cmdpb.Request({ cmdType: CmdType.Delete, delete: raft_cmdpb.DeleteRequest({ cf, key }) });
    const result = await this.request(key, [req]);
    expectOneResponse(result, CmdType.Delete, 'delete');
  }

  async mustDelete(key: Uint8Array): Promise<void> {
    await this.mustDeleteCF('default', key);
  }

  /**
   * The values of the default family for keys in [start, end) (an empty end: to the last key), read region
   * by region through Snap requests and the readers they return (closed after use).
   */
  async scan(start: Uint8Array, end: Uint8Array): Promise<Uint8Array[]> {
    const values: Uint8Array[] = [];
    let key = start;
    while (end.length === 0 || compareBytes(key, end) < 0) {
      const snap = raft_cmdpb.Request({ cmdType: CmdType.Snap, snap: raft_cmdpb.SnapRequest() });
      const result = await this.request(key, [snap]);
      const region = expectOneResponse(result, CmdType.Snap, 'snap').snap?.region;
      const reader = result.reader;
      if (region === undefined || reader === undefined) {
        await reader?.close();
        throw new ClusterCheckError(`snap at ${showKey(key)}: the response has ${region === undefined ? 'no region' : 'no reader'}`);
      }
      let batch: Uint8Array[];
      try {
        batch = await readRange(reader, key, end);
      } finally {
        await reader.close().catch(() => undefined);
      }
      values.push(...batch);
      if (region.endKey.length === 0) break;
      if (compareBytes(region.endKey, key) <= 0) {
        throw new ClusterCheckError(`snap at ${showKey(key)}: ${showRegion(region)} does not move the scan forward`);
      }
      key = region.endKey;
    }
    return values;
  }

  /**
   * Send data requests to `region` as the caller knows it (its id and epoch, not the scheduler's current
   * view) at its leader, following NotLeader hints, for up to 5 virtual seconds (TinyKV's CallCommandOnLeader).
   * Returns the region error of the first answer that is not NotLeader, or undefined if it succeeded.
   */
  async callOnLeader(region: metapb.Region, reqs: raft_cmdpb.Request[]): Promise<errorpb.Error | undefined> {
    const what = `${describeRequests(new Uint8Array(0), reqs)} on ${showRegion(region)}`;
    const started = this.sim.now();
    let target = this.scheduler.leaderOf(region.id) ?? region.peers[0];
    while (this.sim.now() - started < 5000) {
      if (target === undefined) throw new ClusterCheckError(`${what}: the region has no peers`);
      const req = raft_cmdpb.RaftCmdRequest({
        header: raft_cmdpb.RaftRequestHeader({ regionId: region.id, regionEpoch: epochCopy(region), peer: target }),
        requests: reqs,
      });
      const outcome = await this.callCommand(target.storeId, req, what);
      if (outcome.kind === 'answered') {
        void outcome.result.reader?.close();
        const error = outcome.result.response.header?.error;
        if (error?.notLeader === undefined) return error;
        const hint = error.notLeader.leader;
        target = hint !== undefined && hint.id !== 0 ? hint : region.peers[this.random.nextInt(region.peers.length)];
      } else {
        target = region.peers[this.random.nextInt(region.peers.length)];
      }
      await this.sim.sleep(10);
    }
    throw new ClusterCheckError(`${what}: no leader answered within 5000 virtual ms`);
  }

  // ---------------------------------------------------------------------------------------------------
  // Membership and leadership (3B)

  /** A new peer on `storeId` with a fresh id (TinyKV's AllocPeer). */
  allocPeer(storeId: number): metapb.Peer {
    this.checkStore(storeId);
    return metapb.Peer({ id: this.scheduler.allocId(), storeId });
  }

  /** Ask the region's leader to hand leadership to `peer` (an admin TransferLeader command). */
  async transferLeader(regionId: number, peer: metapb.Peer): Promise<void> {
    const admin = raft_cmdpb.AdminRequest({
      cmdType: AdminCmdType.TransferLeader,
      transferLeader: raft_cmdpb.TransferLeaderRequest({ peer }),
    });
    const result = await this.adminRequest(regionId, admin);
    const type = result.response.adminResponse?.cmdType;
    if (type !== AdminCmdType.TransferLeader) {
      throw new ClusterCheckError(`transfer leader of region ${regionId}: the response's admin type is ${type === undefined ? 'missing' : AdminCmdType[type]}`);
    }
  }

  /** Transfer leadership until the scheduler reports `peer` as leader, within 5 virtual seconds. */
  async mustTransferLeader(regionId: number, peer: metapb.Peer): Promise<void> {
    const started = this.sim.now();
    for (;;) {
      const current = await this.leaderOfRegion(regionId);
      if (samePeer(current, peer)) return;
      if (this.sim.now() - started > 5000) {
        throw new ClusterCheckError(`failed to transfer the leadership of region ${regionId} to peer ${peer.id} on store ${peer.storeId}`);
      }
      await this.transferLeader(regionId, peer);
      await this.sim.sleep(50);
    }
  }

  /**
   * Schedule adding `peer` (a scheduler operator) and wait until the scheduler's region has it, for up to
   * `timeoutMs` virtual ms (default 5 s, as TinyKV's tests; under partitions a correct cluster may need longer).
   */
  async mustAddPeer(regionId: number, peer: metapb.Peer, timeoutMs = MEMBERSHIP_WAIT_MS): Promise<void> {
    this.scheduler.addPeer(regionId, peer);
    await this.mustHavePeer(regionId, peer, timeoutMs);
  }

  /** Schedule removing `peer` and wait until the scheduler's region no longer has it (timeout as mustAddPeer). */
  async mustRemovePeer(regionId: number, peer: metapb.Peer, timeoutMs = MEMBERSHIP_WAIT_MS): Promise<void> {
    this.scheduler.removePeer(regionId, peer);
    await this.mustNonePeer(regionId, peer, timeoutMs);
  }

  async mustHavePeer(regionId: number, peer: metapb.Peer, timeoutMs = MEMBERSHIP_WAIT_MS): Promise<void> {
    await this.pollMembership(regionId, timeoutMs, (region) => findPeer(region, peer.storeId)?.id === peer.id, `still has no peer ${peer.id} on store ${peer.storeId}`);
  }

  async mustNonePeer(regionId: number, peer: metapb.Peer, timeoutMs = MEMBERSHIP_WAIT_MS): Promise<void> {
    await this.pollMembership(regionId, timeoutMs, (region) => findPeer(region, peer.storeId)?.id !== peer.id, `still has peer ${peer.id} on store ${peer.storeId}`);
  }

  /** Poll the scheduler's region every 10 virtual ms until `done` holds; after `timeoutMs`, fail with `problem`. */
  private async pollMembership(regionId: number, timeoutMs: number, done: (region: metapb.Region) => boolean, problem: string): Promise<void> {
    const started = this.sim.now();
    for (;;) {
      const region = this.regionById(regionId);
      if (region !== undefined && done(region)) return;
      if (this.sim.now() - started >= timeoutMs) {
        const op = this.scheduler.operatorOf(regionId);
        throw new ClusterCheckError(
          `region ${regionId} ${problem} after ${timeoutMs} ms (the scheduler knows ${region === undefined ? 'no such region' : showRegion(region)}` +
            `${op === undefined ? '' : `; its operator: ${op.type} ${op.peer.id}@${op.peer.storeId}`})`,
        );
      }
      await this.sim.sleep(LEADER_POLL_MS);
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Looking into a store (TinyKV's MustGetCfEqual / MustGetCfNone and apply state checks)

  /** Read `key` of `cf` straight from store `id`'s kv engine; undefined when absent or the store is down. */
  async engineGetCF(id: number, cf: ColumnFamily, key: Uint8Array): Promise<Uint8Array | undefined> {
    const engines = this.engines(id);
    if (engines === undefined) return undefined;
    return engines.kv.getCF(cf, key);
  }

  /** Poll store `id`'s engine until `key` of `cf` holds `value` (up to 6 virtual seconds, as TinyKV). */
  async mustGetCfEqual(id: number, cf: ColumnFamily, key: Uint8Array, value: Uint8Array): Promise<void> {
    let last: Uint8Array | undefined;
    for (let i = 0; i < ENGINE_POLLS; i++) {
      last = await this.engineGetCF(id, cf, key);
      if (last !== undefined && bytesEqual(last, value)) return;
      await this.sim.sleep(ENGINE_POLL_MS);
    }
    throw new ClusterCheckError(
      `store ${id}: ${cf} ${showKey(key)} should be ${showKey(value)} but is ${last === undefined ? 'absent' : showKey(last)} ` +
        `after ${ENGINE_POLLS * ENGINE_POLL_MS} ms`,
    );
  }

  async mustGetEqual(id: number, key: Uint8Array, value: Uint8Array): Promise<void> {
    await this.mustGetCfEqual(id, 'default', key, value);
  }

  /** Poll store `id`'s engine until `key` of `cf` is absent (up to 6 virtual seconds). */
  async mustGetCfNone(id: number, cf: ColumnFamily, key: Uint8Array): Promise<void> {
    let last: Uint8Array | undefined;
    for (let i = 0; i < ENGINE_POLLS; i++) {
      if (this.engines(id) !== undefined) {
        last = await this.engineGetCF(id, cf, key);
        if (last === undefined) return;
      }
      await this.sim.sleep(ENGINE_POLL_MS);
    }
    throw new ClusterCheckError(
      `store ${id}: ${cf} ${showKey(key)} should be absent but is ${last === undefined ? 'unreadable (store down)' : showKey(last)} ` +
        `after ${ENGINE_POLLS * ENGINE_POLL_MS} ms`,
    );
  }

  async mustGetNoneOnStore(id: number, key: Uint8Array): Promise<void> {
    await this.mustGetCfNone(id, 'default', key);
  }

  /** Applied and truncated index of region `regionId` on store `id` (undefined: down, or no such peer). */
  applyState(id: number, regionId: number): ApplyStateView | undefined {
    this.checkStore(id);
    if (!this.sim.isUp(id)) return undefined;
    return this.raftstore(id).applyStateOf(regionId);
  }

  /** Entries kept in the raft log of region `regionId` on store `id`: applied index - truncated index. */
  raftLogSize(id: number, regionId: number): number | undefined {
    const state = this.applyState(id, regionId);
    return state === undefined ? undefined : state.appliedIndex - state.truncatedIndex;
  }

  /** Every region the scheduler knows, from the first key to the last (each once). */
  async regionsInKeyOrder(): Promise<metapb.Region[]> {
    const regions: metapb.Region[] = [];
    let key: Uint8Array = new Uint8Array(0);
    for (;;) {
      const region = await this.getRegion(key);
      regions.push(region);
      if (region.endKey.length === 0) return regions;
      key = region.endKey;
    }
  }
}

/**
 * runSimTest with a started cluster: builds the cluster in the simulation, runs `body` as the main client,
 * shuts the cluster down, and on any failure still closes the engines and deletes the temporary files.
 */
export async function runClusterTest<T>(
  options: ClusterOptions,
  body: (cluster: Cluster, sim: Sim) => Promise<T>,
  testOptions: SimTestOptions,
): Promise<SimTestResult<T>> {
  let cluster: Cluster | undefined;
  try {
    return await runSimTest(async (sim) => {
      cluster = new Cluster(sim, options);
      await cluster.start();
      const value = await body(cluster, sim);
      await cluster.shutdown();
      return value;
    }, testOptions);
  } finally {
    await cluster?.shutdown().catch(() => undefined);
  }
}

// -----------------------------------------------------------------------------------------------------------

/** Read the default family from `start` up to `end` (empty: no bound), within what the reader shows. */
async function readRange(reader: StorageReader, start: Uint8Array, end: Uint8Array): Promise<Uint8Array[]> {
  const values: Uint8Array[] = [];
  const it = reader.iterCF('default');
  try {
    for (await it.seek(start); it.valid(); await it.next()) {
      const item = it.item();
      if (exceedsEnd(item.key, end)) break;
      values.push(item.value.slice());
    }
  } finally {
    await it.close();
  }
  return values;
}

function epochCopy(region: metapb.Region): metapb.RegionEpoch {
  return metapb.RegionEpoch({ ...(region.regionEpoch ?? metapb.RegionEpoch()) });
}

function expectOneResponse(result: CommandResult, type: raft_cmdpb.CmdType, what: string): raft_cmdpb.Response {
  const responses = result.response.responses;
  if (responses.length !== 1) {
    throw new ClusterCheckError(`${what}: expected 1 response, got ${responses.length}`);
  }
  const resp = responses[0]!;
  if (resp.cmdType !== type) {
    throw new ClusterCheckError(`${what}: expected a ${CmdType[type]} response, got ${CmdType[resp.cmdType] ?? resp.cmdType}`);
  }
  return resp;
}

function describeRequests(key: Uint8Array, reqs: raft_cmdpb.Request[]): string {
  const types = reqs.map((r) => (CmdType[r.cmdType] ?? String(r.cmdType)).toLowerCase()).join('+');
  return `${types} ${showKey(key)}`;
}

function describeRegionError(error: errorpb.Error): string {
  if (error.notLeader !== undefined) {
    const l = error.notLeader.leader;
    return `NotLeader${l === undefined ? '' : ` (leader ${l.id} on store ${l.storeId})`}`;
  }
  if (error.staleCommand !== undefined) return 'StaleCommand';
  if (error.epochNotMatch !== undefined) return 'EpochNotMatch';
  if (error.regionNotFound !== undefined) return 'RegionNotFound';
  if (error.keyNotInRegion !== undefined) return 'KeyNotInRegion';
  if (error.storeNotMatch !== undefined) return 'StoreNotMatch';
  return error.message || 'unknown region error';
}
