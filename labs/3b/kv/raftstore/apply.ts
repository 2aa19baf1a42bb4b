/**
 * Applying committed entries to the kv engine, and working out the answers to the proposals waiting for them.
 *
 * An Applier handles the committed entries of one Ready. Their writes go into one kv write batch together
 * with the apply state (the last applied index), so the data and "how far we applied" can never disagree
 * after a crash. Reads (Get, Snap) must see everything applied before them, so they first write out the
 * batch so far.
 *
 * The Applier changes only this peer's data, storage and region. Everything else it returns, for the
 * message handler to act on once every batch is written (ApplyResult): the answers to the proposals, and
 * the effects on the store (log keys to delete, a new region's peer to create, the scheduler to tell, this
 * peer to destroy).
 *
 * Every entry is checked again as it is applied (the region may have changed since it was proposed):
 * the command's epoch must still match (else EpochNotMatch) and its keys must lie in the region (else
 * KeyNotInRegion). A Snap has no key, so it is not key-checked; its response carries a copy of the region.
 *
 * Admin entries: CompactLog (2C) moves the truncated state; Split and conf changes (3B) replace the region
 * (regions are never changed in place: every change builds a new object, so copies handed out stay true).
 * A conf change that removes this very peer ends the Applier: the peer's tombstone is written and nothing
 * after it is applied or written for this peer.
 */
import { decode, eraftpb, metapb, raft_cmdpb, raft_serverpb, type errorpb } from '#proto';
import { NotImplemented } from '../../util/not-implemented.ts';
import { storedPairSize, WriteBatch } from '../storage/engine.ts';
import type { ColumnFamily } from '../storage/storage.ts';
import type { Callback, CommandResult } from './callback.ts';
import { epochNotMatchError, errorResponse, keyNotInRegionError, newCmdResponse, otherError, staleCommandError } from './cmd-resp.ts';
import { checkRequests, epochMismatch } from './command-checks.ts';
import type { StoreContext } from './context.ts';
import { writeTombstone } from './destroy.ts';
import { writeApplyState, writeRegionState } from './meta.ts';
import type { Peer } from './peer.ts';
import { RegionReader } from './region-reader.ts';
import { cloneEpoch, clonePeer, cloneRegion, describeRegion, findPeerById, findPeerOnStore, keyInRegion } from './region-util.ts';
import { checkSplitRequest, splitRegion } from './split.ts';

const { CmdType, AdminCmdType } = raft_cmdpb;

/** Something applying did that the message handler must act on: store-wide work the Applier does not do. */
export type ApplyEffect =
  /** A CompactLog moved the truncated state to `index`: the log keys up to it can be deleted. */
  | { readonly kind: 'compacted'; readonly index: number }
  /** A split wrote the state of the new region `region`: its peer on this store must be created. */
  | { readonly kind: 'split'; readonly region: metapb.Region }
  /** The region's range or members changed: as leader, tell the scheduler at once. */
  | { readonly kind: 'regionChanged' }
  /** A conf change removed this peer: its tombstone is written and nothing after it was applied. */
  | { readonly kind: 'destroyed' };

/** What one write of the Applier made final: the answers it allows and the effects on the store it carries. */
export interface WrittenBatch {
  /** Answers to the proposals whose entries this write holds, in order. */
  readonly answers: Array<{ readonly cb: Callback; readonly result: CommandResult }>;
  /** Effects on the store, in the order they happened. */
  readonly effects: ApplyEffect[];
}

/** What applying a Ready's committed entries did, write by write (everything in it is written already). */
export interface ApplyResult {
  readonly batches: WrittenBatch[];
}

export class Applier {
  private kvWB = new WriteBatch();
  /** The last entry whose effects are in kvWB or already written. */
  private applied: number;
  /** What this Applier did, returned by applyEntries; the last batch is the one not written yet. */
  private readonly result: ApplyResult = { batches: [{ answers: [], effects: [] }] };
  /** A conf change removed this peer: its tombstone is written; no apply state may follow (3B). */
  private destroyed = false;

  constructor(
    private readonly peer: Peer,
    private readonly ctx: StoreContext,
  ) {
    this.applied = peer.storage.appliedIndex();
  }

