/**
 * Split check (3B): measuring a region and choosing where to split it. It reads a kv engine snapshot and
 * never writes, so the raftstore runs it as a background task and only acts on the answer (ask the scheduler
 * for ids, then propose a Split).
 *
 * Only the `default` column family is measured: it holds the values, which are most of a region's bytes.
 * A pair counts as stored (storedPairSize: family prefix + key + value), as TinyKV counts its prefixed keys,
 * so TinyKV's test sizes (split past 800 bytes at 500) mean the same here.
 */
import type { metapb } from '#proto';
import { storedPairSize, type EngineSnapshot } from '../storage/engine.ts';
import { decodeBytes, encodeBytes } from '../transaction/mvcc/codec.ts';
import { MvccCorruptionError } from '../transaction/mvcc/errors.ts';
import { compareBytes } from '../../util/bytes.ts';

export interface SplitCheckResult {
  /**
   * Approximate bytes of the region: the stored size of every pair of the default family scanned. The scan stops
   * early once the region is known to need a split, so when splitKey is set this is only a lower bound
   * (more than maxSize); otherwise it is the whole region's size.
   */
  size: number;
  /** Where to split (strictly inside the region), or undefined if the region is not bigger than maxSize. */
  splitKey: Uint8Array | undefined;
}

/** Sizes that make no sense for a split check. */
export class SplitCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SplitCheckError';
  }
}

/** Bytes of the timestamp that follows the user key in an MVCC-encoded key. */
const TS_BYTES = 8;

/**
 * The key a split at `key` should use. For an MVCC-encoded key (memcomparable user key + 8-byte timestamp)
 * that is the encoded user key without the timestamp: every version of the user key then sorts at or after
 * it, so all of them land in the right region together. Any other key (a raw key) is used as it is.
 */
export function splitKeyOf(key: Uint8Array): Uint8Array {
  let decoded: { key: Uint8Array; rest: Uint8Array };
  try {
    decoded = decodeBytes(key);
  } catch (err) {
    if (err instanceof MvccCorruptionError) return key; // not memcomparable: a raw key
    throw err;
  }
  return decoded.rest.length === TS_BYTES ? encodeBytes(decoded.key) : key;
}

function checkSize(name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new SplitCheckError(`split check: ${name} must be a positive number, got ${String(value)}`);
  }
}

/**
 * Scans the region's range [startKey, endKey) of the default family in `view` and decides whether the region
 * should be split. The split key is the first key at which the running size (that pair included) exceeds
 * splitSize, moved back to the start of its user key for MVCC keys; a key that would not lie strictly after
 * the region's start key is skipped in favour of the next one. A split key is reported only when the whole
 * region is bigger than maxSize. The iterator is always closed; the caller owns (and closes) `view`.
 */
export async function checkRegionSplit(
  view: Pick<EngineSnapshot, 'iterCF'>,
  region: metapb.Region,
  maxSize: number,
  splitSize: number,
): Promise<SplitCheckResult> {
  checkSize('maxSize', maxSize);
  checkSize('splitSize', splitSize);

  const it = view.iterCF('default', region.endKey.length > 0 ? { end: region.endKey } : {});
  let size = 0;
  let splitKey: Uint8Array | undefined;
  try {
    for (await it.seek(region.startKey); it.valid(); await it.next()) {
      const { key, value } = it.item();
      size += storedPairSize('default', key, value);
      if (splitKey === undefined && size > splitSize) {
        // candidate <= key < endKey, so only the start side needs checking.
        const candidate = splitKeyOf(key);
        if (compareBytes(candidate, region.startKey) > 0) splitKey = Uint8Array.from(candidate);
      }
      if (splitKey !== undefined && size > maxSize) break; // the answer cannot change any more
    }
  } finally {
    await it.close();
  }
  return { size, splitKey: size > maxSize ? splitKey : undefined };
}
