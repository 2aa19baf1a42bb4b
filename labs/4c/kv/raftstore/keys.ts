/**
 * The layout of the raftstore's own keys in the engines' meta range (Engine.putMeta / getMeta).
 *
 * Raft engine, per region:
 *   raft log entry   0x01 0x02 <region id: 8 bytes BE> 0x01 <log index: 8 bytes BE>  -> eraftpb.Entry
 *   raft state       0x01 0x02 <region id: 8 bytes BE> 0x02                           -> raft_serverpb.RaftLocalState
 * Kv engine, per region:
 *   apply state      0x01 0x02 <region id: 8 bytes BE> 0x03                           -> raft_serverpb.RaftApplyState
 *   region state     0x01 0x03 <region id: 8 bytes BE> 0x01                           -> raft_serverpb.RegionLocalState
 * Kv engine, per store:
 *   prepare-bootstrap marker  0x01 0x01                                               -> raft_serverpb.RegionLocalState
 *   store ident               0x01 0x02                                               -> raft_serverpb.StoreIdent
 *
 * Numbers are big-endian, so the keys of one region sort by log index, and all the region states sort by
 * region id in one contiguous range (the store scans it at start to find its regions). User data never lives
 * here: it is in the column families, which are separate ranges of the engine.
 */

const LOCAL_PREFIX = 0x01;
const REGION_RAFT_PREFIX = 0x02;
const REGION_META_PREFIX = 0x03;

const RAFT_LOG_SUFFIX = 0x01;
const RAFT_STATE_SUFFIX = 0x02;
const APPLY_STATE_SUFFIX = 0x03;
const REGION_STATE_SUFFIX = 0x01;

/** Keys are made of ids and indexes below 2^53 (JavaScript numbers stay exact). */
const MAX_ID = Number.MAX_SAFE_INTEGER;

export class InvalidKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidKeyError';
  }
}

function checkId(what: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_ID) {
    throw new InvalidKeyError(`${what} must be an integer in [0, 2^53), got ${value}`);
  }
}

function writeU64(buf: Uint8Array, at: number, value: number): void {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  view.setUint32(at, Math.floor(value / 0x1_0000_0000));
  view.setUint32(at + 4, value >>> 0);
}

function readU64(buf: Uint8Array, at: number): number {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return view.getUint32(at) * 0x1_0000_0000 + view.getUint32(at + 4);
}

/** [LOCAL, kind, region id (8 bytes)], plus room for `extra` more bytes. */
function regionKey(kind: number, regionId: number, extra: number): Uint8Array {
  checkId('region id', regionId);
  const key = new Uint8Array(10 + extra);
  key[0] = LOCAL_PREFIX;
  key[1] = kind;
  writeU64(key, 2, regionId);
  return key;
}

/** The store's identity (cluster id, store id), written once by bootstrapStore. */
export const STORE_IDENT_KEY = Uint8Array.of(LOCAL_PREFIX, 0x02);

/** The first region a store prepared for a new cluster, until the scheduler's bootstrap is settled (real servers). */
export const PREPARE_BOOTSTRAP_KEY = Uint8Array.of(LOCAL_PREFIX, 0x01);

/** The raft engine key of entry `index` of region `regionId`. */
export function raftLogKey(regionId: number, index: number): Uint8Array {
  checkId('log index', index);
  const key = regionKey(REGION_RAFT_PREFIX, regionId, 9);
  key[10] = RAFT_LOG_SUFFIX;
  writeU64(key, 11, index);
  return key;
}

/** The log index inside a raft log key (the inverse of raftLogKey). */
export function raftLogIndex(key: Uint8Array): number {
  if (key.length !== 19 || key[0] !== LOCAL_PREFIX || key[1] !== REGION_RAFT_PREFIX || key[10] !== RAFT_LOG_SUFFIX) {
    throw new InvalidKeyError(`not a raft log key: ${Buffer.from(key).toString('hex')}`);
  }
  return readU64(key, 11);
}

/** The raft engine key of region `regionId`'s RaftLocalState. */
export function raftStateKey(regionId: number): Uint8Array {
  const key = regionKey(REGION_RAFT_PREFIX, regionId, 1);
  key[10] = RAFT_STATE_SUFFIX;
  return key;
}

/** The kv engine key of region `regionId`'s RaftApplyState. */
export function applyStateKey(regionId: number): Uint8Array {
  const key = regionKey(REGION_RAFT_PREFIX, regionId, 1);
  key[10] = APPLY_STATE_SUFFIX;
  return key;
}

/** The kv engine key of region `regionId`'s RegionLocalState. */
export function regionStateKey(regionId: number): Uint8Array {
  const key = regionKey(REGION_META_PREFIX, regionId, 1);
  key[10] = REGION_STATE_SUFFIX;
  return key;
}

/** Every key of region `regionId`'s raft data (log and raft state) lies in [start, end). */
export function regionRaftRange(regionId: number): { start: Uint8Array; end: Uint8Array } {
  return { start: regionKey(REGION_RAFT_PREFIX, regionId, 0), end: regionKey(REGION_RAFT_PREFIX, regionId + 1, 0) };
}

/** Every region state key lies in [start, end): the store scans this range at start. */
export const REGION_META_RANGE = {
  start: Uint8Array.of(LOCAL_PREFIX, REGION_META_PREFIX),
  end: Uint8Array.of(LOCAL_PREFIX, REGION_META_PREFIX + 1),
};

/** The region id and suffix of a key in REGION_META_RANGE. */
export function decodeRegionMetaKey(key: Uint8Array): { regionId: number; suffix: number } {
  if (key.length !== 11 || key[0] !== LOCAL_PREFIX || key[1] !== REGION_META_PREFIX) {
    throw new InvalidKeyError(`not a region meta key: ${Buffer.from(key).toString('hex')}`);
  }
  return { regionId: readU64(key, 2), suffix: key[10]! };
}

/** True for the suffix of a region state key (decodeRegionMetaKey(key).suffix). */
export function isRegionStateSuffix(suffix: number): boolean {
  return suffix === REGION_STATE_SUFFIX;
}

/** What a raftstore meta key is, as classifyMetaKey tells it. */
export type MetaKeyKind =
  | { kind: 'raftLog'; regionId: number; index: number }
  | { kind: 'raftState'; regionId: number }
  | { kind: 'applyState'; regionId: number }
  | { kind: 'regionState'; regionId: number }
  | { kind: 'other' };

/** Which of the keys above `key` is (tests and invariant checkers read write batches with it). */
export function classifyMetaKey(key: Uint8Array): MetaKeyKind {
  if (key.length < 11 || key[0] !== LOCAL_PREFIX) return { kind: 'other' };
  const regionId = readU64(key, 2);
  if (key[1] === REGION_META_PREFIX && key.length === 11 && key[10] === REGION_STATE_SUFFIX) return { kind: 'regionState', regionId };
  if (key[1] !== REGION_RAFT_PREFIX) return { kind: 'other' };
  if (key.length === 19 && key[10] === RAFT_LOG_SUFFIX) return { kind: 'raftLog', regionId, index: readU64(key, 11) };
  if (key.length === 11 && key[10] === RAFT_STATE_SUFFIX) return { kind: 'raftState', regionId };
  if (key.length === 11 && key[10] === APPLY_STATE_SUFFIX) return { kind: 'applyState', regionId };
  return { kind: 'other' };
}