  /**
   * Applies `entries` (committed, in order) and persists the apply state with the data. Returns what it did:
   * the answers to deliver and the effects to act on, all written by then.
   */
  async applyEntries(entries: eraftpb.Entry[]): Promise<ApplyResult> {
    // Your code here (2B): apply each entry after the applied index in order (a conf change entry: applyConfChange; a normal entry with data: applyNormalEntry; an empty entry is a new leader's no-op), track the applied index, write everything out at the end (flush), and return what was done (this.done())
    for (const entry of entries) {
      if (entry.index <= this.applied) continue;
      if (entry.entryType === eraftpb.EntryType.EntryConfChange) await this.applyConfChange(entry);
      else if (entry.data.length > 0) await this.applyNormalEntry(entry);
      // A conf change removed this peer: nothing after it may be applied or written for it (3B).
      if (this.destroyed) break;
      this.applied = entry.index;
    }
    await this.flush();
    return this.done();
    // End of your code (2B).
  }

  /** Writes the batch so far with the apply state (applied index = the last entry fully handled). */
  private async flush(): Promise<void> {
    // Your code here (2B): put the apply state (with the applied index) into the batch (not after this peer's tombstone), write the batch to the kv engine once, and start a new batch
    const storage = this.peer.storage;
    if (!this.kvWB.isEmpty() || this.applied !== storage.applyState.appliedIndex) {
      if (!this.destroyed) {
        storage.applyState.appliedIndex = this.applied;
        writeApplyState(this.kvWB, this.peer.regionId, storage.applyState);
      }
      const batch = this.kvWB;
      this.kvWB = new WriteBatch();
      await this.ctx.engines.kv.write(batch);
    }
    // End of your code (2B).
    // What was answered and reported so far is written now; what comes next waits for the next write.
    this.result.batches.push({ answers: [], effects: [] });
  }

  /**
   * The callback waiting for `entry`, if this peer proposed it. Every proposal at a smaller index, or at this
   * index but of another term, can never be applied any more (another entry took its place): it is answered
   * StaleCommand. Proposals at later indexes keep waiting.
   */
  private takeProposal(entry: eraftpb.Entry): Callback | undefined {
    // Your code here (2B): take the proposals up to this entry's index (peer.takeProposalsUpTo, oldest first): the one with this index and term is this entry's; every other one is stale (answer StaleCommand)
    const peer = this.peer;
    let mine: Callback | undefined;
    for (const p of peer.takeProposalsUpTo(entry.index)) {
      if (p.index === entry.index && p.term === entry.term && mine === undefined) mine = p.cb;
      else this.answer(p.cb, { response: errorResponse(staleCommandError(), peer.term()) });
    }
    return mine;
    // End of your code (2B).
  }

  /** The answer `result` for `cb`, delivered by the message handler once the write holding it is done. */
  private answer(cb: Callback, result: CommandResult): void {
    this.current().answers.push({ cb, result });
  }

  /** An effect on the store for the message handler, acted on once the write holding it is done (see ApplyEffect). */
  private report(effect: ApplyEffect): void {
    this.current().effects.push(effect);
  }

  /** The batch whose answers and effects wait for the next write. */
  private current(): WrittenBatch {
    return this.result.batches[this.result.batches.length - 1]!;
  }

  /** Everything applied is written: the result, without the empty batch after the last write. */
  private done(): ApplyResult {
    const last = this.current();
    if (last.answers.length === 0 && last.effects.length === 0) this.result.batches.pop();
    return this.result;
  }

  private async applyNormalEntry(entry: eraftpb.Entry): Promise<void> {
    // Your code here (2B): decode the RaftCmdRequest (an undecodable entry is skipped), find its proposal, execute it, and queue the answer for the proposer
    const cb = this.takeProposal(entry);
    let req: raft_cmdpb.RaftCmdRequest;
    try {
      req = decode('raft_cmdpb.RaftCmdRequest', entry.data);
    } catch (err) {
      this.peer.logger.error('skipping an entry that is not a raft command', { index: entry.index, error: (err as Error).message });
      if (cb !== undefined) this.answer(cb, { response: errorResponse(otherError('the command could not be decoded'), this.peer.term()) });
      return;
    }
    const result = await this.execute(entry, req, cb !== undefined);
    if (cb !== undefined) this.answer(cb, result);
    else void result.reader?.close();
    // End of your code (2B).
  }

