/**
 * The implementation's own scheduler (stage 3C, @impl/scheduler) behind the test cluster's scheduler
 * interface, in place of the mock: stores reach it through LocalSchedulerClient, and its coordinator (the
 * replica checker, then balance-region) runs every `coordinatorIntervalMs` of virtual time as a client actor
 * of the simulation named "scheduler". Its clock is the simulation's and its randomness a fork of the seed's,
 * so a run replays like any other.
 */
import { metapb } from '#proto';
import type { Runtime } from '@impl/runtime/runtime.ts';
import type { SchedulerClient } from '@impl/kv/raftstore/scheduler-client.ts';
import type { RandomSource } from '@impl/util/prng.ts';
import { SchedulerCluster, type SchedulerOptions } from '@impl/scheduler/cluster.ts';
import { Coordinator } from '@impl/scheduler/coordinator.ts';
import { LocalSchedulerClient } from '@impl/scheduler/local-client.ts';
import type { RegionInfo as SchedulerRegion } from '@impl/scheduler/core/region-info.ts';
import { Operator, OpKind, type OpStep } from '@impl/scheduler/operator/operator.ts';
import { cloneRegion, clonePeer } from '@impl/kv/raftstore/region-util.ts';
import type { Sim } from '../sim/index.ts';
import type { ClusterScheduler, RegionInfo } from './cluster-scheduler.ts';
import { BadSchedulerRequestError, ClusterUsageError } from './errors.ts';

export interface ReferenceSchedulerOptions {
  clusterId: number;
  /** The first id the allocator hands out. */
  firstId: number;
  /** The scheduler's settings (max replicas, max store down time). */
  scheduler?: Partial<SchedulerOptions>;
  /** Virtual ms between two coordinator rounds (default 100). */
  coordinatorIntervalMs?: number;
}

export class ReferenceScheduler implements ClusterScheduler {
  readonly clusterId: number;
  readonly cluster: SchedulerCluster;
  readonly coordinator: Coordinator;
  /** Operators the coordinator started. */
  operatorsStarted = 0;
  private readonly intervalMs: number;
  private running = false;
  private stopped = false;

  constructor(
    private readonly sim: Sim,
    options: ReferenceSchedulerOptions,
  ) {
    this.clusterId = options.clusterId;
    this.intervalMs = options.coordinatorIntervalMs ?? 100;
    this.cluster = new SchedulerCluster(() => sim.now(), sim.forkRandom(0x5c4e), options.scheduler, options.firstId - 1);
    this.coordinator = new Coordinator(this.cluster);
  }

  allocId(): number {
    return this.cluster.ids.alloc();
  }

  bootstrap(firstRegion: metapb.Region, stores: readonly metapb.Store[]): void {
    const first = stores.find((s) => firstRegion.peers.some((p) => p.storeId === s.id));
    if (first === undefined) throw new ClusterUsageError(`bootstrap: no store holds a peer of region ${firstRegion.id}`);
    this.cluster.bootstrap(first, cloneRegion(firstRegion));
    for (const store of stores) if (store !== first) this.cluster.putStore(metapb.Store({ ...store }));
    this.startCoordinator();
  }

  putStore(store: metapb.Store): void {
    this.cluster.putStore(metapb.Store({ ...store }));
  }

  clientFor(storeId: number, runtime: Runtime): SchedulerClient {
    if (this.cluster.getStore(storeId) === undefined) throw new ClusterUsageError(`store ${storeId} is not registered with the scheduler`);
    return new LocalSchedulerClient(this.cluster, storeId, {
      post: (label, job) => runtime.post(label, job),
      onRefused: (what, err) => {
        throw new BadSchedulerRequestError(what, err.message);
      },
    });
  }

  getRegion(key: Uint8Array): RegionInfo | undefined {
    return view(this.cluster.getRegionByKey(key));
  }

  getRegionById(regionId: number): RegionInfo | undefined {
    return view(this.cluster.getRegion(regionId));
  }

  leaderOf(regionId: number): metapb.Peer | undefined {
    const leader = this.cluster.getRegion(regionId)?.leader;
    return leader === undefined ? undefined : clonePeer(leader);
  }

  allRegions(): metapb.Region[] {
    return this.cluster.core.regions.all().map((r) => cloneRegion(r.meta));
  }

  randomRegion(random: RandomSource): metapb.Region | undefined {
    const led = this.cluster.core.regions.all().filter((r) => r.leader !== undefined);
    return led.length === 0 ? undefined : cloneRegion(led[random.nextInt(led.length)]!.meta);
  }

  addPeer(regionId: number, peer: metapb.Peer): void {
    this.testOperator(regionId, { kind: 'add-peer', toStore: peer.storeId, peerId: peer.id });
  }

  removePeer(regionId: number, peer: metapb.Peer): void {
    this.testOperator(regionId, { kind: 'remove-peer', fromStore: peer.storeId });
  }

  transferLeader(regionId: number, peer: metapb.Peer): void {
    const region = this.cluster.getRegion(regionId);
    this.testOperator(regionId, { kind: 'transfer-leader', fromStore: region?.leader?.storeId ?? 0, toStore: peer.storeId });
  }

  describeOperator(regionId: number): string | undefined {
    return this.cluster.operators.get(regionId)?.toString();
  }

  stop(): void {
    this.stopped = true;
  }

  /** An operator the test asks for: an admin one, so it replaces whatever the coordinator was doing there. */
  private testOperator(regionId: number, step: OpStep): void {
    const region = this.cluster.getRegion(regionId);
    if (region === undefined) throw new ClusterUsageError(`the scheduler does not know region ${regionId}`);
    const kind = OpKind.Admin | (step.kind === 'transfer-leader' ? OpKind.Leader : OpKind.Region);
    const op = new Operator('test', regionId, { version: region.version, confVer: region.confVer }, kind, [step]);
    this.cluster.operators.removeRegion(regionId);
    if (!this.cluster.operators.add(op)) throw new ClusterUsageError(`the scheduler refused the test's operator ${op.toString()}`);
  }

  private startCoordinator(): void {
    if (this.running) return;
    this.running = true;
    this.sim.spawnClient('scheduler', async () => {
      while (!this.stopped) {
        await this.sim.sleep(this.intervalMs);
        if (!this.stopped) this.operatorsStarted += this.coordinator.runOnce();
      }
    });
  }
}

function view(region: SchedulerRegion | undefined): RegionInfo | undefined {
  if (region === undefined) return undefined;
  return { region: cloneRegion(region.meta), leader: region.leader === undefined ? undefined : clonePeer(region.leader) };
}
