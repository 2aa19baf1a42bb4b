/**
 * The operator controller: at most one operator per region. On each heartbeat of a region with an operator it
 * checks the operator against what the leader reported and sends the next step to the leader (the answer to
 * its heartbeat), or drops the operator: finished, timed out, or stale (the region's membership changed in a
 * way the operator did not do).
 */
import { eraftpb, metapb, schedulerpb } from '#proto';
import type { RegionInfo } from '../core/region-info.ts';
import { OpKind, Operator, type OpStep } from './operator.ts';

export type OperatorOutcome = 'running' | 'success' | 'timeout' | 'cancel' | 'replaced';

export interface ControllerContext {
  nowMs(): number;
  getRegion(id: number): RegionInfo | undefined;
  /** Hands a heartbeat response to the region's leader. */
  send(resp: schedulerpb.RegionHeartbeatResponse): void;
  /** Hears of each operator started and ended (a server logs them). */
  onEvent?(op: Operator, outcome: OperatorOutcome): void;
}

export class OperatorController {
  private readonly running = new Map<number, Operator>();
  /** How each region's last operator ended. */
  private readonly outcomes = new Map<number, OperatorOutcome>();

  constructor(private readonly ctx: ControllerContext) {}

  get(regionId: number): Operator | undefined {
    return this.running.get(regionId);
  }

  /** Operators running whose kind has any bit of `mask`. */
  count(mask: number): number {
    let n = 0;
    for (const op of this.running.values()) if (op.kind & mask) n++;
    return n;
  }

  status(regionId: number): OperatorOutcome | undefined {
    return this.running.has(regionId) ? 'running' : this.outcomes.get(regionId);
  }

  /**
   * Starts `op` if its region is known at the epoch it was made for and no operator of the same or higher
   * priority runs there; sends its first step at once. Returns whether it was started.
   */
  add(op: Operator): boolean {
    const region = this.ctx.getRegion(op.regionId);
    const existing = this.running.get(op.regionId);
    if (region === undefined || region.version !== op.epoch.version || region.confVer !== op.epoch.confVer || (existing !== undefined && priority(op) <= priority(existing))) {
      this.outcomes.set(op.regionId, 'cancel');
      return false;
    }
    if (existing !== undefined) this.outcomes.set(op.regionId, 'replaced');
    op.startMs = this.ctx.nowMs();
    this.running.set(op.regionId, op);
    this.ctx.onEvent?.(op, 'running');
    const step = op.check(region);
    if (step !== undefined) this.sendStep(region, step);
    return true;
  }

  /** On a heartbeat of `region`: the next step of its operator, or the operator's end. */
  dispatch(region: RegionInfo): void {
    const op = this.running.get(region.id);
    if (op === undefined) return;
    const step = op.check(region);
    if (step !== undefined && !op.isTimedOut(this.ctx.nowMs())) {
      if (region.confVer - op.epoch.confVer > op.confVerChanged(region)) {
        this.finish(op, 'cancel'); // someone else changed the membership
        return;
      }
      this.sendStep(region, step);
      return;
    }
    this.finish(op, step === undefined ? 'success' : 'timeout');
  }

  /**
   * Ends every operator whose region is gone or whose time ran out: dispatch only sees regions that report,
   * and a region whose leader fell silent would otherwise keep its operator for ever.
   */
  prune(): void {
    const now = this.ctx.nowMs();
    for (const op of [...this.running.values()]) {
      if (this.ctx.getRegion(op.regionId) === undefined) this.finish(op, 'cancel');
      else if (op.isTimedOut(now)) this.finish(op, 'timeout');
    }
  }

  /** Drops the operator of a region that no longer exists. */
  removeRegion(regionId: number): void {
    const op = this.running.get(regionId);
    if (op !== undefined) this.finish(op, 'cancel');
  }

  private finish(op: Operator, outcome: OperatorOutcome): void {
    this.running.delete(op.regionId);
    this.outcomes.set(op.regionId, outcome);
    this.ctx.onEvent?.(op, outcome);
  }

  private sendStep(region: RegionInfo, step: OpStep): void {
    if (region.leader === undefined) return;
    const resp = schedulerpb.RegionHeartbeatResponse({
      regionId: region.id,
      regionEpoch: metapb.RegionEpoch({ version: region.version, confVer: region.confVer }),
      targetPeer: metapb.Peer({ id: region.leader.id, storeId: region.leader.storeId }),
    });
    switch (step.kind) {
      case 'add-peer':
        // Already on the store (still catching up): nothing to send, wait for it.
        if (region.peerOnStore(step.toStore) !== undefined) return;
        resp.changePeer = schedulerpb.ChangePeer({ changeType: eraftpb.ConfChangeType.AddNode, peer: metapb.Peer({ id: step.peerId, storeId: step.toStore }) });
        break;
      case 'remove-peer': {
        const peer = region.peerOnStore(step.fromStore);
        if (peer === undefined) return;
        resp.changePeer = schedulerpb.ChangePeer({ changeType: eraftpb.ConfChangeType.RemoveNode, peer: metapb.Peer({ id: peer.id, storeId: peer.storeId }) });
        break;
      }
      case 'transfer-leader': {
        const peer = region.peerOnStore(step.toStore);
        if (peer === undefined) return;
        resp.transferLeader = schedulerpb.TransferLeader({ peer: metapb.Peer({ id: peer.id, storeId: peer.storeId }) });
        break;
      }
    }
    this.ctx.send(resp);
  }
}

function priority(op: Operator): number {
  return op.kind & OpKind.Admin ? 1 : 0;
}