  /**
   * Executes a command against the current region. `wantResult`: someone waits for the answer (only the
   * proposer reads values and takes a snapshot; every peer applies the writes).
   */
  private async execute(entry: eraftpb.Entry, req: raft_cmdpb.RaftCmdRequest, wantResult: boolean): Promise<CommandResult> {
    const peer = this.peer;
    const region = peer.region();
    // Your code here (2B): check the epoch (EpochNotMatch) and the keys (KeyNotInRegion, checkRequests) again; then Get (reads what was applied before it), Put and Delete (into the batch), Snap (a RegionReader over a kv engine snapshot taken after the writes before it, and a copy of the region)
    if (epochMismatch(req, region)) {
      const e = cloneEpoch(region.regionEpoch);
      return { response: errorResponse(epochNotMatchError(`region ${region.id} is at epoch v${e.version}/c${e.confVer} now`, [region]), peer.term()) };
    }
    if (req.adminRequest !== undefined) return await this.executeAdmin(entry, req.adminRequest);
    const problem = checkRequests(req.requests, region);
    if (problem !== undefined) return { response: errorResponse(problem, peer.term()) };

    const response = newCmdResponse(peer.term());
    let reader: RegionReader | undefined;
    for (const r of req.requests) {
      switch (r.cmdType) {
        case CmdType.Get: {
          const { cf, key } = r.get!;
          let value: Uint8Array = new Uint8Array(0);
          if (wantResult) {
            await this.flush();
            value = (await this.ctx.engines.kv.getCF(cf as ColumnFamily, key)) ?? value;
          }
          response.responses.push(raft_cmdpb.Response({ cmdType: CmdType.Get, get: raft_cmdpb.GetResponse({ value }) }));
          break;
        }
        case CmdType.Put: {
          const { cf, key, value } = r.put!;
          this.kvWB.putCF(cf as ColumnFamily, key, value);
          peer.noteWrite(storedPairSize(cf as ColumnFamily, key, value));
          response.responses.push(raft_cmdpb.Response({ cmdType: CmdType.Put, put: raft_cmdpb.PutResponse() }));
          break;
        }
        case CmdType.Delete: {
          const { cf, key } = r.delete!;
          this.kvWB.deleteCF(cf as ColumnFamily, key);
          peer.noteDelete(key.length);
          response.responses.push(raft_cmdpb.Response({ cmdType: CmdType.Delete, delete: raft_cmdpb.DeleteResponse() }));
          break;
        }
        case CmdType.Snap: {
          if (wantResult) {
            await this.flush();
            void reader?.close();
            reader = new RegionReader(this.ctx.engines.kv.snapshot(), region);
          }
          response.responses.push(
            raft_cmdpb.Response({ cmdType: CmdType.Snap, snap: raft_cmdpb.SnapResponse({ region: cloneRegion(region) }) }),
          );
          break;
        }
        default:
          break; // rejected by checkRequests
      }
    }
    return { response, reader };
    // End of your code (2B).
  }

  private async executeAdmin(entry: eraftpb.Entry, admin: raft_cmdpb.AdminRequest): Promise<CommandResult> {
    const peer = this.peer;
    const response = newCmdResponse(peer.term());
    switch (admin.cmdType) {
      case AdminCmdType.CompactLog: {
        const compact = admin.compactLog;
        if (compact === undefined) break;
        // Where the whole region compacted: every member applies this entry (the log GC tick counts from it).
        peer.noteCompactLogApplied(compact.compactIndex);
        // Your code here (2C): if the compact index is beyond the truncated index, move the truncated state (peer storage's compactTo: it is persisted with the apply state in this batch), and report it (this.report({ kind: 'compacted', index })) so the old log keys are deleted
        if (peer.storage.compactTo(compact.compactIndex, compact.compactTerm)) {
          this.report({ kind: 'compacted', index: compact.compactIndex });
        }
        // End of your code (2C).
        response.adminResponse = raft_cmdpb.AdminResponse({ cmdType: AdminCmdType.CompactLog, compactLog: raft_cmdpb.CompactLogResponse() });
        return { response };
      }
      case AdminCmdType.Split:
        if (admin.split === undefined) break;
        return this.applySplit(entry, admin.split);
      default:
        break;
    }
    this.peer.logger.warn('skipping an unknown admin command', { index: entry.index, type: String(admin.cmdType) });
    return { response: errorResponse(otherError(`unknown admin command ${String(admin.cmdType)}`), peer.term()) };
  }

