/**
 * What the raftstore needs from the scheduler. Fire-and-forget: calls return at once; replies arrive through
 * callbacks that the implementation runs through the store's runtime (post), so the store never waits on
 * another actor.
 */
import type { metapb, schedulerpb } from '#proto';

export interface SchedulerClient {
  /** A leader reports its region (regularly, and at once after a conf change or split). */
  regionHeartbeat(req: schedulerpb.RegionHeartbeatRequest): void;
  /** The store reports itself. */
  storeHeartbeat(req: schedulerpb.StoreHeartbeatRequest): void;
  /** Install the handler of the scheduler's answers to region heartbeats: operators (3B). */
  onRegionHeartbeatResponse(handler: (resp: schedulerpb.RegionHeartbeatResponse) => void): void;
  /** Ask for a new region id and peer ids to split `region` (3B). */
  askSplit(region: metapb.Region, reply: (resp: schedulerpb.AskSplitResponse | Error) => void): void;
}

/** A client that tells nobody anything: for a store without a scheduler (unit tests, a single server). */
export class NoopSchedulerClient implements SchedulerClient {
  regionHeartbeats = 0;
  storeHeartbeats = 0;

  regionHeartbeat(_req: schedulerpb.RegionHeartbeatRequest): void {
    this.regionHeartbeats++;
  }

  storeHeartbeat(_req: schedulerpb.StoreHeartbeatRequest): void {
    this.storeHeartbeats++;
  }

  onRegionHeartbeatResponse(_handler: (resp: schedulerpb.RegionHeartbeatResponse) => void): void {
    // no scheduler, no operators
  }

  askSplit(_region: metapb.Region, reply: (resp: schedulerpb.AskSplitResponse | Error) => void): void {
    reply(new Error('no scheduler: cannot allocate ids for a split'));
  }
}
