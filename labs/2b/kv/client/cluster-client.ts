/**
 * A client of a TinyKV cluster: it routes each request by key to the store leading the key's region, and
 * retries on region errors, as TinyKV's own clients (and TiKV's) do.
 *
 * The region cache holds the regions it has seen, sorted by start key, each with the leader it last heard
 * of; a key missing from it is asked of the scheduler (GetRegion). On an answer with a region error:
 *   NotLeader         the leader it names (or, with none, the next member) is tried;
 *   EpochNotMatch     the region changed (split, conf change): the regions the error carries replace it;
 *   RegionNotFound, KeyNotInRegion, StoreNotMatch: the cached region is dropped and asked again, and that
 *                     member is not tried again by this request;
 *   StaleCommand      the same request is sent again after a short pause.
 * A store that cannot be reached is skipped for the next member. Every request has a deadline.
 *
 * Raw API: get, put, delete, scan (region after region), routed by the key itself. Transactions (Percolator):
 * timestamps from the scheduler's TSO, then prewrite (the primary's region first) and commit (the primary
 * first), each batch sent to the region its keys are in, routed by the encoded user key: that is where the
 * versions of a key are kept, and regions are cut between encoded user keys (see cfRange in region-util.ts).
 */
import * as grpc from '@grpc/grpc-js';
import { errorpb, kvrpcpb, metapb } from '#proto';
import { callUnary, clientConstructor, clientOptions, type RequestOf, type ResponseOf, type ServiceClient, type UnaryMethodName } from '#proto/grpc.ts';
import type { Runtime } from '../../runtime/runtime.ts';
import type { SchedulerRpcClient } from '../../scheduler/client/scheduler-rpc-client.ts';
import { encodeBytes } from '../transaction/mvcc/codec.ts';
import { keyInRegion, rangesOverlap } from '../raftstore/region-util.ts';
import { describeRpcError as describe } from '../../rpc/grpc-service.ts';

type Service = 'tinykvpb.TinyKv';

/** How long a key may have no region at the scheduler (a split's new half not reported yet). */
const REGION_WAIT_MS = 10_000;
type Unary = UnaryMethodName<Service>;

/** A request could not be completed before its deadline; says what it last saw. */
export class ClusterRequestError extends Error {
  override name = 'ClusterRequestError';
}

/** A transaction was refused (a lock of another transaction, a write conflict, an abort). */
export class TxnError extends Error {
  override name = 'TxnError';
  constructor(
    message: string,
    readonly keyError: kvrpcpb.KeyError,
  ) {
    super(message);
  }
}

interface CachedRegion {
  region: metapb.Region;
  leader: metapb.Peer | undefined;
}

export interface ClusterClientOptions {
  runtime: Runtime;
  /** Deadline of one request, retries included (default 20 s). */
  requestTimeoutMs?: number;
  /** Deadline of one attempt at one store (default 5 s). */
  attemptTimeoutMs?: number;
}

/** Counters, for tests and the ctl's verbose output. */
export interface ClusterClientStats {
  requests: number;
  attempts: number;
  regionErrors: number;
  schedulerLookups: number;
}

export class ClusterClient {
  readonly stats: ClusterClientStats = { requests: 0, attempts: 0, regionErrors: 0, schedulerLookups: 0 };
  /** Sorted by start key; ranges do not overlap. */
  private regions: CachedRegion[] = [];
  private readonly stores = new Map<number, { address: string; client: ServiceClient<Service> }>();

  constructor(
    readonly scheduler: SchedulerRpcClient,
    private readonly options: ClusterClientOptions,
  ) {}

  close(): void {
    for (const s of this.stores.values()) s.client.close();
    this.stores.clear();
  }

  // --- raw API ---------------------------------------------------------------------------------------------

  async rawGet(key: Uint8Array, cf = 'default'): Promise<Uint8Array | undefined> {
    const resp = await this.request(key, 'RawGet', (context) => kvrpcpb.RawGetRequest({ context, key, cf }));
    if (resp.error !== '') throw new ClusterRequestError(`RawGet: ${resp.error}`);
    return resp.notFound ? undefined : resp.value;
  }

  async rawPut(key: Uint8Array, value: Uint8Array, cf = 'default'): Promise<void> {
    const resp = await this.request(key, 'RawPut', (context) => kvrpcpb.RawPutRequest({ context, key, value, cf }));
    if (resp.error !== '') throw new ClusterRequestError(`RawPut: ${resp.error}`);
  }

  async rawDelete(key: Uint8Array, cf = 'default'): Promise<void> {
    const resp = await this.request(key, 'RawDelete', (context) => kvrpcpb.RawDeleteRequest({ context, key, cf }));
    if (resp.error !== '') throw new ClusterRequestError(`RawDelete: ${resp.error}`);
  }

