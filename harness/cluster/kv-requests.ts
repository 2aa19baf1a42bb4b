/**
 * Key-value operations through raft for tests (TinyKV's MustPut, MustGet, MustDelete, Scan...): each is a
 * request through the cluster's client (client.ts), and the must* ones fail the test when the answer is not
 * what it should be.
 */
import { raft_cmdpb } from '#proto';
import type { CommandResult } from '@impl/kv/raftstore/raftstore.ts';
import type { ColumnFamily, StorageReader } from '@impl/kv/storage/storage.ts';
import { bytesEqual, compareBytes } from '@impl/util/bytes.ts';
import { exceedsEndKey } from '@impl/kv/raftstore/region-util.ts';
import type { Cluster } from './cluster.ts';
import type { UnsettledAttempt } from './client.ts';
import { ClusterCheckError } from './errors.ts';
import { showKey, showRegion } from './keys.ts';
import { deleteRequest, getRequest, putRequest, snapRequest } from './requests.ts';

const { CmdType } = raft_cmdpb;

export async function mustPutCF(
  cluster: Cluster,
  cf: ColumnFamily,
  key: Uint8Array,
  value: Uint8Array,
  onUnsettled?: UnsettledAttempt,
): Promise<void> {
  const result = await cluster.request(key, [putRequest(key, value, cf)], undefined, onUnsettled);
  expectOneResponse(result, CmdType.Put, 'put');
}

/** The value of `key` in `cf` read through raft; empty when the key has none. */
export async function getCF(cluster: Cluster, cf: ColumnFamily, key: Uint8Array): Promise<Uint8Array> {
  const result = await cluster.request(key, [getRequest(key, cf)]);
  return expectOneResponse(result, CmdType.Get, 'get').get?.value ?? new Uint8Array(0);
}

export async function mustGet(cluster: Cluster, key: Uint8Array, value: Uint8Array): Promise<void> {
  const got = await getCF(cluster, 'default', key);
  if (!bytesEqual(got, value)) {
    throw new ClusterCheckError(`get ${showKey(key)}: expected value ${showKey(value)}, got ${showKey(got)}`);
  }
}

/** The key must have no value (a Get through raft answers an empty value). */
export async function mustGetNone(cluster: Cluster, key: Uint8Array): Promise<void> {
  const got = await getCF(cluster, 'default', key);
  if (got.length !== 0) throw new ClusterCheckError(`get ${showKey(key)}: expected no value, got ${showKey(got)}`);
}

export async function mustDeleteCF(cluster: Cluster, cf: ColumnFamily, key: Uint8Array, onUnsettled?: UnsettledAttempt): Promise<void> {
  const result = await cluster.request(key, [deleteRequest(key, cf)], undefined, onUnsettled);
  expectOneResponse(result, CmdType.Delete, 'delete');
}

/** A key and its value, as a scan found them. */
export interface KvPair {
  key: Uint8Array;
  value: Uint8Array;
}

/**
 * The pairs of the default family for keys in [start, end) (an empty end: to the last key), read region
 * by region through Snap requests and the readers they return (closed after use).
 */
export async function scan(cluster: Cluster, start: Uint8Array, end: Uint8Array): Promise<KvPair[]> {
  const pairs: KvPair[] = [];
  let key = start;
  while (end.length === 0 || compareBytes(key, end) < 0) {
    const result = await cluster.request(key, [snapRequest()]);
    const region = expectOneResponse(result, CmdType.Snap, 'snap').snap?.region;
    const reader = result.reader;
    if (region === undefined || reader === undefined) {
      await reader?.close();
      throw new ClusterCheckError(`snap at ${showKey(key)}: the response has ${region === undefined ? 'no region' : 'no reader'}`);
    }
    let batch: KvPair[];
    try {
      batch = await readRange(reader, key, end);
    } finally {
      await reader.close().catch(() => undefined);
    }
    pairs.push(...batch);
    if (region.endKey.length === 0) break;
    if (compareBytes(region.endKey, key) <= 0) {
      throw new ClusterCheckError(`snap at ${showKey(key)}: ${showRegion(region)} does not move the scan forward`);
    }
    key = region.endKey;
  }
  return pairs;
}

/** Read the default family from `start` up to `end` (empty: no bound), within what the reader shows. */
async function readRange(reader: StorageReader, start: Uint8Array, end: Uint8Array): Promise<KvPair[]> {
  const pairs: KvPair[] = [];
  const it = reader.iterCF('default');
  try {
    for (await it.seek(start); it.valid(); await it.next()) {
      const item = it.item();
      if (exceedsEndKey(item.key, end)) break;
      pairs.push({ key: item.key.slice(), value: item.value.slice() });
    }
  } finally {
    await it.close();
  }
  return pairs;
}

function expectOneResponse(result: CommandResult, type: raft_cmdpb.CmdType, what: string): raft_cmdpb.Response {
  const responses = result.response.responses;
  if (responses.length !== 1) {
    throw new ClusterCheckError(`${what}: expected 1 response, got ${responses.length}`);
  }
  const resp = responses[0]!;
  if (resp.cmdType !== type) {
    throw new ClusterCheckError(`${what}: expected a ${CmdType[type]} response, got ${CmdType[resp.cmdType] ?? resp.cmdType}`);
  }
  return resp;
}
