/**
 * The content of a raft snapshot: the region's description plus every key/value of its range, in every
 * column family, carried inline in eraftpb.Snapshot.data as an encoded raft_serverpb.RaftSnapshotData.
 *
 * KeyValue has no column family field, so the pairs are grouped by family: `meta.cfFiles` lists the
 * families in the order their pairs appear in `data`, each with `size` = the number of its pairs and
 * `checksum` = a CRC-32 over its keys and values. `fileSize` is the total bytes of keys and values.
 */
import { crc32 } from 'node:zlib';
import { decode, encode, eraftpb, metapb, raft_serverpb } from '#proto';
import type { EngineSnapshot } from '../storage/engine.ts';
import { COLUMN_FAMILIES, isColumnFamily, type ColumnFamily } from '../storage/storage.ts';
import { cfRange, confStateFromRegion } from './region-util.ts';

export class SnapshotDataError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(`bad snapshot data: ${message}`, options);
    this.name = 'SnapshotDataError';
  }
}

export interface SnapshotCfData {
  cf: ColumnFamily;
  pairs: raft_serverpb.KeyValue[];
}

export interface ParsedSnapshotData {
  region: metapb.Region;
  families: SnapshotCfData[];
}

function checksumOf(pairs: raft_serverpb.KeyValue[]): number {
  let sum = 0;
  for (const kv of pairs) {
    sum = crc32(kv.key, sum);
    sum = crc32(kv.value, sum);
  }
  return sum;
}

/** Reads every pair of `region`'s range from a consistent view of the kv engine. */
export async function readRegionData(kv: EngineSnapshot, region: metapb.Region): Promise<SnapshotCfData[]> {
  const families: SnapshotCfData[] = [];
  for (const cf of COLUMN_FAMILIES) {
    const range = cfRange(cf, region.startKey, region.endKey);
    const it = kv.iterCF(cf, range.end.length > 0 ? { end: range.end } : {});
    const pairs: raft_serverpb.KeyValue[] = [];
    try {
      for (await it.seek(range.start); it.valid(); await it.next()) {
        const { key, value } = it.item();
        pairs.push(raft_serverpb.KeyValue({ key: Uint8Array.from(key), value: Uint8Array.from(value) }));
      }
    } finally {
      await it.close();
    }
    families.push({ cf, pairs });
  }
  return families;
}

/** Encodes a region and its data as RaftSnapshotData bytes. */
function encodeSnapshotData(region: metapb.Region, families: SnapshotCfData[]): Uint8Array {
  const data: raft_serverpb.KeyValue[] = [];
  const cfFiles: raft_serverpb.SnapshotCFFile[] = [];
  let bytes = 0;
  for (const { cf, pairs } of families) {
    for (const kv of pairs) {
      data.push(kv);
      bytes += kv.key.length + kv.value.length;
    }
    cfFiles.push(raft_serverpb.SnapshotCFFile({ cf, size: pairs.length, checksum: checksumOf(pairs) }));
  }
  return encode(
    'raft_serverpb.RaftSnapshotData',
    raft_serverpb.RaftSnapshotData({ region, fileSize: bytes, data, meta: raft_serverpb.SnapshotMeta({ cfFiles }) }),
  );
}

/** Decodes and checks RaftSnapshotData bytes. Throws SnapshotDataError for anything malformed. */
export function parseSnapshotData(bytes: Uint8Array): ParsedSnapshotData {
  let raw: raft_serverpb.RaftSnapshotData;
  try {
    raw = decode('raft_serverpb.RaftSnapshotData', bytes);
  } catch (err) {
    throw new SnapshotDataError('cannot decode RaftSnapshotData', { cause: err });
  }
  if (raw.region === undefined) throw new SnapshotDataError('no region');
  const files = raw.meta?.cfFiles ?? [];
  const total = files.reduce((n, f) => n + f.size, 0);
  if (total !== raw.data.length) {
    throw new SnapshotDataError(`the column family sizes add up to ${total} pairs but the data holds ${raw.data.length}`);
  }
  const families: SnapshotCfData[] = [];
  let at = 0;
  for (const file of files) {
    if (!isColumnFamily(file.cf)) throw new SnapshotDataError(`unknown column family ${JSON.stringify(file.cf)}`);
    const pairs = raw.data.slice(at, at + file.size);
    at += file.size;
    if (checksumOf(pairs) !== file.checksum) throw new SnapshotDataError(`checksum mismatch in column family ${file.cf}`);
    families.push({ cf: file.cf, pairs });
  }
  return { region: raw.region, families };
}

/** A complete eraftpb.Snapshot of `region` as of log entry (index, term). */
export function makeSnapshot(region: metapb.Region, index: number, term: number, families: SnapshotCfData[]): eraftpb.Snapshot {
  return eraftpb.Snapshot({
    data: encodeSnapshotData(region, families),
    metadata: eraftpb.SnapshotMetadata({ index, term, confState: confStateFromRegion(region) }),
  });
}