  /** Up to `limit` pairs from `start` on, across regions. */
  async rawScan(start: Uint8Array, limit: number, cf = 'default'): Promise<kvrpcpb.KvPair[]> {
    const pairs: kvrpcpb.KvPair[] = [];
    let from = start;
    for (;;) {
      const region = await this.locate(from);
      const resp = await this.request(from, 'RawScan', (context) => kvrpcpb.RawScanRequest({ context, startKey: from, limit: limit - pairs.length, cf }));
      if (resp.error !== '') throw new ClusterRequestError(`RawScan: ${resp.error}`);
      pairs.push(...resp.kvs);
      const end = region.region.endKey;
      if (pairs.length >= limit || end.length === 0) return pairs.slice(0, limit);
      from = end;
    }
  }

  // --- transactions ----------------------------------------------------------------------------------------

  /** Writes `mutations` in one transaction; returns its commit timestamp. Throws TxnError if it is refused. */
  async txnWrite(mutations: kvrpcpb.Mutation[], lockTtlMs = 3_000): Promise<bigint> {
    if (mutations.length === 0) throw new ClusterRequestError('a transaction needs at least one mutation');
    const startTs = await this.timestamp();
    const primary = mutations[0]!.key;
    const groups = await this.groupByRegion(mutations, (m) => encodeBytes(m.key));
    // The primary's group first: once it is prewritten, the transaction's fate hangs on the primary's lock.
    for (const group of groups) {
      const resp = await this.request(encodeBytes(group[0]!.key), 'KvPrewrite', (context) =>
        kvrpcpb.PrewriteRequest({ context, mutations: group, primaryLock: primary, startVersion: startTs, lockTtl: lockTtlMs }),
      );
      if (resp.errors.length > 0) throw new TxnError(`prewrite refused: ${describeKeyError(resp.errors[0]!)}`, resp.errors[0]!);
    }
    const commitTs = await this.timestamp();
    const keyGroups = await this.groupByRegion(mutations.map((m) => m.key), (k) => encodeBytes(k));
    for (const keys of keyGroups) {
      const resp = await this.request(encodeBytes(keys[0]!), 'KvCommit', (context) => kvrpcpb.CommitRequest({ context, startVersion: startTs, keys, commitVersion: commitTs }));
      if (resp.error !== undefined) throw new TxnError(`commit refused: ${describeKeyError(resp.error)}`, resp.error);
    }
    return commitTs;
  }

  /** Reads `key` at a fresh timestamp (a lock in the way is reported, not resolved). */
  async txnGet(key: Uint8Array): Promise<Uint8Array | undefined> {
    const version = await this.timestamp();
    const resp = await this.request(encodeBytes(key), 'KvGet', (context) => kvrpcpb.GetRequest({ context, key, version }));
    if (resp.error !== undefined) throw new TxnError(`get refused: ${describeKeyError(resp.error)}`, resp.error);
    return resp.notFound ? undefined : resp.value;
  }

