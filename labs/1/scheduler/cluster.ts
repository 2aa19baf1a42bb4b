/**
 * The scheduler's cluster (TinyKV's RaftCluster): stores and regions as their heartbeats report them, the
 * operators running on regions, ids and timestamps. One instance serves the simulation (in place of the test
 * cluster's mock scheduler) and, later, the real scheduler server.
 *
 * Everything runs synchronously: a heartbeat is checked and applied in one step, so concurrent heartbeats
 * (interleaved async callers) can never see a half-applied update.
 */
import { metapb, type schedulerpb } from '#proto';
import type { SeededRandom } from '../util/prng.ts';
import { NotImplemented } from '../util/not-implemented.ts';
import { BasicCluster } from './core/basic-cluster.ts';
import type { StoreRegions } from './core/regions-index.ts';
import { approximateSizeMb, RegionInfo } from './core/region-info.ts';
import type { StoreInfo } from './core/store-info.ts';
import { IdAllocator, TimestampOracle } from './id-allocator.ts';
import { OperatorController, type OperatorOutcome } from './operator/controller.ts';
import type { Operator } from './operator/operator.ts';
import type { ScheduleCluster } from './schedule-cluster.ts';

export interface SchedulerOptions {
  /** Members a region should have (default 3). */
  maxReplicas: number;
  /** A store silent for longer is down (default 30 minutes). */
  maxStoreDownTimeMs: number;
}

export const DEFAULT_SCHEDULER_OPTIONS: SchedulerOptions = { maxReplicas: 3, maxStoreDownTimeMs: 30 * 60_000 };

/** A heartbeat older than what the scheduler knows. */
export class StaleRegionError extends Error {
  override name = 'StaleRegionError';
  constructor(region: RegionInfo, known: RegionInfo) {
    super(
      `region ${region.id} is stale: it reports epoch v${region.version}/c${region.confVer}, but region ${known.id} ` +
        `is known at v${known.version}/c${known.confVer}`,
    );
  }
}

/** A second bootstrap: the cluster has its first region already. */
export class AlreadyBootstrappedError extends Error {
  override name = 'AlreadyBootstrappedError';
  constructor() {
    super('the cluster is already bootstrapped');
  }
}

/** A request the scheduler cannot take (unknown store, malformed region...): answered, never applied. */
export class BadHeartbeatError extends Error {
  override name = 'BadHeartbeatError';
}

export class SchedulerCluster implements ScheduleCluster {
  readonly core = new BasicCluster();
  readonly ids: IdAllocator;
  readonly tso: TimestampOracle;
  readonly operators: OperatorController;
  readonly options: SchedulerOptions;
  private readonly responseHandlers = new Map<number, (resp: schedulerpb.RegionHeartbeatResponse) => void>();
  private bootstrapped = false;
  /** Hears of each operator started ('running') and ended (the server logs them). */
  onOperatorEvent: ((op: Operator, outcome: OperatorOutcome) => void) | undefined;

  constructor(
    private readonly clock: () => number,
    private readonly random: SeededRandom,
    options: Partial<SchedulerOptions> = {},
    firstId = 0,
    /** Where the TSO's physical part starts (a restarted server: the time it had reserved). */
    tsoStartMs = 0,
  ) {
    this.options = { ...DEFAULT_SCHEDULER_OPTIONS, ...options };
    this.ids = new IdAllocator(firstId);
    this.tso = new TimestampOracle(clock, tsoStartMs);
    this.operators = new OperatorController({
      nowMs: () => this.clock(),
      getRegion: (id) => this.core.getRegion(id),
      send: (resp) => this.responseHandlers.get(resp.targetPeer?.storeId ?? -1)?.(resp),
      onEvent: (op, outcome) => this.onOperatorEvent?.(op, outcome),
    });
  }

  // --- ScheduleCluster ---------------------------------------------------------------------------------------

  nowMs(): number {
    return this.clock();
  }

  getStores(): StoreInfo[] {
    return this.core.getStores();
  }

  getStore(id: number): StoreInfo | undefined {
    return this.core.getStore(id);
  }

  regionsOfStore(storeId: number): StoreRegions {
    return this.core.regions.ofStore(storeId);
  }

  maxReplicas(): number {
    return this.options.maxReplicas;
  }

  maxStoreDownTimeMs(): number {
    return this.options.maxStoreDownTimeMs;
  }

  randomInt(n: number): number {
    return this.random.nextInt(n);
  }

  allocPeer(storeId: number): metapb.Peer {
    return metapb.Peer({ id: this.ids.alloc(), storeId });
  }

  // --- bootstrap -------------------------------------------------------------------------------------------

  /**
   * The cluster's first store, and its first region if given (TinyKV's Bootstrap sends the store only: the
   * region comes with the first heartbeat): once only. A given region is known from then on, without a leader
   * until one reports.
   */
  bootstrap(store: metapb.Store, region?: metapb.Region): void {
    if (this.bootstrapped) throw new AlreadyBootstrappedError();
    if (region !== undefined && region.peers.length === 0) throw new BadHeartbeatError(`bootstrap: region ${region.id} has no peers`);
    if (region !== undefined && !region.peers.some((p) => p.storeId === store.id)) {
      throw new BadHeartbeatError(`bootstrap: region ${region.id} has no peer on store ${store.id}, the store bootstrapping it`);
    }
    this.putStore(store);
    if (region !== undefined) {
      this.core.putRegion(new RegionInfo({ meta: region }));
      for (const peer of region.peers) this.core.updateStoreStatus(peer.storeId);
    }
    this.bootstrapped = true;
  }