  /**
   * A committed split (3B). Every peer of the region splits it the same way: the left part keeps the id and
   * [start, splitKey), the right part is a new region [splitKey, end) with the new peer ids, both at
   * version + 1. Both region states are written with this entry's apply state; then this store's peer of
   * the new region is created from what was written, exactly as a restart would create it.
   */
  private async applySplit(entry: eraftpb.Entry, split: raft_cmdpb.SplitRequest): Promise<CommandResult> {
    const { peer, ctx } = this;
    // Your code here (3B): check the split against the region as it is now (key in region: KeyNotInRegion; checkSplitRequest: refuse a stale request); compute both regions (splitRegion); persist both region states with this entry applied; update the peer, the store's region map and ranges; report the new region (this.report({ kind: 'split', region })) so its peer is created; reset the size hints (peer.resetSizeHints); answer with both regions and report that the region changed (kind 'regionChanged')
    throw new NotImplemented('3B', 'Applier.applySplit');
    // End of your code (3B).
  }

  /**
   * A committed membership change. Every peer takes the same decision from the same log and region state:
   * the change happens only if the command's conf_ver still matches and it makes sense for the region
   * (adding a store that has no peer yet, removing a current member). The new region (conf_ver + 1) is
   * persisted with the apply state; the raft group learns the new membership; a leader tells the
   * scheduler at once. A peer that is itself removed writes its tombstone and stops applying.
   */
  private async applyConfChange(entry: eraftpb.Entry): Promise<void> {
    const { peer, ctx } = this;
    const cb = this.takeProposal(entry);
    // Your code here (3B): decode the ConfChange and the admin command in its context; refuse (answer, change nothing) on a stale epoch or a change that does not fit the region; otherwise build the new region (conf_ver + 1), persist it with the batch, update the peer cache and the store's region map, tell raft (applyConfChange); if this peer was removed write its tombstone (after flushing what came before), mark the applier destroyed and report it (kind 'destroyed'); else report that the region changed (kind 'regionChanged')
    if (cb !== undefined) this.answer(cb, { response: errorResponse(otherError('conf change is not implemented (3B)'), peer.term()) });
    throw new NotImplemented('3B', 'Applier.applyConfChange');
    // End of your code (3B).
  }

  /** Why a committed conf change must not be applied to `region` (undefined: apply it). */
  private checkConfChange(cc: eraftpb.ConfChange, req: raft_cmdpb.RaftCmdRequest, region: metapb.Region): errorpb.Error | undefined {
    const change = req.adminRequest?.changePeer;
    const target = change?.peer;
    if (req.adminRequest?.cmdType !== AdminCmdType.ChangePeer || change === undefined || target === undefined) {
      return otherError('the conf change does not carry a ChangePeer command');
    }
    if (target.id !== cc.nodeId || change.changeType !== cc.changeType) {
      return otherError(`the conf change (node ${cc.nodeId}) and its command (peer ${target.id}) disagree`);
    }
    if (epochMismatch(req, region)) {
      const e = cloneEpoch(region.regionEpoch);
      return epochNotMatchError(`region ${region.id} is at conf_ver ${e.confVer} now`, [region]);
    }
    if (cc.changeType === eraftpb.ConfChangeType.AddNode) {
      if (findPeerById(region, target.id) !== undefined) return otherError(`peer ${target.id} is already a member of region ${region.id}`);
      if (findPeerOnStore(region, target.storeId) !== undefined) {
        return otherError(`region ${region.id} already has a peer on store ${target.storeId}`);
      }
      return undefined;
    }
    if (cc.changeType === eraftpb.ConfChangeType.RemoveNode) {
      if (findPeerById(region, target.id) === undefined) return otherError(`peer ${target.id} is not a member of region ${region.id}`);
      return undefined;
    }
    return otherError(`unknown conf change type ${String(cc.changeType)}`);
  }
}