  /** A timestamp from the scheduler's TSO; a broken stream is opened again, within the request deadline. */
  private async timestamp(): Promise<bigint> {
    const deadline = this.options.runtime.now() + (this.options.requestTimeoutMs ?? 20_000);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.scheduler.getTimestamp();
      } catch (err) {
        if (this.options.runtime.now() >= deadline) throw new ClusterRequestError(`no timestamp from the scheduler: ${describe(err)}`);
        await this.sleep(Math.min(1_000, 50 * 2 ** Math.min(attempt, 5)));
      }
    }
  }

  /** Items in groups of the same region, the group of the first item first. */
  private async groupByRegion<T>(items: T[], keyOf: (item: T) => Uint8Array): Promise<T[][]> {
    const groups = new Map<number, T[]>();
    for (const item of items) {
      const region = await this.locate(keyOf(item));
      const group = groups.get(region.region.id) ?? [];
      group.push(item);
      groups.set(region.region.id, group);
    }
    return [...groups.values()];
  }

  // --- routing ---------------------------------------------------------------------------------------------

  /** Every region the cache knows (for tinykv-ctl regions and the tests). */
  cachedRegions(): CachedRegion[] {
    return this.regions.map((r) => ({ ...r }));
  }

  /**
   * Sends `build(context)` to the leader of the region holding `key` until an answer carries no region error,
   * or the deadline passes.
   */
  async request<M extends Unary>(
    key: Uint8Array,
    method: M,
    build: (context: kvrpcpb.Context) => RequestOf<Service, M>,
  ): Promise<ResponseOf<Service, M>> {
    this.stats.requests++;
    const rt = this.options.runtime;
    const deadline = rt.now() + (this.options.requestTimeoutMs ?? 20_000);
    let last = 'no attempt made';
    const skip = new Set<number>(); // peers that failed this request
    for (let attempt = 0; ; attempt++) {
      if (rt.now() >= deadline) throw new ClusterRequestError(`${method} of key ${showKey(key)} timed out after ${attempt} attempts; last: ${last}`);
      if (attempt > 0) await this.sleep(Math.min(1_000, 20 * 2 ** Math.min(attempt, 6)));
      let cached: CachedRegion;
      try {
        cached = await this.locate(key);
      } catch (err) {
        last = `the scheduler: ${describe(err)}`;
        continue;
      }
      const peer = pickPeer(cached, skip);
      if (peer === undefined) {
        skip.clear();
        this.forget(cached.region.id);
        last = `no member of region ${cached.region.id} answered`;
        continue;
      }
      const context = kvrpcpb.Context({ regionId: cached.region.id, regionEpoch: cached.region.regionEpoch, peer });
      let resp: ResponseOf<Service, M>;
      try {
        this.stats.attempts++;
        const store = await this.store(peer.storeId);
        resp = await callUnary<Service, M>(store.client, method, build(context), { deadline: rt.now() + (this.options.attemptTimeoutMs ?? 5_000) });
      } catch (err) {
        skip.add(peer.id);
        this.stores.get(peer.storeId)?.client.close();
        this.stores.delete(peer.storeId); // it may be back elsewhere
        last = `store ${peer.storeId}: ${describe(err)}`;
        continue;
      }
      const regionError = (resp as { regionError?: errorpb.Error }).regionError;
      if (regionError === undefined) {
        cached.leader = peer;
        return resp;
      }
      this.stats.regionErrors++;
      last = `store ${peer.storeId}: ${regionError.message || 'region error'}`;
      this.onRegionError(cached, peer, regionError, skip);
    }
  }

  private onRegionError(cached: CachedRegion, peer: metapb.Peer, error: errorpb.Error, skip: Set<number>): void {
    if (error.notLeader !== undefined) {
      const leader = error.notLeader.leader;
      if (leader !== undefined && leader.id !== 0 && !skip.has(leader.id)) cached.leader = leader;
      else {
        skip.add(peer.id);
        cached.leader = undefined;
      }
      return;
    }
    if (error.epochNotMatch !== undefined) {
      this.forget(cached.region.id);
      for (const region of error.epochNotMatch.currentRegions) this.insert({ region, leader: undefined });
      return;
    }
    if (error.staleCommand !== undefined) return; // same again, after the pause
    // RegionNotFound, KeyNotInRegion, StoreNotMatch: this peer cannot serve it (the scheduler's leader may be
    // stale too); ask the scheduler again and try another member.
    skip.add(peer.id);
    this.forget(cached.region.id);
  }

  /**
   * The cached region holding `key`, or the scheduler's. Right after a split the scheduler may not know the
   * new region until its leader reports: ask again for a while (REGION_WAIT_MS) before giving up.
   */
  private async locate(key: Uint8Array): Promise<CachedRegion> {
    const hit = this.regions.find((r) => keyInRegion(key, r.region));
    if (hit !== undefined) return hit;
    const giveUpAt = this.options.runtime.now() + REGION_WAIT_MS;
    for (;;) {
      this.stats.schedulerLookups++;
      const { region, leader } = await this.scheduler.getRegion(key);
      if (region !== undefined) {
        const entry = { region, leader };
        this.insert(entry);
        return entry;
      }
      if (this.options.runtime.now() >= giveUpAt) throw new ClusterRequestError(`the scheduler knows no region for key ${showKey(key)} (asked for ${REGION_WAIT_MS} ms)`);
      await this.sleep(50);
    }
  }

  private insert(entry: CachedRegion): void {
    this.regions = this.regions.filter((r) => r.region.id !== entry.region.id && !rangesOverlap(r.region, entry.region));
    this.regions.push(entry);
    this.regions.sort((a, b) => Buffer.compare(a.region.startKey, b.region.startKey));
  }

  private forget(regionId: number): void {
    this.regions = this.regions.filter((r) => r.region.id !== regionId);
  }

  private async store(storeId: number): Promise<{ address: string; client: ServiceClient<Service> }> {
    const known = this.stores.get(storeId);
    if (known !== undefined) return known;
    const { address } = await this.scheduler.getStore(storeId);
    const Ctor = clientConstructor('tinykvpb.TinyKv');
    const entry = { address, client: new Ctor(address, grpc.credentials.createInsecure(), clientOptions()) };
    this.stores.set(storeId, entry);
    return entry;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.options.runtime.setTimer(ms, resolve, 'cluster client backoff'));
  }
}

function pickPeer(cached: CachedRegion, skip: Set<number>): metapb.Peer | undefined {
  if (cached.leader !== undefined && cached.leader.id !== 0 && !skip.has(cached.leader.id)) return cached.leader;
  return cached.region.peers.find((p) => !skip.has(p.id));
}

function showKey(key: Uint8Array): string {
  const text = Buffer.from(key).toString('utf8');
  return /^[\x20-\x7e]*$/.test(text) ? JSON.stringify(text) : `0x${Buffer.from(key).toString('hex')}`;
}

function describeKeyError(e: kvrpcpb.KeyError): string {
  if (e.locked !== undefined) return `key ${showKey(e.locked.key)} is locked by the transaction started at ${e.locked.lockVersion}`;
  if (e.conflict !== undefined) return `write conflict on key ${showKey(e.conflict.key)}`;
  return e.abort || e.retryable || 'key error';
}

