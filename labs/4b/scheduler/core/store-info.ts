/**
 * The scheduler's view of a store: its meta (address, state), its last heartbeat, and the counts the
 * schedulers read (leaders, regions, pending peers, sizes in MB), refreshed from the region index after each
 * region heartbeat (BasicCluster.updateStoreStatus).
 */
import { metapb, type schedulerpb } from '#proto';

export class StoreInfo {
  meta: metapb.Store;
  stats: schedulerpb.StoreStats | undefined;
  /** Virtual or real ms of the last store heartbeat; undefined: never heard from. */
  lastHeartbeatMs: number | undefined;
  leaderCount = 0;
  regionCount = 0;
  pendingPeerCount = 0;
  leaderSize = 0;
  regionSize = 0;

  constructor(meta: metapb.Store, lastHeartbeatMs?: number) {
    this.meta = meta;
    this.stats = undefined;
    this.lastHeartbeatMs = lastHeartbeatMs;
  }

  get id(): number {
    return this.meta.id;
  }

  isUp(): boolean {
    return this.meta.state === metapb.StoreState.Up;
  }

  /** How long since the last heartbeat (Infinity if there was none). */
  downTimeMs(nowMs: number): number {
    return this.lastHeartbeatMs === undefined ? Infinity : nowMs - this.lastHeartbeatMs;
  }
}
