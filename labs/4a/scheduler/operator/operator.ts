/**
 * Operators: what the scheduler wants done to a region, as a list of steps, each sent to the region's leader
 * in a heartbeat response until the region shows it done.
 *
 *   AddPeer(toStore, peerId)     done when the region has that peer on that store and it is not pending
 *   RemovePeer(fromStore)        done when the region has no peer on that store
 *   TransferLeader(from, to)     done when the region's leader is on `to`
 *
 * A MovePeer operator adds the new peer first, then (if the source leads) hands leadership away, then removes
 * the old peer: the region never has fewer members than before.
 */
import type { metapb } from '#proto';
import type { RegionInfo } from '../core/region-info.ts';

/** Kinds are bit flags (an operator can be several). */
export const OpKind = {
  Leader: 1,
  Region: 2,
  Admin: 4,
  Adjacent: 8,
  Replica: 16,
  Balance: 32,
} as const;

export type OpStep =
  | { kind: 'add-peer'; toStore: number; peerId: number }
  | { kind: 'remove-peer'; fromStore: number }
  | { kind: 'transfer-leader'; fromStore: number; toStore: number };

/** Is `step` done in `region`? */
export function stepDone(step: OpStep, region: RegionInfo): boolean {
  switch (step.kind) {
    case 'add-peer': {
      const peer = region.peerOnStore(step.toStore);
      return peer !== undefined && peer.id === step.peerId && !region.isPending(peer.id);
    }
    case 'remove-peer':
      return region.peerOnStore(step.fromStore) === undefined;
    case 'transfer-leader':
      return region.leader !== undefined && region.leader.storeId === step.toStore;
  }
}

/** Does `step`, once taken, show in the region's conf_ver? */
function changesConfVer(step: OpStep, region: RegionInfo): boolean {
  switch (step.kind) {
    case 'add-peer':
      return region.peerOnStore(step.toStore)?.id === step.peerId;
    case 'remove-peer':
      return region.peerOnStore(step.fromStore) === undefined;
    case 'transfer-leader':
      return false;
  }
}

export function describeStep(step: OpStep): string {
  switch (step.kind) {
    case 'add-peer':
      return `add peer ${step.peerId} on store ${step.toStore}`;
    case 'remove-peer':
      return `remove peer on store ${step.fromStore}`;
    case 'transfer-leader':
      return `transfer leader from store ${step.fromStore} to store ${step.toStore}`;
  }
}

/** Region operators time out after 10 minutes, leader-only ones after 10 seconds. */
export const REGION_OPERATOR_TIMEOUT_MS = 10 * 60_000;
export const LEADER_OPERATOR_TIMEOUT_MS = 10_000;

export class Operator {
  private current = 0;
  /** When the controller started it (undefined: not started). */
  startMs: number | undefined;

  constructor(
    readonly desc: string,
    readonly regionId: number,
    /** The region's epoch when the operator was made. */
    readonly epoch: { version: number; confVer: number },
    readonly kind: number,
    readonly steps: readonly OpStep[],
  ) {}

  get isFinished(): boolean {
    return this.current >= this.steps.length;
  }

  /** Passes every step `region` shows done; returns the next step to take, or undefined when all are done. */
  check(region: RegionInfo): OpStep | undefined {
    while (this.current < this.steps.length && stepDone(this.steps[this.current]!, region)) this.current++;
    return this.steps[this.current];
  }

  isTimedOut(nowMs: number): boolean {
    if (this.isFinished || this.startMs === undefined) return false;
    const limit = this.kind & OpKind.Region ? REGION_OPERATOR_TIMEOUT_MS : LEADER_OPERATOR_TIMEOUT_MS;
    return nowMs - this.startMs > limit;
  }

  /** How many of the steps taken so far (the current one included) show in `region`'s conf_ver. */
  confVerChanged(region: RegionInfo): number {
    let n = 0;
    const last = Math.min(this.current, this.steps.length - 1);
    for (let i = 0; i <= last; i++) if (changesConfVer(this.steps[i]!, region)) n++;
    return n;
  }

  toString(): string {
    return `${this.desc} (region ${this.regionId}: ${this.steps.map(describeStep).join(', ')})`;
  }
}

export class OperatorError extends Error {
  override name = 'OperatorError';
}

/**
 * Moves `region`'s peer from `fromStore` to `toStore` (as new peer `peerId`): add it, hand leadership away if
 * the source leads (to a follower on a known store, else to the new peer), remove the old peer.
 */
export function createMovePeerOperator(
  desc: string,
  region: RegionInfo,
  kind: number,
  fromStore: number,
  toStore: number,
  peerId: number,
  storeExists: (id: number) => boolean,
): Operator {
  const steps: OpStep[] = [{ kind: 'add-peer', toStore, peerId }];
  let opKind = kind | OpKind.Region;
  if (region.leader !== undefined && region.leader.storeId === fromStore) {
    const candidates = [...region.followers().map((p: metapb.Peer) => p.storeId), toStore];
    const to = candidates.find((id) => id !== fromStore && storeExists(id));
    if (to === undefined) throw new OperatorError(`region ${region.id}: no store can take over its leadership`);
    steps.push({ kind: 'transfer-leader', fromStore, toStore: to });
    opKind |= OpKind.Leader;
  }
  steps.push({ kind: 'remove-peer', fromStore });
  return new Operator(desc, region.id, { version: region.version, confVer: region.confVer }, opKind, steps);
}

/** Adds a peer on `toStore` (a replica checker's repair). */
export function createAddPeerOperator(desc: string, region: RegionInfo, kind: number, toStore: number, peerId: number): Operator {
  return new Operator(desc, region.id, { version: region.version, confVer: region.confVer }, kind | OpKind.Region, [{ kind: 'add-peer', toStore, peerId }]);
}

/** Removes the peer on `fromStore` (a replica checker's repair of a region with a member too many). */
export function createRemovePeerOperator(desc: string, region: RegionInfo, kind: number, fromStore: number): Operator {
  return new Operator(desc, region.id, { version: region.version, confVer: region.confVer }, kind | OpKind.Region, [{ kind: 'remove-peer', fromStore }]);
}
