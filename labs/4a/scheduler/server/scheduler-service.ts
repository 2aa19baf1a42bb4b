/**
 * The Scheduler gRPC service (TinyKV's scheduler/server) over SchedulerCluster, kept on disk by MetaStore.
 *
 * Requests run straight on the in-memory cluster, which is synchronous, so no two requests interleave inside
 * a change. What must survive a restart is written before it is answered (bootstrap, stores, the cluster
 * config, the GC safe point); regions are written in batches every second (a restarted scheduler also hears
 * them again from the leaders). Ids and timestamps come from ranges reserved on disk ahead of use: after a
 * restart both start above everything handed out before.
 *
 * Background work runs on the runtime's timers: the coordinator (replica checker, balance-region) every
 * scheduleIntervalMs once the cluster is bootstrapped, the region flush and the TSO reservation every second.
 */
import * as grpc from '@grpc/grpc-js';
import { metapb, schedulerpb } from '#proto';
import type { Runtime, TimerHandle } from '../../runtime/runtime.ts';
import type { SeededRandom } from '../../util/prng.ts';
import { StatusError } from '../../rpc/grpc-service.ts';
import { BadHeartbeatError, SchedulerCluster, StaleRegionError, type SchedulerOptions } from '../cluster.ts';
import { Coordinator } from '../coordinator.ts';
import type { RegionInfo } from '../core/region-info.ts';
import { NotReservedError, TSO_LOGICAL_BITS } from '../id-allocator.ts';
import type { OperatorOutcome } from '../operator/controller.ts';
import { MetaStore } from './meta-store.ts';

/** Ids reserved on disk at a time. */
export const ID_BATCH = 10_000;
/** How far ahead of the clock the TSO may go before the reservation is renewed. */
export const TSO_WINDOW_MS = 3_000;

export interface SchedulerServiceOptions {
  runtime: Runtime & { random: SeededRandom };
  /** The data directory. */
  dataDir: string;
  scheduler?: Partial<SchedulerOptions>;
  /** Milliseconds between two coordinator rounds (default 100). */
  scheduleIntervalMs?: number;
  /** This member's name (GetMembers). */
  name?: string;
  /** Where the service's notable events go (default: nowhere). */
  log?: (line: string) => void;
}

const ERROR = schedulerpb.ErrorType;

export class SchedulerService {
  readonly clusterId: number;
  readonly cluster: SchedulerCluster;
  /** The address clients use (GetMembers); set once the server is bound. */
  clientUrl = '';
  private readonly coordinator: Coordinator;
  private readonly timers: TimerHandle[] = [];
  /** The live RegionHeartbeat stream of each store, where its leaders' operator steps go. */
  private readonly heartbeatStreams = new Map<number, grpc.ServerDuplexStream<schedulerpb.RegionHeartbeatRequest, schedulerpb.RegionHeartbeatResponse>>();
  /** Every open stream (heartbeats, TSO), ended on close so the server can stop. */
  private readonly openStreams = new Set<grpc.ServerDuplexStream<unknown, unknown>>();
  private idBound: number;
  private idReservation: Promise<void> | undefined;
  private tsoReservation: Promise<void> | undefined;
  private bootstrapping: Promise<void> | undefined;
  private gcSafePoint: bigint;
  private config: metapb.Cluster;
  private closed = false;
  private readonly log: (line: string) => void;

  private constructor(
    private readonly options: SchedulerServiceOptions,
    private readonly meta: MetaStore,
    loaded: Awaited<ReturnType<MetaStore['open']>>,
    clusterId: number,
  ) {
    this.clusterId = clusterId;
    this.log = options.log ?? (() => undefined);
    const rt = options.runtime;
    const maxReplicas = loaded.config !== undefined && loaded.config.maxPeerCount > 0 ? loaded.config.maxPeerCount : undefined;
    this.cluster = new SchedulerCluster(() => rt.now(), rt.random, { ...options.scheduler, ...(maxReplicas ? { maxReplicas } : {}) }, loaded.idBound, loaded.tsoBoundMs);
    this.cluster.restore(loaded.stores, loaded.regions, loaded.bootstrapped);
    this.idBound = loaded.idBound;
    this.cluster.ids.allowUpTo(loaded.idBound);
    this.cluster.tso.allowUpTo(loaded.tsoBoundMs);
    this.gcSafePoint = loaded.gcSafePoint;
    this.config = loaded.config ?? metapb.Cluster({ id: clusterId, maxPeerCount: this.cluster.options.maxReplicas });
    this.coordinator = new Coordinator(this.cluster);
    this.cluster.onOperatorEvent = (op, outcome) =>
      this.log(outcome === 'running' ? `operator started: ${op.toString()}` : `operator ${outcome}: ${op.desc} on region ${op.regionId}`);
  }

