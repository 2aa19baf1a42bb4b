// The one list of 64-bit fields that hold timestamps (TSO values: physical milliseconds << 18 | logical).
// Such values pass 2^53, so these fields are `bigint` in TypeScript; every other 64-bit field is a
// `number` and the codec refuses values above Number.MAX_SAFE_INTEGER for it.
// Names are '<package>.<Message>.<proto field name>'. After editing, run `npx tsx proto/codegen.ts`.
// Not listed on purpose: lock_ttl (milliseconds), metapb.RegionEpoch.version (a counter),
// schedulerpb.Timestamp.physical/logical (the two small halves of a timestamp),
// schedulerpb.TimeInterval.* (unix seconds).

export const TIMESTAMP_FIELDS: readonly string[] = [
  // kvrpcpb: transactional requests and responses.
  'kvrpcpb.GetRequest.version',
  'kvrpcpb.PrewriteRequest.start_version',
  'kvrpcpb.CommitRequest.start_version',
  'kvrpcpb.CommitRequest.commit_version',
  'kvrpcpb.ScanRequest.version',
  'kvrpcpb.BatchRollbackRequest.start_version',
  'kvrpcpb.CheckTxnStatusRequest.lock_ts',
  'kvrpcpb.CheckTxnStatusRequest.current_ts',
  'kvrpcpb.CheckTxnStatusResponse.commit_version',
  'kvrpcpb.ResolveLockRequest.start_version',
  'kvrpcpb.ResolveLockRequest.commit_version',
  'kvrpcpb.LockInfo.lock_version',
  'kvrpcpb.WriteConflict.start_ts',
  'kvrpcpb.WriteConflict.conflict_ts',
  // coprocessor: the read timestamp of a push-down request.
  'coprocessor.Request.start_ts',
  // schedulerpb: the GC safe point is a timestamp.
  'schedulerpb.GetGCSafePointResponse.safe_point',
  'schedulerpb.UpdateGCSafePointRequest.safe_point',
  'schedulerpb.UpdateGCSafePointResponse.new_safe_point',
];
