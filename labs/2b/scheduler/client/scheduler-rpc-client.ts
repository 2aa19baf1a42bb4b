/**
 * A client of tinyscheduler-server over gRPC: what a store (and the region-cache client) asks the scheduler.
 *
 * connect() waits for the scheduler to answer, retrying with backoff and a log line per attempt, and learns
 * the cluster id that every later request carries. Unary calls have a deadline; an answer whose header holds
 * an error is thrown as SchedulerError (its type says which: NOT_BOOTSTRAPPED, ALREADY_BOOTSTRAPPED, ...).
 * Region heartbeats and timestamps go over one long-lived stream each, opened again (after a backoff) when it
 * breaks. Timers go through the runtime, like everything in reference/.
 */
import * as grpc from '@grpc/grpc-js';
import { metapb, schedulerpb } from '#proto';
import { callUnary, clientConstructor, clientOptions, type RequestOf, type ResponseOf, type ServiceClient, type UnaryMethodName } from '#proto/grpc.ts';
import type { Runtime } from '../../runtime/runtime.ts';
import type { SchedulerClient } from '../../kv/raftstore/scheduler-client.ts';
import { describeRpcError } from '../../rpc/grpc-service.ts';
import { TSO_LOGICAL_BITS } from '../id-allocator.ts';

type Service = 'schedulerpb.Scheduler';
type Unary = UnaryMethodName<Service>;

/** The scheduler answered with an error in its response header. */
export class SchedulerError extends Error {
  override name = 'SchedulerError';
  constructor(
    readonly type: schedulerpb.ErrorType,
    message: string,
  ) {
    super(message);
  }
}

/** The scheduler could not be reached (after the retries the call allows). */
export class SchedulerUnavailableError extends Error {
  override name = 'SchedulerUnavailableError';
}

export interface SchedulerRpcClientOptions {
  /** Timers (backoff) go through it. */
  runtime: Runtime;
  /** Where the client says what it is waiting for. */
  log?: (line: string) => void;
  /** Deadline of one unary call (default 5 s). */
  callTimeoutMs?: number;
}

const BACKOFF_FIRST_MS = 100;
const BACKOFF_MAX_MS = 3_000;

export class SchedulerRpcClient {
  private clusterIdValue = 0;
  private readonly client: ServiceClient<Service>;
  private readonly log: (line: string) => void;
  private closed = false;
  private heartbeats: grpc.ClientDuplexStream<schedulerpb.RegionHeartbeatRequest, schedulerpb.RegionHeartbeatResponse> | undefined;
  private heartbeatRetryAt = 0;
  private readonly heartbeatHandlers = new Map<number, (resp: schedulerpb.RegionHeartbeatResponse) => void>();
  private tso: grpc.ClientDuplexStream<schedulerpb.TsoRequest, schedulerpb.TsoResponse> | undefined;
  private readonly tsoWaiting: { resolve: (ts: bigint) => void; reject: (err: Error) => void }[] = [];

  constructor(
    readonly address: string,
    private readonly options: SchedulerRpcClientOptions,
  ) {
    const Ctor = clientConstructor('schedulerpb.Scheduler');
    this.client = new Ctor(address, grpc.credentials.createInsecure(), clientOptions());
    this.log = options.log ?? (() => undefined);
  }

  get clusterId(): number {
    return this.clusterIdValue;
  }

  /** Waits until the scheduler answers (backoff between attempts, each logged) and learns the cluster id. */
  async connect(maxWaitMs = Infinity): Promise<void> {
    const started = this.options.runtime.now();
    for (let attempt = 0; ; attempt++) {
      try {
        const members = await this.call('GetMembers', schedulerpb.GetMembersRequest({}), false);
        this.clusterIdValue = members.header?.clusterId ?? 0;
        if (attempt > 0) this.log(`scheduler at ${this.address} answered (cluster ${this.clusterIdValue})`);
        return;
      } catch (err) {
        const waited = this.options.runtime.now() - started;
        if (this.closed || waited >= maxWaitMs) throw new SchedulerUnavailableError(`scheduler at ${this.address} is not answering: ${describe(err)}`);
        const delay = backoff(attempt);
        this.log(`scheduler at ${this.address} is not answering (${describe(err)}); retrying in ${delay} ms`);
        await this.sleep(delay);
      }
    }
  }

  close(): void {
    this.closed = true;
    this.heartbeats?.end();
    this.tso?.end();
    for (const w of this.tsoWaiting.splice(0)) w.reject(new SchedulerUnavailableError('the scheduler client is closed'));
    this.client.close();
  }

  // --- unary calls -----------------------------------------------------------------------------------------

