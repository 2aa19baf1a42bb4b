/**
 * Invariants of what a store writes, checked on every engine write of a cluster test. The write goes
 * through; a violation fails the run right after the event that wrote it (see Sim.addInvariant).
 *
 * Kv engine:
 *   - data and apply state move together: every put of user data lies in the range of a region whose apply
 *     state is written in the same batch (written apart, a crash between the two writes applies the entries
 *     again after the restart, or loses them);
 *   - a region's epoch (version and conf_ver) on a store never goes back;
 *   - a truncated state names the real term of its index (the term of the entry committed there).
 * Raft engine:
 *   - an entry written at an index the writing peer counts as committed is the committed entry (same term).
 */
import { decode, raft_serverpb, type metapb } from '#proto';
import type { Engines } from '@impl/kv/raftstore/engines.ts';
import { classifyMetaKey } from '@impl/kv/raftstore/keys.ts';
import { cfKeyInRegion } from '@impl/kv/raftstore/region-util.ts';
import type { BatchChange, WriteBatch } from '@impl/kv/storage/engine.ts';
import { showKey, showRegion } from './keys.ts';

interface Epoch {
  version: number;
  confVer: number;
}

export class WriteChecker {
  private violation: string | undefined;
  /** The last epoch each store wrote for each region: "store/region" -> epoch. */
  private readonly epochs = new Map<string, Epoch>();

  /**
   * `heldRegion(storeId, regionId)`: the region as the running store holds it in memory, and `commitOf`: its
   * peer's commit index (both undefined: no such peer, or the store is down); `committedTerm`: the term
   * committed at an index of a region, as any peer committed it (RaftSafetyChecker).
   */
  constructor(
    private readonly heldRegion: (storeId: number, regionId: number) => metapb.Region | undefined,
    private readonly commitOf: (storeId: number, regionId: number) => number | undefined,
    private readonly committedTerm: (regionId: number, index: number) => number | undefined,
  ) {}

  /** Check every write store `storeId` makes on `engines` from now on. */
  watch(storeId: number, engines: Engines): void {
    const { kv, raft } = engines;
    const kvWrite = kv.write.bind(kv);
    const raftWrite = raft.write.bind(raft);
    kv.write = (batch: WriteBatch) => {
      this.note(this.checkKvBatch(storeId, batch.contents()));
      return kvWrite(batch);
    };
    raft.write = (batch: WriteBatch) => {
      this.note(this.checkRaftBatch(storeId, batch.contents()));
      return raftWrite(batch);
    };
  }

  /** The first violation seen since the last call (undefined: none). */
  takeViolation(): string | undefined {
    const violation = this.violation;
    this.violation = undefined;
    return violation;
  }

  private note(violation: string | undefined): void {
    this.violation ??= violation;
  }

  private checkKvBatch(storeId: number, changes: BatchChange[]): string | undefined {
    const applied = new Set<number>();
    const statedRegions = new Map<number, metapb.Region>();
    for (const change of changes) {
      if (change.family !== 'meta') continue;
      const key = classifyMetaKey(change.key);
      if (key.kind === 'applyState') {
        applied.add(key.regionId);
        if (change.value !== undefined) {
          const problem = this.checkApplyState(storeId, key.regionId, decode('raft_serverpb.RaftApplyState', change.value));
          if (problem !== undefined) return problem;
        }
      } else if (key.kind === 'regionState' && change.value !== undefined) {
        const state = decode('raft_serverpb.RegionLocalState', change.value);
        if (state.region !== undefined) {
          statedRegions.set(key.regionId, state.region);
          const problem = this.checkEpoch(storeId, state.region, state.state);
          if (problem !== undefined) return problem;
        }
      }
    }
    let ranges: metapb.Region[] | undefined; // the regions whose apply state is in the batch, found once
    for (const change of changes) {
      if (change.family === 'meta' || change.value === undefined) continue;
      ranges ??= this.appliedRegions(storeId, applied, statedRegions);
      if (!ranges.some((region) => cfKeyInRegion(change.family, change.key, region))) {
        return (
          `store ${storeId} wrote ${change.family} key ${showKey(change.key)} in a batch without the apply state of a region ` +
          `holding that key (apply states in the batch: ${[...applied].join(', ') || 'none'}): data and apply state must ` +
          `be written together, or a crash between the two writes applies entries twice or loses them`
        );
      }
    }
    return undefined;
  }

  /** The regions whose apply state is in the batch: each as the batch writes it, and as the store holds it. */
  private appliedRegions(storeId: number, applied: Set<number>, stated: Map<number, metapb.Region>): metapb.Region[] {
    const regions: metapb.Region[] = [];
    for (const regionId of applied) {
      const written = stated.get(regionId);
      if (written !== undefined) regions.push(written);
      const held = this.heldRegion(storeId, regionId);
      if (held !== undefined) regions.push(held);
    }
    return regions;
  }

  private checkEpoch(storeId: number, region: metapb.Region, state: raft_serverpb.PeerState): string | undefined {
    const key = `${storeId}/${region.id}`;
    const epoch = { version: region.regionEpoch?.version ?? 0, confVer: region.regionEpoch?.confVer ?? 0 };
    const before = this.epochs.get(key);
    if (before !== undefined && (epoch.version < before.version || epoch.confVer < before.confVer)) {
      return (
        `store ${storeId} wrote region ${region.id} (${raft_serverpb.PeerState[state]}) with epoch version ${epoch.version}, ` +
        `conf_ver ${epoch.confVer}, older than the version ${before.version}, conf_ver ${before.confVer} it wrote before: ` +
        `${showRegion(region)}`
      );
    }
    this.epochs.set(key, epoch);
    return undefined;
  }

  private checkApplyState(storeId: number, regionId: number, state: raft_serverpb.RaftApplyState): string | undefined {
    const truncated = state.truncatedState;
    if (truncated === undefined) return undefined;
    if (state.appliedIndex < truncated.index) {
      return `store ${storeId} wrote region ${regionId}'s apply state with applied index ${state.appliedIndex} below its truncated index ${truncated.index}`;
    }
    const committed = this.committedTerm(regionId, truncated.index);
    if (committed !== undefined && committed !== truncated.term) {
      return (
        `store ${storeId} wrote region ${regionId}'s truncated state as index ${truncated.index}, term ${truncated.term}, ` +
        `but the entry committed at ${truncated.index} has term ${committed}`
      );
    }
    return undefined;
  }

  private checkRaftBatch(storeId: number, changes: BatchChange[]): string | undefined {
    const commits = new Map<number, number | undefined>(); // per region, read once per batch
    for (const change of changes) {
      if (change.family !== 'meta' || change.value === undefined) continue;
      const key = classifyMetaKey(change.key);
      if (key.kind !== 'raftLog') continue;
      // A peer that lags may hold an entry that lost to another at a committed index (it is replaced once the
      // leader reaches it); only an entry the writing peer itself counts as committed must be the committed one.
      if (!commits.has(key.regionId)) commits.set(key.regionId, this.commitOf(storeId, key.regionId));
      const commit = commits.get(key.regionId);
      if (commit === undefined || key.index > commit) continue;
      const committed = this.committedTerm(key.regionId, key.index);
      if (committed === undefined) continue;
      const entry = decode('eraftpb.Entry', change.value);
      if (entry.term !== committed) {
        return (
          `State Machine Safety: store ${storeId} wrote entry ${key.index} of region ${key.regionId} with term ${entry.term} ` +
          `while its commit index is ${commit}, but the entry committed at ${key.index} has term ${committed}`
        );
      }
    }
    return undefined;
  }
}
