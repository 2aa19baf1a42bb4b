/**
 * The life cycle of the cluster's stores: their engines in a temporary directory, bootstrap, and each store
 * as a simulation node (start, crash, restart).
 *
 * Crash and restart: stopStore crashes the store's node (sim.crash: its pending work is lost, then the kill
 * hook closes its engines); startStore reopens the engines and calls Raftstore.start again.
 *
 * The engines keep their bytes on the simulation's disk (harness/sim/disk.ts: in memory, kept across crashes)
 * unless the cluster asks for LevelDB (disk 'level', or SIM_DISK=level in the environment): the same runs,
 * event for event, on the real engine.
 */
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { metapb } from '#proto';
import { Raftstore } from '@impl/kv/raftstore/raftstore.ts';
import type { RaftstoreConfig } from '@impl/kv/raftstore/config.ts';
import { closeEngines, openEngines, type Engines } from '@impl/kv/raftstore/engines.ts';
import { bootstrapStore, prepareBootstrapRegion } from '@impl/kv/raftstore/bootstrap.ts';
import type { EngineOptions } from '@impl/kv/storage/engine.ts';
import { SimDisk } from '../sim/disk.ts';
import type { Sim, SimNetwork, SimNodeRuntime } from '../sim/index.ts';
import { ClusterUsageError } from './errors.ts';
import type { ClusterScheduler } from './cluster-scheduler.ts';
import type { RaftMessage } from './raft-network.ts';

/** What a running store node is: its raftstore and the engines it was started on. */
export interface StoreInstance {
  raftstore: Raftstore;
  engines: Engines;
}

/** What the stores are started with. */
export interface StoresSetup {
  /** Number of stores (ids 1..count). */
  count: number;
  clusterId: number;
  config: RaftstoreConfig;
  network: SimNetwork<RaftMessage>;
  scheduler: ClusterScheduler;
  /** Stores holding a peer of the first region (default: every store). */
  firstRegionOn?: readonly number[];
  /** Stores that neither start nor register with the scheduler until joinStore (default: none). */
  joinLater?: readonly number[];
  /** Where the temporary directory is made (default: the OS temp directory). */
  baseDir: string | undefined;
  /** Where the engines keep their bytes: the simulation's disk (in memory) or LevelDB files. */
  disk: 'memory' | 'level';
  /** Sees each store's engines once they are open, before the store starts (the invariant checks). */
  onEnginesOpened?: (storeId: number, engines: Engines) => void;
}

function storeMeta(id: number): metapb.Store {
  return metapb.Store({ id, address: `store-${id}` });
}

/** The disk a cluster uses when its options do not say: SIM_DISK=level, else the simulation's disk. */
export function defaultDisk(env: Record<string, string | undefined> = process.env): 'memory' | 'level' {
  return env.SIM_DISK === 'level' ? 'level' : 'memory';
}

/** Stores 1..count as simulation nodes, registered at construction and started by start(). */
export class ClusterStores {
  readonly count: number;
  private readonly setup: StoresSetup;
  private dir: string | undefined;
  private readonly liveEngines = new Map<number, Engines>();
  private started = false;
  private readonly joined = new Set<number>();
  private readonly engineOptions: EngineOptions;

  constructor(
    private readonly sim: Sim,
    setup: StoresSetup,
  ) {
    this.count = setup.count;
    this.setup = setup;
    for (const id of [...(setup.firstRegionOn ?? []), ...(setup.joinLater ?? [])]) this.checkStore(id);
    if (setup.firstRegionOn !== undefined && setup.firstRegionOn.length === 0) throw new ClusterUsageError('firstRegionOn names no store');
    if (setup.firstRegionOn?.some((id) => setup.joinLater?.includes(id))) throw new ClusterUsageError('a store of the first region cannot join later');
    this.engineOptions = setup.disk === 'memory' ? { store: new SimDisk().factory } : {};
    for (const id of this.storeIds()) {
      sim.addNode<StoreInstance>(id, {
        start: (rt) => this.startInstance(id, rt),
        kill: (instance) => this.killInstance(id, instance),
      });
    }
  }

