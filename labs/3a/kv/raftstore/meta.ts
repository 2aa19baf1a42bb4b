/**
 * Reading and writing the raftstore's persisted states (see keys.ts for where each one lives).
 *
 * The states are protobuf messages of raft_serverpb, stored encoded. Reads come in two flavours: async for
 * start-up and background work, sync (getMetaSync) where an actor step cannot await.
 */
import { decode, encode, eraftpb, metapb, raft_serverpb } from '#proto';
import type { Engine, EngineSnapshot, WriteBatch } from '../storage/engine.ts';
import { applyStateKey, raftLogKey, raftStateKey, regionStateKey, STORE_IDENT_KEY } from './keys.ts';

type RaftLocalState = raft_serverpb.RaftLocalState;
type RaftApplyState = raft_serverpb.RaftApplyState;
type RegionLocalState = raft_serverpb.RegionLocalState;

/**
 * A region created by bootstrap or by a split starts its log at this index and term rather than at 0, so
 * that a peer created empty on another store (log at 0) can never match it and has to take a snapshot first.
 */
export const RAFT_INIT_LOG_INDEX = 5;
export const RAFT_INIT_LOG_TERM = 5;

/** The epoch of the first region. */
export const INIT_EPOCH_VER = 1;
export const INIT_EPOCH_CONF_VER = 1;

type Reader = Pick<Engine, 'getMeta'> | Pick<EngineSnapshot, 'getMeta'>;

async function getMessage<T>(
  engine: Reader,
  key: Uint8Array,
  parse: (bytes: Uint8Array) => T,
): Promise<T | undefined> {
  const bytes = await engine.getMeta(key);
  return bytes === undefined ? undefined : parse(bytes);
}

export function getRaftLocalState(raft: Reader, regionId: number): Promise<RaftLocalState | undefined> {
  return getMessage(raft, raftStateKey(regionId), (b) => decode('raft_serverpb.RaftLocalState', b));
}

export function getApplyState(kv: Reader, regionId: number): Promise<RaftApplyState | undefined> {
  return getMessage(kv, applyStateKey(regionId), (b) => decode('raft_serverpb.RaftApplyState', b));
}

export function getRegionLocalState(kv: Reader, regionId: number): Promise<RegionLocalState | undefined> {
  return getMessage(kv, regionStateKey(regionId), (b) => decode('raft_serverpb.RegionLocalState', b));
}

export function getStoreIdent(kv: Reader): Promise<raft_serverpb.StoreIdent | undefined> {
  return getMessage(kv, STORE_IDENT_KEY, (b) => decode('raft_serverpb.StoreIdent', b));
}

export function writeRaftState(raftWB: WriteBatch, regionId: number, state: RaftLocalState): void {
  raftWB.putMeta(raftStateKey(regionId), encode('raft_serverpb.RaftLocalState', state));
}

export function writeApplyState(kvWB: WriteBatch, regionId: number, state: RaftApplyState): void {
  kvWB.putMeta(applyStateKey(regionId), encode('raft_serverpb.RaftApplyState', state));
}

export function writeRegionState(kvWB: WriteBatch, region: metapb.Region, state: raft_serverpb.PeerState): void {
  kvWB.putMeta(regionStateKey(region.id), encode('raft_serverpb.RegionLocalState', raft_serverpb.RegionLocalState({ state, region })));
}

export function writeRaftEntry(raftWB: WriteBatch, regionId: number, entry: eraftpb.Entry): void {
  raftWB.putMeta(raftLogKey(regionId, entry.index), encode('eraftpb.Entry', entry));
}

/** The raft state of a region created with the initial log (bootstrap, split). */
export function initialRaftState(): RaftLocalState {
  return raft_serverpb.RaftLocalState({
    hardState: eraftpb.HardState({ term: RAFT_INIT_LOG_TERM, vote: 0, commit: RAFT_INIT_LOG_INDEX }),
    lastIndex: RAFT_INIT_LOG_INDEX,
    lastTerm: RAFT_INIT_LOG_TERM,
  });
}

/** The apply state of a region created with the initial log (bootstrap, split). */
export function initialApplyState(): RaftApplyState {
  return raft_serverpb.RaftApplyState({
    appliedIndex: RAFT_INIT_LOG_INDEX,
    truncatedState: raft_serverpb.RaftTruncatedState({ index: RAFT_INIT_LOG_INDEX, term: RAFT_INIT_LOG_TERM }),
  });
}

/** A deep copy of a raft state (the peer storage hands copies out, never its own object). */