  async isBootstrapped(): Promise<boolean> {
    return (await this.call('IsBootstrapped', schedulerpb.IsBootstrappedRequest({ header: this.header() }))).bootstrapped;
  }

  async bootstrap(store: metapb.Store): Promise<void> {
    await this.call('Bootstrap', schedulerpb.BootstrapRequest({ header: this.header(), store }));
  }

  async allocId(): Promise<number> {
    return (await this.call('AllocID', schedulerpb.AllocIDRequest({ header: this.header() }))).id;
  }

  async putStore(store: metapb.Store): Promise<void> {
    await this.call('PutStore', schedulerpb.PutStoreRequest({ header: this.header(), store }));
  }

  async getStore(storeId: number): Promise<metapb.Store> {
    const resp = await this.call('GetStore', schedulerpb.GetStoreRequest({ header: this.header(), storeId }));
    if (resp.store === undefined) throw new SchedulerError(schedulerpb.ErrorType.UNKNOWN, `store ${storeId} is not known`);
    return resp.store;
  }

  async getAllStores(): Promise<metapb.Store[]> {
    return (await this.call('GetAllStores', schedulerpb.GetAllStoresRequest({ header: this.header(), excludeTombstoneStores: true }))).stores;
  }

  async storeHeartbeat(stats: schedulerpb.StoreStats): Promise<void> {
    await this.call('StoreHeartbeat', schedulerpb.StoreHeartbeatRequest({ header: this.header(), stats }));
  }

  async askSplit(region: metapb.Region): Promise<schedulerpb.AskSplitResponse> {
    return this.call('AskSplit', schedulerpb.AskSplitRequest({ header: this.header(), region }));
  }

  /** The region holding `key` and its leader (undefined region: none known). */
  async getRegion(key: Uint8Array): Promise<{ region: metapb.Region | undefined; leader: metapb.Peer | undefined }> {
    const resp = await this.call('GetRegion', schedulerpb.GetRegionRequest({ header: this.header(), regionKey: key }));
    return { region: resp.region, leader: resp.leader };
  }

  async getRegionById(regionId: number): Promise<{ region: metapb.Region | undefined; leader: metapb.Peer | undefined }> {
    const resp = await this.call('GetRegionByID', schedulerpb.GetRegionByIDRequest({ header: this.header(), regionId }));
    return { region: resp.region, leader: resp.leader };
  }

  /** Up to `limit` regions (0: all) from the one holding `start`, with their leaders (an empty peer: none known). */
  async scanRegions(start: Uint8Array, end: Uint8Array, limit: number): Promise<{ region: metapb.Region; leader: metapb.Peer | undefined }[]> {
    const resp = await this.call('ScanRegions', schedulerpb.ScanRegionsRequest({ header: this.header(), startKey: start, endKey: end, limit }));
    return resp.regions.map((region, i) => {
      const leader = resp.leaders[i];
      return { region, leader: leader === undefined || leader.id === 0 ? undefined : leader };
    });
  }

  /** The status of the region's last operator (RUNNING while one runs), or undefined if it never had one. */
  async operatorStatus(regionId: number): Promise<schedulerpb.OperatorStatus | undefined> {
    const resp = await this.call('GetOperator', schedulerpb.GetOperatorRequest({ header: this.header(), regionId }), false);
    return resp.header?.error !== undefined ? undefined : resp.status;
  }

  private header(): schedulerpb.RequestHeader {
    return schedulerpb.RequestHeader({ clusterId: this.clusterIdValue });
  }

  private async call<M extends Unary>(method: M, req: RequestOf<Service, M>, checkHeader = true): Promise<ResponseOf<Service, M>> {
    // A grpc-js deadline is a wall-clock time; the real runtime's clock follows the wall clock.
    const deadline = this.options.runtime.now() + (this.options.callTimeoutMs ?? 5_000);
    const resp = await callUnary<Service, M>(this.client, method, req, { deadline });
    const error = (resp as { header?: schedulerpb.ResponseHeader }).header?.error;
    if (checkHeader && error !== undefined && error.type !== schedulerpb.ErrorType.OK) throw new SchedulerError(error.type, `${method}: ${error.message}`);
    return resp;
  }

  // --- timestamps ------------------------------------------------------------------------------------------

  /** One timestamp from the TSO (physical << 18 | logical). Answers come back in request order. */
  getTimestamp(): Promise<bigint> {
    if (this.closed) return Promise.reject(new SchedulerUnavailableError('the scheduler client is closed'));
    const stream = this.tsoStream();
    return new Promise<bigint>((resolve, reject) => {
      this.tsoWaiting.push({ resolve, reject });
      stream.write(schedulerpb.TsoRequest({ header: this.header(), count: 1 }));
    });
  }

