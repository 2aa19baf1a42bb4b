/**
 * One store of a real cluster (TinyKV's raftstore node): its engines in a data directory, its identity from
 * the scheduler, the cluster's first region if it is the first store, its raftstore on the real runtime,
 * talking raft to the other stores over gRPC and reporting to the scheduler.
 *
 * Start-up, in order:
 *   1. open the engines;
 *   2. identity: a store started before has its ident (cluster id, store id) on disk, and the cluster id must
 *      be the scheduler's (a data directory of another cluster is refused); a new store gets an id from the
 *      scheduler;
 *   3. first region: if the scheduler is not bootstrapped, prepare a one-peer region over every key and ask
 *      it to bootstrap; a store that lost the race drops what it prepared (settleBootstrap);
 *   4. register the store's address (PutStore; after a restart on another port, the new one);
 *   5. start the raftstore.
 */
import { metapb, schedulerpb } from '#proto';
import type { RealRuntime } from '../../runtime/real-runtime.ts';
import type { EngineOptions } from '../storage/engine.ts';
import { SchedulerError, type SchedulerRpcClient } from '../../scheduler/client/scheduler-rpc-client.ts';
import { bootstrapStore, dropPreparedRegion, firstRegion, keepPreparedRegion, prepareClusterBootstrap, preparedBootstrapRegion } from '../raftstore/bootstrap.ts';
import type { RaftstoreConfig } from '../raftstore/config.ts';
import { closeEngines, openEngines, type Engines } from '../raftstore/engines.ts';
import { getStoreIdent } from '../raftstore/meta.ts';
import { Raftstore } from '../raftstore/raftstore.ts';
import { GrpcRaftTransport } from './raft-transport.ts';

/** The data directory belongs to another cluster than the scheduler's. */
export class ClusterMismatchError extends Error {
  override name = 'ClusterMismatchError';
}

export interface StoreNodeOptions {
  dataDir: string;
  /** The address other stores and clients reach this store at (PutStore). */
  advertiseAddress: string;
  scheduler: SchedulerRpcClient;
  runtime: RealRuntime;
  config: RaftstoreConfig;
  engineOptions?: EngineOptions;
  log?: (line: string) => void;
}

export class StoreNode {
  private constructor(
    readonly storeId: number,
    readonly raftstore: Raftstore,
    readonly transport: GrpcRaftTransport,
    private readonly engines: Engines,
  ) {}

  static async start(options: StoreNodeOptions): Promise<StoreNode> {
    const log = options.log ?? (() => undefined);
    const scheduler = options.scheduler;
    const engines = await openEngines(options.dataDir, options.engineOptions);
    try {
      const storeId = await identity(engines, scheduler, options.dataDir, log);
      await settleBootstrap(engines, scheduler, storeId, options.advertiseAddress, log);
      await scheduler.putStore(metapb.Store({ id: storeId, address: options.advertiseAddress }));
      const transport = new GrpcRaftTransport({
        storeId,
        runtime: options.runtime,
        resolver: { resolve: async (id) => (await scheduler.getStore(id)).address },
        log: (line) => log(line),
      });
      const raftstore = await Raftstore.start({
        storeId,
        runtime: options.runtime,
        transport,
        engines,
        scheduler: scheduler.forStore(storeId, options.runtime),
        config: options.config,
      });
      return new StoreNode(storeId, raftstore, transport, engines);
    } catch (err) {
      await closeEngines(engines);
      throw err;
    }
  }

  /** Stops the raftstore and the transport, then closes the engines. */
  async stop(): Promise<void> {
    await this.raftstore.stop();
    this.transport.close();
    await closeEngines(this.engines);
  }
}

/** The store's id: from its ident on disk (checked against the scheduler's cluster), or a new one. */
async function identity(engines: Engines, scheduler: SchedulerRpcClient, dataDir: string, log: (line: string) => void): Promise<number> {
  const ident = await getStoreIdent(engines.kv);
  if (ident !== undefined) {
    if (ident.clusterId !== scheduler.clusterId) {
      throw new ClusterMismatchError(
        `the data in ${dataDir} belongs to cluster ${ident.clusterId} (store ${ident.storeId}), but the scheduler at ${scheduler.address} ` +
          `serves cluster ${scheduler.clusterId}: start it with its own scheduler, or give this store an empty --path`,
      );
    }
    return ident.storeId;
  }
  const storeId = await scheduler.allocId();
  await bootstrapStore(engines, scheduler.clusterId, storeId);
  log(`new store ${storeId} in cluster ${scheduler.clusterId}`);
  return storeId;
}

/**
 * Makes sure the cluster gets its first region once. A store that prepared one and crashed before settling
 * keeps it if the scheduler knows that region (its heartbeats arrived) or knows no region at all (the
 * bootstrap went through but no heartbeat did); otherwise another store won, and the prepared region goes.
 */
async function settleBootstrap(engines: Engines, scheduler: SchedulerRpcClient, storeId: number, address: string, log: (line: string) => void): Promise<void> {
  let prepared = await preparedBootstrapRegion(engines);
  if (await scheduler.isBootstrapped()) {
    if (prepared === undefined) return;
    const known = (await scheduler.getRegionById(prepared.id)).region !== undefined;
    const none = (await scheduler.scanRegions(new Uint8Array(0), new Uint8Array(0), 1)).length === 0;
    if (known || none) {
      await keepPreparedRegion(engines);
      log(`kept region ${prepared.id}, prepared before a restart: this store bootstrapped the cluster`);
    } else {
      await dropPreparedRegion(engines, prepared.id);
      log(`dropped region ${prepared.id}, prepared before a restart: another store bootstrapped the cluster`);
    }
    return;
  }
  if (prepared === undefined) {
    const regionId = await scheduler.allocId();
    const peerId = await scheduler.allocId();
    prepared = firstRegion([storeId], regionId);
    prepared.peers = [metapb.Peer({ id: peerId, storeId })];
    await prepareClusterBootstrap(engines, prepared);
  }
  try {
    await scheduler.bootstrap(metapb.Store({ id: storeId, address }));
    await keepPreparedRegion(engines);
    log(`bootstrapped cluster ${scheduler.clusterId} with region ${prepared.id}`);
  } catch (err) {
    if (!(err instanceof SchedulerError) || err.type !== schedulerpb.ErrorType.ALREADY_BOOTSTRAPPED) throw err;
    await dropPreparedRegion(engines, prepared.id);
  }
}
