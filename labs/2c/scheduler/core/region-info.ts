/**
 * The scheduler's view of a region: what its leader last reported (the region's range, epoch and members),
 * who the leader is, which members are still catching up (pending), and how big it is.
 *
 * Ids may be 0 (TinyKV's tests use region 0 and peer 0). A region without a leader reads as leader peer id 0,
 * one without an epoch as version 0 and conf_ver 0.
 */
import type { metapb } from '#proto';

export interface RegionInfoFields {
  meta: metapb.Region;
  leader?: metapb.Peer | undefined;
  pendingPeers?: metapb.Peer[];
  /** Approximate size in MB (at least 1 for a region reported by a heartbeat). */
  approximateSize?: number;
}

export class RegionInfo {
  readonly meta: metapb.Region;
  readonly leader: metapb.Peer | undefined;
  readonly pendingPeers: readonly metapb.Peer[];
  readonly approximateSize: number;

  constructor(fields: RegionInfoFields) {
    this.meta = fields.meta;
    this.leader = fields.leader;
    this.pendingPeers = fields.pendingPeers ?? [];
    this.approximateSize = fields.approximateSize ?? 0;
  }

  get id(): number {
    return this.meta.id;
  }

  get startKey(): Uint8Array {
    return this.meta.startKey;
  }

  /** Empty: no upper bound. */
  get endKey(): Uint8Array {
    return this.meta.endKey;
  }

  get version(): number {
    return this.meta.regionEpoch?.version ?? 0;
  }

  get confVer(): number {
    return this.meta.regionEpoch?.confVer ?? 0;
  }

  get peers(): readonly metapb.Peer[] {
    return this.meta.peers;
  }

  /** The leader's peer id, 0 without a leader. */
  get leaderPeerId(): number {
    return this.leader?.id ?? 0;
  }

  /** The stores holding a member of the region. */
  storeIds(): Set<number> {
    return new Set(this.meta.peers.map((p) => p.storeId));
  }

  /** Members that are not the leader. */
  followers(): metapb.Peer[] {
    return this.meta.peers.filter((p) => p.id !== this.leaderPeerId || this.leader === undefined);
  }

  peerOnStore(storeId: number): metapb.Peer | undefined {
    return this.meta.peers.find((p) => p.storeId === storeId);
  }

  isPending(peerId: number): boolean {
    return this.pendingPeers.some((p) => p.id === peerId);
  }

  /** A copy with some fields replaced (the meta is shared unless replaced). */
  with(fields: Partial<RegionInfoFields>): RegionInfo {
    return new RegionInfo({
      meta: fields.meta ?? this.meta,
      leader: 'leader' in fields ? fields.leader : this.leader,
      pendingPeers: fields.pendingPeers ?? [...this.pendingPeers],
      approximateSize: fields.approximateSize ?? this.approximateSize,
    });
  }
}

/** Bytes to the scheduler's MB, at least 1 (an empty region still counts). */
export function approximateSizeMb(bytes: number): number {
  return Math.max(1, Math.floor(bytes / (1024 * 1024)));
}