  /** What a restarted server kept on disk: its stores, its regions (no leaders yet), and whether it was bootstrapped. */
  restore(stores: readonly metapb.Store[], regions: readonly metapb.Region[], bootstrapped: boolean): void {
    for (const store of stores) this.core.putStore(store);
    for (const region of regions) this.core.putRegion(new RegionInfo({ meta: region }));
    for (const store of stores) this.core.updateStoreStatus(store.id);
    this.bootstrapped = bootstrapped;
  }

  isBootstrapped(): boolean {
    return this.bootstrapped;
  }

  // --- stores ------------------------------------------------------------------------------------------------

  /** Registers (or re-registers) a store. */
  putStore(meta: metapb.Store): StoreInfo {
    if (meta.id <= 0) throw new BadHeartbeatError(`a store needs an id above 0, got ${meta.id}`);
    const old = this.core.getStore(meta.id);
    const store = this.core.putStore(meta, old?.lastHeartbeatMs);
    store.stats = old?.stats;
    return store;
  }

  /** A store's heartbeat: it is alive now. */
  handleStoreHeartbeat(stats: schedulerpb.StoreStats): void {
    const store = this.core.getStore(stats.storeId);
    if (store === undefined) throw new BadHeartbeatError(`store ${stats.storeId} is not registered`);
    store.stats = stats;
    store.lastHeartbeatMs = this.clock();
  }

  /** Where region heartbeat responses (operator steps) for a store's leaders go. */
  onRegionHeartbeatResponse(storeId: number, handler: (resp: schedulerpb.RegionHeartbeatResponse) => void): void {
    this.responseHandlers.set(storeId, handler);
  }

  // --- regions -----------------------------------------------------------------------------------------------

  getRegion(id: number): RegionInfo | undefined {
    return this.core.getRegion(id);
  }

  /** The region holding `key`. */
  getRegionByKey(key: Uint8Array): RegionInfo | undefined {
    return this.core.regions.search(key);
  }

  /** The region just before the one holding `key`. */
  getPrevRegion(key: Uint8Array): RegionInfo | undefined {
    const here = this.core.regions.search(key);
    return here === undefined ? undefined : this.core.regions.before(here);
  }

  /** Up to `limit` regions (0: all) from the one holding `start` onwards, starting before `end` (empty: no bound). */
  scanRegions(start: Uint8Array, end: Uint8Array, limit: number): RegionInfo[] {
    return this.core.regions.scan(start, end, limit);
  }

  /** The registered stores holding a member of `region`. */
  getRegionStores(region: RegionInfo): StoreInfo[] {
    return [...region.storeIds()].flatMap((id) => this.core.getStore(id) ?? []);
  }

  /** The registered stores holding a follower of `region`. */
  getFollowerStores(region: RegionInfo): StoreInfo[] {
    return region.followers().flatMap((p) => this.core.getStore(p.storeId) ?? []);
  }

  /** A region heartbeat as the raftstore sends it: checked, applied, then its operator's next step sent. */
  handleRegionHeartbeat(req: schedulerpb.RegionHeartbeatRequest): void {
    if (req.region === undefined) throw new BadHeartbeatError('a region heartbeat without a region');
    if (req.region.peers.length === 0) throw new BadHeartbeatError(`region ${req.region.id}: a heartbeat with no peers`);
    const region = new RegionInfo({
      meta: req.region,
      leader: req.leader,
      pendingPeers: req.pendingPeers,
      approximateSize: approximateSizeMb(req.approximateSize),
    });
    this.processRegionHeartbeat(region);
    this.operators.dispatch(region);
  }

  /**
   * Takes in a region as a heartbeat reports it: refuses it when it is older than what the scheduler knows
   * (StaleRegionError, nothing changed), else stores it in place of the region of the same id and of every
   * region it overlaps, and refreshes the counts of the stores involved.
   */
  processRegionHeartbeat(region: RegionInfo): void {
    // Your code here (3C): find the known region of the same id (or, if none, every known region the new one overlaps); if the new one has a lower version or a lower conf_ver than any of them, throw StaleRegionError; otherwise put it (core.putRegion: it replaces the same id and the overlaps) and refresh the status of every store that held or holds a peer of the regions involved (core.updateStoreStatus)
    throw new NotImplemented('3C', 'SchedulerCluster.processRegionHeartbeat');
    // End of your code (3C).
  }

  /** Ids for a split of `region`: a new region id and one peer id per member. */
  askSplit(region: metapb.Region): schedulerpb.AskSplitResponse {
    const known = this.core.getRegion(region.id);
    if (known === undefined) throw new BadHeartbeatError(`ask split: region ${region.id} is not known`);
    return { header: undefined, newRegionId: this.ids.alloc(), newPeerIds: region.peers.map(() => this.ids.alloc()) };
  }
}