  /** Opens (or creates) the data directory, reserves ids and time, and starts the background work. */
  static async open(options: SchedulerServiceOptions): Promise<SchedulerService> {
    const meta = new MetaStore(options.dataDir);
    const loaded = await meta.open();
    let clusterId = loaded.clusterId;
    if (clusterId === undefined) {
      // Like TinyKV: the creation time in the high digits, randomness below, so two clusters never share one.
      clusterId = options.runtime.now() * 1000 + options.runtime.random.nextInt(1000);
      await meta.saveClusterId(clusterId);
    }
    const service = new SchedulerService(options, meta, loaded, clusterId);
    await service.reserveIds();
    await service.reserveTime();
    service.startTimers();
    service.log(
      `cluster ${clusterId}${loaded.bootstrapped ? `, bootstrapped: ${loaded.stores.length} stores, ${loaded.regions.length} regions` : ', not bootstrapped yet'}; ` +
        `ids from ${service.cluster.ids.current + 1}`,
    );
    return service;
  }

  /** Stops the background work, writes the regions, closes the data directory. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) timer.cancel();
    for (const stream of this.openStreams) stream.end();
    this.openStreams.clear();
    this.heartbeatStreams.clear();
    await this.idReservation?.catch(() => undefined);
    await this.tsoReservation?.catch(() => undefined);
    await this.meta.flushRegions(this.cluster.core.regions.all().map((r) => r.meta));
    await this.meta.close();
  }

  private startTimers(): void {
    const rt = this.options.runtime;
    this.timers.push(
      rt.every(this.options.scheduleIntervalMs ?? 100, () => this.scheduleRound(), 'schedule'),
      rt.every(1_000, () => this.flushRegions(), 'flush regions'),
      rt.every(1_000, () => this.reserveTime(), 'reserve TSO time'),
    );
  }

  private scheduleRound(): void {
    if (!this.cluster.isBootstrapped()) return;
    try {
      this.coordinator.runOnce();
    } catch (err) {
      if (!(err instanceof NotReservedError)) throw err;
      void this.reserveIds(); // ids ran short this round; the next round will have them
    }
  }

  private async flushRegions(): Promise<void> {
    await this.meta.flushRegions(this.cluster.core.regions.all().map((r) => r.meta));
  }

  // --- reservations ----------------------------------------------------------------------------------------

  /** Keeps ID_BATCH ids reserved on disk beyond the last one handed out. One write at a time. */
  private reserveIds(): Promise<void> {
    this.idReservation ??= (async () => {
      try {
        const bound = this.cluster.ids.current + ID_BATCH;
        await this.meta.saveIdBound(bound);
        this.idBound = bound;
        this.cluster.ids.allowUpTo(bound);
      } finally {
        this.idReservation = undefined;
      }
    })();
    return this.idReservation;
  }

  /** Keeps the TSO allowed up to TSO_WINDOW_MS past the clock (or past its last answer). */
  private reserveTime(): Promise<void> {
    this.tsoReservation ??= (async () => {
      try {
        const bound = Math.max(this.options.runtime.now(), this.cluster.tso.physicalMs) + TSO_WINDOW_MS;
        await this.meta.saveTsoBound(bound);
        this.cluster.tso.allowUpTo(bound);
      } finally {
        this.tsoReservation = undefined;
      }
    })();
    return this.tsoReservation;
  }