  /** 1..count. */
  storeIds(): number[] {
    return Array.from({ length: this.count }, (_, i) => i + 1);
  }

  /** The temporary directory holding the stores' engines (undefined before start and after shutdown). */
  get directory(): string | undefined {
    return this.dir;
  }

  /**
   * Create the stores' engines, bootstrap them (store idents; the first region, id 1 over every key with
   * peer i on store i of firstRegionOn; the scheduler's record of it), then start every store that does not
   * join later. Call from a client actor.
   */
  async start(): Promise<void> {
    if (this.started) throw new ClusterUsageError('the cluster is already started');
    this.started = true;
    const base = this.setup.baseDir ?? tmpdir();
    await mkdir(base, { recursive: true });
    this.dir = await mkdtemp(join(base, 'tinykv-ts-cluster-'));
    const region = metapb.Region({
      id: 1,
      startKey: new Uint8Array(0),
      endKey: new Uint8Array(0),
      regionEpoch: metapb.RegionEpoch({ version: 1, confVer: 1 }),
      peers: this.firstRegionOn().map((id) => metapb.Peer({ id, storeId: id })),
    });
    for (const id of this.storeIds()) {
      const engines = await openEngines(this.storeDir(id), this.engineOptions);
      try {
        await bootstrapStore(engines, this.setup.clusterId, id);
        if (region.peers.some((p) => p.storeId === id)) await prepareBootstrapRegion(engines, region);
      } finally {
        await closeEngines(engines);
      }
    }
    const startNow = this.storeIds().filter((id) => !this.joinsLater(id));
    this.setup.scheduler.bootstrap(region, startNow.map(storeMeta));
    for (const id of startNow) await this.sim.startNode(id);
  }

  /** A store of joinLater joins: it registers with the scheduler and starts, holding no region. */
  async joinStore(id: number): Promise<void> {
    this.checkStore(id);
    if (!this.joinsLater(id)) throw new ClusterUsageError(`store ${id} is not one that joins later (ClusterOptions.joinLater)`);
    if (!this.started) throw new ClusterUsageError('the cluster is not started');
    if (this.joined.has(id)) throw new ClusterUsageError(`store ${id} has joined already`);
    this.joined.add(id);
    this.setup.scheduler.putStore(storeMeta(id));
    await this.sim.startNode(id);
  }

  /** Stores holding a peer of the first region. */
  firstRegionOn(): number[] {
    return [...(this.setup.firstRegionOn ?? this.storeIds())];
  }

  private joinsLater(id: number): boolean {
    return this.setup.joinLater?.includes(id) ?? false;
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
    if (this.joinsLater(id) && !this.joined.has(id)) throw new ClusterUsageError(`store ${id} has not joined yet (joinStore)`);
    await this.sim.startNode(id);
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

  /** A usage error unless `id` is one of the cluster's stores. */
  checkStore(id: number): void {
    if (!Number.isInteger(id) || id < 1 || id > this.count) {
      throw new ClusterUsageError(`no store ${id}: the cluster has stores 1..${this.count}`);
    }
  }

  private storeDir(id: number): string {
    if (this.dir === undefined) throw new ClusterUsageError('the cluster is not started');
    return join(this.dir, `store-${id}`);
  }

  private async startInstance(id: number, rt: SimNodeRuntime): Promise<StoreInstance> {
    const engines = await openEngines(this.storeDir(id), this.engineOptions);
    try {
      this.setup.onEnginesOpened?.(id, engines);
      const raftstore = await Raftstore.start({
        storeId: id,
        runtime: rt,
        transport: this.setup.network.transport(rt),
        engines,
        scheduler: this.setup.scheduler.clientFor(id, rt),
        config: this.setup.config,
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
}
