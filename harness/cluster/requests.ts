/**
 * Builders of the data requests a raft command carries (raft_cmdpb.Request): put, get, delete, snap.
 */
import { raft_cmdpb } from '#proto';
import type { ColumnFamily } from '@impl/kv/storage/storage.ts';

const { CmdType } = raft_cmdpb;

export function putRequest(key: Uint8Array, value: Uint8Array, cf: ColumnFamily = 'default'): raft_cmdpb.Request {
  return raft_cmdpb.Request({ cmdType: CmdType.Put, put: raft_cmdpb.PutRequest({ cf, key, value }) });
}

export function getRequest(key: Uint8Array, cf: ColumnFamily = 'default'): raft_cmdpb.Request {
  return raft_cmdpb.Request({ cmdType: CmdType.Get, get: raft_cmdpb.GetRequest({ cf, key }) });
}

export function deleteRequest(key: Uint8Array, cf: ColumnFamily = 'default'): raft_cmdpb.Request {
  return raft_cmdpb.Request({ cmdType: CmdType.Delete, delete: raft_cmdpb.DeleteRequest({ cf, key }) });
}

/** A snapshot of the region for reading: the answer carries a reader the caller must close. */
export function snapRequest(): raft_cmdpb.Request {
  return raft_cmdpb.Request({ cmdType: CmdType.Snap, snap: raft_cmdpb.SnapRequest() });
}
