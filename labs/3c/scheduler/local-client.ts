/**
 * The raftstore's SchedulerClient for a scheduler in the same process: a store's calls go straight to the
 * SchedulerCluster, and every answer comes back as a job posted to the store (never inline), as a remote
 * scheduler's would. The simulation uses it; the real server puts gRPC between the two instead.
 */
import type { metapb, schedulerpb } from '#proto';
import type { SchedulerClient } from '../kv/raftstore/scheduler-client.ts';
import { BadHeartbeatError, StaleRegionError, type SchedulerCluster } from './cluster.ts';

export interface LocalClientOptions {
  /** Runs `job` later as a job of the store (its runtime's post). */
  post(label: string, job: () => void): void;
  /**
   * Hears of each heartbeat the scheduler refused as malformed (a raftstore bug, since stale heartbeats are
   * normal and only counted). Default: ignore it, as a store ignores a remote scheduler's error answer.
   */
  onRefused?(what: string, err: Error): void;
}

export class LocalSchedulerClient implements SchedulerClient {
  /** Region heartbeats the scheduler found stale (a deposed leader's, or one overtaken by a newer one). */
  staleHeartbeats = 0;

  constructor(
    private readonly cluster: SchedulerCluster,
    private readonly storeId: number,
    private readonly options: LocalClientOptions,
  ) {}

  regionHeartbeat(req: schedulerpb.RegionHeartbeatRequest): void {
    try {
      if (req.leader !== undefined && req.leader.storeId !== this.storeId) {
        throw new BadHeartbeatError(`store ${this.storeId} reports region ${req.region?.id} led from store ${req.leader.storeId}`);
      }
      this.cluster.handleRegionHeartbeat(req);
    } catch (err) {
      if (err instanceof StaleRegionError) this.staleHeartbeats++;
      else this.refused('region heartbeat', err);
    }
  }

  storeHeartbeat(req: schedulerpb.StoreHeartbeatRequest): void {
    try {
      if (req.stats === undefined) throw new BadHeartbeatError(`store ${this.storeId} sent a store heartbeat without stats`);
      if (req.stats.storeId !== this.storeId) throw new BadHeartbeatError(`store ${this.storeId} sent the stats of store ${req.stats.storeId}`);
      this.cluster.handleStoreHeartbeat(req.stats);
    } catch (err) {
      this.refused('store heartbeat', err);
    }
  }

  onRegionHeartbeatResponse(handler: (resp: schedulerpb.RegionHeartbeatResponse) => void): void {
    this.cluster.onRegionHeartbeatResponse(this.storeId, (resp) => this.options.post('scheduler: region heartbeat response', () => handler(resp)));
  }

  askSplit(region: metapb.Region, reply: (resp: schedulerpb.AskSplitResponse | Error) => void): void {
    let answer: schedulerpb.AskSplitResponse | Error;
    try {
      answer = this.cluster.askSplit(region);
    } catch (err) {
      answer = err instanceof Error ? err : new Error(String(err));
    }
    this.options.post('scheduler: askSplit reply', () => reply(answer));
  }

  private refused(what: string, err: unknown): void {
    if (!(err instanceof BadHeartbeatError)) throw err;
    this.options.onRefused?.(what, err);
  }
}
