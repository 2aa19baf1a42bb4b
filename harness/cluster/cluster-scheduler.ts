/**
 * What the test cluster needs of a scheduler. Two implement it:
 *   mock-scheduler.ts       TinyKV's MockSchedulerClient: a region map and operators the test sets (2B-3B)
 *   reference-scheduler.ts  the implementation's own scheduler (reference/scheduler, stage 3C) with its
 *                           replica checker and balance-region running on a timer
 */
import type { metapb } from '#proto';
import type { Runtime } from '@impl/runtime/runtime.ts';
import type { SchedulerClient } from '@impl/kv/raftstore/scheduler-client.ts';
import type { RandomSource } from '@impl/util/prng.ts';

/** A region and the leader the scheduler last heard from. */
export interface RegionInfo {
  region: metapb.Region;
  leader: metapb.Peer | undefined;
}

export interface ClusterScheduler {
  readonly clusterId: number;
  /** A fresh unique id (regions, peers). */
  allocId(): number;
  /** Record the cluster's first region and its stores. Can be done once. */
  bootstrap(firstRegion: metapb.Region, stores: readonly metapb.Store[]): void;
  /** Register a store that joins later (it holds no region yet). */
  putStore(store: metapb.Store): void;
  /** The SchedulerClient of one incarnation of a store, whose replies run as jobs on `runtime`. */
  clientFor(storeId: number, runtime: Runtime): SchedulerClient;
  /** The region whose range holds `key`, with its last known leader (copies). */
  getRegion(key: Uint8Array): RegionInfo | undefined;
  getRegionById(regionId: number): RegionInfo | undefined;
  leaderOf(regionId: number): metapb.Peer | undefined;
  /** Every known region in key order (copies). */
  allRegions(): metapb.Region[];
  /** A region chosen at random among those with a known leader (TinyKV's getRandomRegion). */
  randomRegion(random: RandomSource): metapb.Region | undefined;
  /** Ask the region's leader to add `peer` (an operator; replaces any operator the test set before). */
  addPeer(regionId: number, peer: metapb.Peer): void;
  removePeer(regionId: number, peer: metapb.Peer): void;
  transferLeader(regionId: number, peer: metapb.Peer): void;
  /** The region's unfinished operator in words, for failure messages. */
  describeOperator(regionId: number): string | undefined;
  /** Stop any background work (the cluster shuts down). */
  stop(): void;
}