  /** Runs `take` (which hands out ids); when the reserved ids ran out, reserves more and tries again. */
  private async withIds<T>(take: () => T): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        const result = take();
        if (this.cluster.ids.current > this.idBound - ID_BATCH / 2) void this.reserveIds();
        return result;
      } catch (err) {
        if (!(err instanceof NotReservedError) || attempt >= 3) throw err;
        await this.reserveIds();
      }
    }
  }

  private async timestamps(count: number): Promise<bigint> {
    for (let attempt = 0; ; attempt++) {
      try {
        return this.cluster.tso.next(count);
      } catch (err) {
        if (!(err instanceof NotReservedError) || attempt >= 3) throw err;
        await this.reserveTime();
      }
    }
  }

  // --- request checks --------------------------------------------------------------------------------------

  private header(error?: { type: schedulerpb.ErrorType; message: string }): schedulerpb.ResponseHeader {
    return schedulerpb.ResponseHeader({ clusterId: this.clusterId, error: error === undefined ? undefined : schedulerpb.Error(error) });
  }

  /** A request for another cluster is refused outright (TinyKV answers FailedPrecondition too). */
  private checkCluster(header: schedulerpb.RequestHeader | undefined): void {
    const id = header?.clusterId ?? 0;
    if (id !== this.clusterId) {
      throw new StatusError(grpc.status.FAILED_PRECONDITION, `cluster id mismatch: this scheduler serves cluster ${this.clusterId}, the request is for ${id}`);
    }
  }

  /** The header to answer with when the request needs a bootstrapped cluster and this one is not. */
  private notBootstrapped(): schedulerpb.ResponseHeader | undefined {
    return this.cluster.isBootstrapped() ? undefined : this.header({ type: ERROR.NOT_BOOTSTRAPPED, message: 'the cluster is not bootstrapped' });
  }

  // --- unary methods ---------------------------------------------------------------------------------------

  async getMembers(_req: schedulerpb.GetMembersRequest): Promise<schedulerpb.GetMembersResponse> {
    const member = schedulerpb.Member({ name: this.options.name ?? 'tinyscheduler', memberId: 1, clientUrls: [this.clientUrl], peerUrls: [this.clientUrl] });
    return schedulerpb.GetMembersResponse({ header: this.header(), members: [member], leader: member, etcdLeader: member });
  }

  async bootstrap(req: schedulerpb.BootstrapRequest): Promise<schedulerpb.BootstrapResponse> {
    this.checkCluster(req.header);
    const store = req.store;
    if (store === undefined || store.id <= 0) throw new StatusError(grpc.status.INVALID_ARGUMENT, 'bootstrap needs a store with an id above 0');
    if (this.cluster.isBootstrapped() || this.bootstrapping !== undefined) {
      return schedulerpb.BootstrapResponse({ header: this.header({ type: ERROR.ALREADY_BOOTSTRAPPED, message: `cluster ${this.clusterId} is already bootstrapped` }) });
    }
    this.bootstrapping = this.meta.saveBootstrap(store);
    try {
      await this.bootstrapping;
      this.cluster.bootstrap(store);
    } finally {
      this.bootstrapping = undefined;
    }
    this.log(`bootstrapped by store ${store.id} (${store.address})`);
    return schedulerpb.BootstrapResponse({ header: this.header() });
  }

  async isBootstrapped(req: schedulerpb.IsBootstrappedRequest): Promise<schedulerpb.IsBootstrappedResponse> {
    this.checkCluster(req.header);
    return schedulerpb.IsBootstrappedResponse({ header: this.header(), bootstrapped: this.cluster.isBootstrapped() });
  }

  async allocID(req: schedulerpb.AllocIDRequest): Promise<schedulerpb.AllocIDResponse> {
    this.checkCluster(req.header);
    const id = await this.withIds(() => this.cluster.ids.alloc());
    return schedulerpb.AllocIDResponse({ header: this.header(), id });
  }

  async getStore(req: schedulerpb.GetStoreRequest): Promise<schedulerpb.GetStoreResponse> {
    this.checkCluster(req.header);
    const nb = this.notBootstrapped();
    if (nb) return schedulerpb.GetStoreResponse({ header: nb });
    const store = this.cluster.getStore(req.storeId);
    if (store === undefined) return schedulerpb.GetStoreResponse({ header: this.header({ type: ERROR.UNKNOWN, message: `store ${req.storeId} is not known` }) });
    return schedulerpb.GetStoreResponse({ header: this.header(), store: store.meta, stats: store.stats });
  }

  async putStore(req: schedulerpb.PutStoreRequest): Promise<schedulerpb.PutStoreResponse> {
    this.checkCluster(req.header);
    const nb = this.notBootstrapped();
    if (nb) return schedulerpb.PutStoreResponse({ header: nb });
    const store = req.store;
    if (store === undefined || store.id <= 0) throw new StatusError(grpc.status.INVALID_ARGUMENT, 'put store needs a store with an id above 0');
    if (store.address === '') throw new StatusError(grpc.status.INVALID_ARGUMENT, `store ${store.id} has no address`);
    const known = this.cluster.getStore(store.id);
    if (known?.meta.state === metapb.StoreState.Tombstone) {
      return schedulerpb.PutStoreResponse({ header: this.header({ type: ERROR.STORE_TOMBSTONE, message: `store ${store.id} is a tombstone` }) });
    }
    const sameAddress = this.cluster.getStores().find((s) => s.id !== store.id && s.meta.address === store.address && s.meta.state !== metapb.StoreState.Tombstone);
    if (sameAddress !== undefined) {
      return schedulerpb.PutStoreResponse({ header: this.header({ type: ERROR.UNKNOWN, message: `address ${store.address} is already used by store ${sameAddress.id}` }) });
    }
    await this.meta.saveStore(store);
    this.cluster.putStore(store);
    if (known === undefined) this.log(`store ${store.id} joined at ${store.address}`);
    else if (known.meta.address !== store.address) this.log(`store ${store.id} moved from ${known.meta.address} to ${store.address}`);
    return schedulerpb.PutStoreResponse({ header: this.header() });
  }

  async getAllStores(req: schedulerpb.GetAllStoresRequest): Promise<schedulerpb.GetAllStoresResponse> {
    this.checkCluster(req.header);
    const nb = this.notBootstrapped();
    if (nb) return schedulerpb.GetAllStoresResponse({ header: nb });
    const stores = this.cluster.getStores().filter((s) => !req.excludeTombstoneStores || s.meta.state !== metapb.StoreState.Tombstone);
    return schedulerpb.GetAllStoresResponse({ header: this.header(), stores: stores.map((s) => s.meta) });
  }

  async storeHeartbeat(req: schedulerpb.StoreHeartbeatRequest): Promise<schedulerpb.StoreHeartbeatResponse> {
    this.checkCluster(req.header);
    const nb = this.notBootstrapped();
    if (nb) return schedulerpb.StoreHeartbeatResponse({ header: nb });
    if (req.stats === undefined) throw new StatusError(grpc.status.INVALID_ARGUMENT, 'a store heartbeat without stats');
    try {
      this.cluster.handleStoreHeartbeat(req.stats);
    } catch (err) {
      if (!(err instanceof BadHeartbeatError)) throw err;
      return schedulerpb.StoreHeartbeatResponse({ header: this.header({ type: ERROR.UNKNOWN, message: err.message }) });
    }
    return schedulerpb.StoreHeartbeatResponse({ header: this.header() });
  }

  async getRegion(req: schedulerpb.GetRegionRequest): Promise<schedulerpb.GetRegionResponse> {
    this.checkCluster(req.header);
    return this.regionResponse(this.cluster.getRegionByKey(req.regionKey));
  }

  async getPrevRegion(req: schedulerpb.GetRegionRequest): Promise<schedulerpb.GetRegionResponse> {
    this.checkCluster(req.header);
    return this.regionResponse(this.cluster.getPrevRegion(req.regionKey));
  }

  async getRegionByID(req: schedulerpb.GetRegionByIDRequest): Promise<schedulerpb.GetRegionResponse> {
    this.checkCluster(req.header);
    return this.regionResponse(this.cluster.getRegion(req.regionId));
  }

  private regionResponse(region: RegionInfo | undefined): schedulerpb.GetRegionResponse {
    const nb = this.notBootstrapped();
    if (nb) return schedulerpb.GetRegionResponse({ header: nb });
    if (region === undefined) return schedulerpb.GetRegionResponse({ header: this.header() });
    return schedulerpb.GetRegionResponse({ header: this.header(), region: region.meta, leader: region.leader, slaves: region.followers() });
  }

  async scanRegions(req: schedulerpb.ScanRegionsRequest): Promise<schedulerpb.ScanRegionsResponse> {
    this.checkCluster(req.header);
    const nb = this.notBootstrapped();
    if (nb) return schedulerpb.ScanRegionsResponse({ header: nb });
    if (req.limit < 0) throw new StatusError(grpc.status.INVALID_ARGUMENT, `scan regions: limit ${req.limit} is negative`);
    const regions = this.cluster.scanRegions(req.startKey, req.endKey, req.limit);
    return schedulerpb.ScanRegionsResponse({
      header: this.header(),
      regions: regions.map((r) => r.meta),
      leaders: regions.map((r) => r.leader ?? metapb.Peer()),
    });
  }

  async askSplit(req: schedulerpb.AskSplitRequest): Promise<schedulerpb.AskSplitResponse> {
    this.checkCluster(req.header);
    const nb = this.notBootstrapped();
    if (nb) return schedulerpb.AskSplitResponse({ header: nb });
    if (req.region === undefined) throw new StatusError(grpc.status.INVALID_ARGUMENT, 'ask split without a region');
    const region = req.region;
    try {
      const answer = await this.withIds(() => this.cluster.askSplit(region));
      return schedulerpb.AskSplitResponse({ ...answer, header: this.header() });
    } catch (err) {
      if (!(err instanceof BadHeartbeatError)) throw err;
      return schedulerpb.AskSplitResponse({ header: this.header({ type: ERROR.REGION_NOT_FOUND, message: err.message }) });
    }
  }

  async getClusterConfig(req: schedulerpb.GetClusterConfigRequest): Promise<schedulerpb.GetClusterConfigResponse> {
    this.checkCluster(req.header);
    return schedulerpb.GetClusterConfigResponse({ header: this.header(), cluster: this.config });
  }

  async putClusterConfig(req: schedulerpb.PutClusterConfigRequest): Promise<schedulerpb.PutClusterConfigResponse> {
    this.checkCluster(req.header);
    const config = req.cluster;
    if (config === undefined) throw new StatusError(grpc.status.INVALID_ARGUMENT, 'put cluster config without a config');
    if (config.id !== this.clusterId) throw new StatusError(grpc.status.INVALID_ARGUMENT, `the config names cluster ${config.id}, this is cluster ${this.clusterId}`);
    if (config.maxPeerCount < 1) throw new StatusError(grpc.status.INVALID_ARGUMENT, `max_peer_count must be at least 1, got ${config.maxPeerCount}`);
    await this.meta.saveConfig(config);
    this.config = config;
    this.cluster.options.maxReplicas = config.maxPeerCount;
    return schedulerpb.PutClusterConfigResponse({ header: this.header() });
  }

  async getGCSafePoint(req: schedulerpb.GetGCSafePointRequest): Promise<schedulerpb.GetGCSafePointResponse> {
    this.checkCluster(req.header);
    return schedulerpb.GetGCSafePointResponse({ header: this.header(), safePoint: this.gcSafePoint });
  }

  /** The safe point only moves forward: an older one leaves it as it is. */
  async updateGCSafePoint(req: schedulerpb.UpdateGCSafePointRequest): Promise<schedulerpb.UpdateGCSafePointResponse> {
    this.checkCluster(req.header);
    if (req.safePoint > this.gcSafePoint) {
      await this.meta.saveGcSafePoint(req.safePoint);
      this.gcSafePoint = req.safePoint;
    }
    return schedulerpb.UpdateGCSafePointResponse({ header: this.header(), newSafePoint: this.gcSafePoint });
  }

  async getOperator(req: schedulerpb.GetOperatorRequest): Promise<schedulerpb.GetOperatorResponse> {
    this.checkCluster(req.header);
    const status = this.cluster.operators.status(req.regionId);
    if (status === undefined) {
      return schedulerpb.GetOperatorResponse({ header: this.header({ type: ERROR.REGION_NOT_FOUND, message: `region ${req.regionId} has had no operator` }), regionId: req.regionId });
    }
    const op = this.cluster.operators.get(req.regionId);
    return schedulerpb.GetOperatorResponse({
      header: this.header(),
      regionId: req.regionId,
      desc: new TextEncoder().encode(op?.desc ?? ''),
      status: OPERATOR_STATUS[status],
      kind: new TextEncoder().encode(op === undefined ? '' : String(op.kind)),
    });
  }

  // --- streams ---------------------------------------------------------------------------------------------

  private track<Req, Resp>(call: grpc.ServerDuplexStream<Req, Resp>): void {
    const stream = call as unknown as grpc.ServerDuplexStream<unknown, unknown>;
    if (this.closed) {
      stream.end();
      return;
    }
    this.openStreams.add(stream);
    const untrack = () => this.openStreams.delete(stream);
    call.on('end', untrack);
    call.on('error', untrack);
    call.on('cancelled', untrack);
    call.on('finish', untrack);
  }

  /** Tso: each request asks for `count` timestamps; each answer carries the last of them. */
  readonly tsoStream = (call: grpc.ServerDuplexStream<schedulerpb.TsoRequest, schedulerpb.TsoResponse>): void => {
    this.track(call);
    let chain = Promise.resolve();
    call.on('data', (req: schedulerpb.TsoRequest) => {
      // Answers go back in request order.
      chain = chain.then(async () => {
        try {
          this.checkCluster(req.header);
          if (req.count < 1) throw new StatusError(grpc.status.INVALID_ARGUMENT, `tso: count must be at least 1, got ${req.count}`);
          const ts = await this.timestamps(req.count);
          const physical = Number(ts >> BigInt(TSO_LOGICAL_BITS));
          const logical = Number(ts & ((1n << BigInt(TSO_LOGICAL_BITS)) - 1n));
          call.write(schedulerpb.TsoResponse({ header: this.header(), count: req.count, timestamp: schedulerpb.Timestamp({ physical, logical }) }));
        } catch (err) {
          call.emit('error', streamStatus('Tso', err));
        }
      });
    });
    call.on('end', () => void chain.then(() => call.end()));
    call.on('error', () => undefined);
  };

  /** RegionHeartbeat: leaders report their regions; operator steps go back on the leader's store's stream. */
  readonly regionHeartbeatStream = (call: grpc.ServerDuplexStream<schedulerpb.RegionHeartbeatRequest, schedulerpb.RegionHeartbeatResponse>): void => {
    this.track(call);
    const stores = new Set<number>();
    call.on('data', (req: schedulerpb.RegionHeartbeatRequest) => {
      try {
        this.checkCluster(req.header);
        if (this.notBootstrapped()) throw new StatusError(grpc.status.FAILED_PRECONDITION, 'the cluster is not bootstrapped');
        const storeId = req.leader?.storeId;
        if (storeId === undefined || storeId <= 0) throw new BadHeartbeatError(`region ${req.region?.id}: a heartbeat without a leader`);
        if (this.heartbeatStreams.get(storeId) !== call) {
          this.heartbeatStreams.set(storeId, call);
          stores.add(storeId);
          this.cluster.onRegionHeartbeatResponse(storeId, (resp) => this.heartbeatStreams.get(storeId)?.write({ ...resp, header: this.header() }));
        }
        this.cluster.handleRegionHeartbeat(req);
      } catch (err) {
        if (err instanceof StaleRegionError) return; // a deposed leader's report: normal, nothing to answer
        if (err instanceof BadHeartbeatError) {
          this.log(`region heartbeat refused: ${err.message}`);
          call.write(schedulerpb.RegionHeartbeatResponse({ header: this.header({ type: ERROR.UNKNOWN, message: err.message }), regionId: req.region?.id ?? 0 }));
          return;
        }
        call.emit('error', streamStatus('RegionHeartbeat', err));
      }
    });
    const forget = () => {
      for (const id of stores) if (this.heartbeatStreams.get(id) === call) this.heartbeatStreams.delete(id);
    };
    call.on('end', () => {
      forget();
      call.end();
    });
    call.on('error', forget);
    call.on('cancelled', forget);
  };
}

const OPERATOR_STATUS: Record<OperatorOutcome, schedulerpb.OperatorStatus> = {
  running: schedulerpb.OperatorStatus.RUNNING,
  success: schedulerpb.OperatorStatus.SUCCESS,
  timeout: schedulerpb.OperatorStatus.TIMEOUT,
  cancel: schedulerpb.OperatorStatus.CANCEL,
  replaced: schedulerpb.OperatorStatus.REPLACE,
};

function streamStatus(method: string, err: unknown): Partial<grpc.StatusObject> {
  if (err instanceof StatusError) return { code: err.code, details: `${method}: ${err.message}` };
  return { code: grpc.status.INTERNAL, details: `${method} failed: ${err instanceof Error ? err.message : String(err)}` };
}