  private tsoStream(): grpc.ClientDuplexStream<schedulerpb.TsoRequest, schedulerpb.TsoResponse> {
    if (this.tso !== undefined) return this.tso;
    const stream = this.client.Tso();
    this.tso = stream;
    stream.on('data', (resp: schedulerpb.TsoResponse) => {
      const ts = resp.timestamp;
      const waiter = this.tsoWaiting.shift();
      if (ts === undefined) waiter?.reject(new SchedulerError(resp.header?.error?.type ?? schedulerpb.ErrorType.UNKNOWN, 'Tso: an answer without a timestamp'));
      else waiter?.resolve((BigInt(ts.physical) << BigInt(TSO_LOGICAL_BITS)) | BigInt(ts.logical));
    });
    const broken = (err?: Error) => {
      if (this.tso === stream) this.tso = undefined;
      for (const w of this.tsoWaiting.splice(0)) w.reject(new SchedulerUnavailableError(`Tso stream to ${this.address} broke: ${err?.message ?? 'closed'}`));
    };
    stream.on('error', broken);
    stream.on('end', () => broken());
    return stream;
  }

  // --- region heartbeats -----------------------------------------------------------------------------------

  /** Sends a region heartbeat on the stream (opened, or opened again after a backoff, as needed). Never throws. */
  regionHeartbeat(req: schedulerpb.RegionHeartbeatRequest): void {
    const stream = this.heartbeatStream();
    stream?.write({ ...req, header: this.header() });
  }

  /** Where the operator steps for the leaders of store `storeId` go. */
  onRegionHeartbeatResponse(storeId: number, handler: (resp: schedulerpb.RegionHeartbeatResponse) => void): void {
    this.heartbeatHandlers.set(storeId, handler);
  }

  private heartbeatStream(): grpc.ClientDuplexStream<schedulerpb.RegionHeartbeatRequest, schedulerpb.RegionHeartbeatResponse> | undefined {
    if (this.heartbeats !== undefined || this.closed) return this.heartbeats;
    if (this.options.runtime.now() < this.heartbeatRetryAt) return undefined; // broke a moment ago: the next heartbeat retries
    const stream = this.client.RegionHeartbeat();
    this.heartbeats = stream;
    stream.on('data', (resp: schedulerpb.RegionHeartbeatResponse) => {
      if (resp.header?.error !== undefined) {
        this.log(`the scheduler refused a region heartbeat of region ${resp.regionId}: ${resp.header.error.message}`);
        return;
      }
      const storeId = resp.targetPeer?.storeId ?? 0;
      this.heartbeatHandlers.get(storeId)?.(resp);
    });
    const broken = (err?: Error) => {
      if (this.heartbeats !== stream) return;
      this.heartbeats = undefined;
      this.heartbeatRetryAt = this.options.runtime.now() + BACKOFF_MAX_MS / 3;
      if (!this.closed) this.log(`region heartbeat stream to ${this.address} broke (${err?.message ?? 'closed by the scheduler'}); opening it again with the next heartbeat`);
    };
    stream.on('error', broken);
    stream.on('end', () => broken());
    return stream;
  }

  // --- the raftstore's view --------------------------------------------------------------------------------

  /** The raftstore's SchedulerClient for store `storeId`: fire-and-forget calls, replies posted to `runtime`. */
  forStore(storeId: number, runtime: Runtime): SchedulerClient {
    return {
      regionHeartbeat: (req) => this.regionHeartbeat(req),
      storeHeartbeat: (req) => {
        if (req.stats === undefined) return;
        this.storeHeartbeat(req.stats).catch((err: unknown) => this.log(`store heartbeat failed: ${describe(err)}`));
      },
      onRegionHeartbeatResponse: (handler) => this.onRegionHeartbeatResponse(storeId, (resp) => runtime.post('scheduler: region heartbeat response', () => handler(resp))),
      askSplit: (region, reply) => {
        this.askSplit(region).then(
          (resp) => runtime.post('scheduler: askSplit reply', () => reply(resp)),
          (err: unknown) => runtime.post('scheduler: askSplit reply', () => reply(err instanceof Error ? err : new Error(String(err)))),
        );
      },
    };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.options.runtime.setTimer(ms, resolve, 'scheduler client backoff'));
  }
}

function backoff(attempt: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** attempt);
}

function describe(err: unknown): string {
  const text = describeRpcError(err);
  return text === 'connection refused' ? 'connection refused: is tinyscheduler-server running there?' : text;
}
