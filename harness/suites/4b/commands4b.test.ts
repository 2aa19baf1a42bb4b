/**
 * Project 4B: KvGet, KvPrewrite, KvCommit (TinyKV's commands4b_test.go scenarios, plus our own).
 * Each test stores raw data, runs requests through TxnApi over a MemStorage, and checks the families.
 */
import { describe, expect, it } from 'vitest';
import { kvrpcpb } from '#proto';
import { TS_MAX } from '@impl/kv/transaction/mvcc/codec.ts';
import { bytes, getRequest, mutation, TxnTestBuilder } from '../../txn/test-builder.ts';

const Put = kvrpcpb.Op.Put;
const Del = kvrpcpb.Op.Del;

/** A write record's bytes: kind (1 put, 2 delete, 3 rollback), then the start ts, big-endian. */
const putRecord = (startTs: number) => [1, 0, 0, 0, 0, 0, 0, 0, startTs];

function newBuilder(): TxnTestBuilder {
  return new TxnTestBuilder();
}

function expectValue(resp: kvrpcpb.GetResponse, value: number[]): void {
  expect(resp.regionError).toBeUndefined();
  expect(resp.error).toBeUndefined();
  expect(resp.notFound).toBe(false);
  expect(resp.value).toEqual(bytes(value));
}

function expectNotFound(resp: kvrpcpb.GetResponse): void {
  expect(resp.regionError).toBeUndefined();
  expect(resp.error).toBeUndefined();
  expect(resp.notFound).toBe(true);
}

describe('4B get', () => {
  it('TestGetValue4B', async () => {
    const builder = newBuilder();
    builder.init([
      { cf: 'default', key: [99], ts: 50n, value: [42] },
      { cf: 'write', key: [99], ts: 54n, value: putRecord(50) },
    ]);
    expectValue(await builder.api.kvGet(getRequest([99], TS_MAX)), [42]);
  });

  it('TestGetValueTs4B', async () => {
    const builder = newBuilder();
    builder.init([
      { cf: 'default', key: [99], ts: 50n, value: [42] },
      { cf: 'write', key: [99], ts: 54n, value: putRecord(50) },
    ]);
    for (let i = 0; i < 3; i++) expectValue(await builder.api.kvGet(getRequest([99], 100n)), [42]);
  });

  it('TestGetEmpty4B', async () => {
    const builder = newBuilder();
    expectNotFound(await builder.api.kvGet(getRequest([100], TS_MAX)));
  });

  it('TestGetNone4B', async () => {
    const builder = newBuilder();
    builder.init([
      { cf: 'default', key: [99], ts: 50n, value: [42] },
      { cf: 'write', key: [99], ts: 54n, value: putRecord(50) },
      { cf: 'default', key: [101], ts: 50n, value: [42] },
      { cf: 'write', key: [101], ts: 54n, value: putRecord(50) },
    ]);
    expectNotFound(await builder.api.kvGet(getRequest([100], TS_MAX)));
  });

  it('TestGetVersions4B', async () => {
    const builder = newBuilder();
    builder.init([
      { cf: 'default', key: [99], ts: 50n, value: [42] },
      { cf: 'write', key: [99], ts: 54n, value: putRecord(50) },
      { cf: 'default', key: [99], ts: 60n, value: [43] },
      { cf: 'write', key: [99], ts: 66n, value: putRecord(60) },
      { cf: 'default', key: [99], ts: 120n, value: [44] },
      { cf: 'write', key: [99], ts: 122n, value: putRecord(120) },
    ]);
    expectNotFound(await builder.api.kvGet(getRequest([99], 40n)));
    expectValue(await builder.api.kvGet(getRequest([99], 56n)), [42]);
    expectValue(await builder.api.kvGet(getRequest([99], 60n)), [42]);
    expectValue(await builder.api.kvGet(getRequest([99], 65n)), [42]);
    expectValue(await builder.api.kvGet(getRequest([99], 66n)), [43]);
    expectValue(await builder.api.kvGet(getRequest([99], 100n)), [43]);
  });

  it('TestGetDeleted4B', async () => {
    const builder = newBuilder();
    builder.init([
      { cf: 'default', key: [99], ts: 50n, value: [42] },
      { cf: 'write', key: [99], ts: 54n, value: putRecord(50) },
      { cf: 'default', key: [99], ts: 60n, value: [] },
      { cf: 'write', key: [99], ts: 66n, value: [2, 0, 0, 0, 0, 0, 0, 0, 60] },
      { cf: 'default', key: [99], ts: 120n, value: [44] },
      { cf: 'write', key: [99], ts: 122n, value: putRecord(120) },
    ]);
    expectValue(await builder.api.kvGet(getRequest([99], 54n)), [42]);
    expectValue(await builder.api.kvGet(getRequest([99], 60n)), [42]);
    expectValue(await builder.api.kvGet(getRequest([99], 65n)), [42]);
    expectNotFound(await builder.api.kvGet(getRequest([99], 66n)));
    expectNotFound(await builder.api.kvGet(getRequest([99], 67n)));
    expectValue(await builder.api.kvGet(getRequest([99], 122n)), [44]);
  });

  it('TestGetLocked4B', async () => {
    const builder = newBuilder();
    builder.init([
      { cf: 'default', key: [99], ts: 50n, value: [42] },
      { cf: 'write', key: [99], ts: 54n, value: putRecord(50) },
      { cf: 'lock', key: [99], value: [99, 1, 0, 0, 0, 0, 0, 0, 0, 200, 0, 0, 0, 0, 0, 0, 0, 0] },
    ]);
    // A lock that started after the read does not block it.
    expectValue(await builder.api.kvGet(getRequest([99], 55n)), [42]);

    const resp = await builder.api.kvGet(getRequest([99], 300n));
    expect(resp.regionError).toBeUndefined();
    const lockInfo = resp.error?.locked;
    expect(lockInfo?.key).toEqual(bytes([99]));
    expect(lockInfo?.primaryLock).toEqual(bytes([99]));
    expect(lockInfo?.lockVersion).toBe(200n);
  });
});

describe('4B prewrite', () => {
  it('TestEmptyPrewrite4B', async () => {
    const builder = newBuilder();
    const resp = await builder.api.kvPrewrite(builder.prewriteRequest());
    expect(resp.errors).toEqual([]);
    expect(resp.regionError).toBeUndefined();
    builder.assertLen('default', 0);
  });

  it('TestSinglePrewrite4B', async () => {
    const builder = newBuilder();
    const cmd = builder.prewriteRequest(mutation(3, [42], Put));
    cmd.lockTtl = 1000;
    const resp = await builder.api.kvPrewrite(cmd);
    expect(resp.errors).toEqual([]);
    expect(resp.regionError).toBeUndefined();
    builder.assertLens(1, 1, 0);
    builder.assert([
      { cf: 'default', key: [3], value: [42] },
      { cf: 'lock', key: [3], value: [1, 1, 0, 0, 0, 0, 0, 0, 0, builder.ts(), 0, 0, 0, 0, 0, 0, 3, 232] },
    ]);
  });

  it('TestPrewriteLocked4B', async () => {
    const builder = newBuilder();
    const cmd = builder.prewriteRequest(mutation(3, [42], Put));
    const cmd2 = builder.prewriteRequest(mutation(3, [53], Put));
    const resp = await builder.api.kvPrewrite(cmd);
    const resp2 = await builder.api.kvPrewrite(cmd2);
    expect(resp.errors).toEqual([]);
    expect(resp.regionError).toBeUndefined();
    expect(resp2.errors).toHaveLength(1);
    expect(resp2.errors[0].locked?.lockVersion).toBe(100n);
    expect(resp2.regionError).toBeUndefined();
    builder.assertLens(1, 1, 0);
    builder.assert([
      { cf: 'default', key: [3], ts: 100n, value: [42] },
      { cf: 'lock', key: [3], value: [1, 1, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0] },
    ]);
  });

  // catches known bug 38: prewrite ignores a write committed after the transaction's start.
  it('TestPrewriteWritten4B', async () => {
    const builder = newBuilder();
    const cmd = builder.prewriteRequest(mutation(3, [42], Put));
    builder.init([
      { cf: 'default', key: [3], ts: 80n, value: [5] },
      { cf: 'write', key: [3], ts: 101n, value: putRecord(80) },
    ]);
    const resp = await builder.api.kvPrewrite(cmd);
    expect(resp.errors).toHaveLength(1);
    expect(resp.errors[0].conflict).toBeDefined();
    expect(resp.errors[0].conflict?.conflictTs).toBe(101n);
    expect(resp.errors[0].conflict?.startTs).toBe(100n);
    expect(resp.regionError).toBeUndefined();
    builder.assertLens(1, 0, 1);
    builder.assert([{ cf: 'default', key: [3], ts: 80n, value: [5] }]);
  });

  it('TestPrewriteWrittenNoConflict4B', async () => {
    const builder = newBuilder();
    const cmd = builder.prewriteRequest(mutation(3, [42], Put));
    builder.init([
      { cf: 'default', key: [3], ts: 80n, value: [5] },
      { cf: 'write', key: [3], ts: 90n, value: putRecord(80) },
    ]);
    const resp = await builder.api.kvPrewrite(cmd);
    expect(resp.errors).toEqual([]);
    expect(resp.regionError).toBeUndefined();
    builder.assertLens(2, 1, 1);
    builder.assert([
      { cf: 'default', key: [3], ts: 80n, value: [5] },
      { cf: 'default', key: [3], value: [42] },
      { cf: 'lock', key: [3], value: [1, 1, 0, 0, 0, 0, 0, 0, 0, builder.ts(), 0, 0, 0, 0, 0, 0, 0, 0] },
    ]);
  });

  it('TestMultiplePrewrites4B', async () => {
    const builder = newBuilder();
    const cmd = builder.prewriteRequest(mutation(3, [42], Put));
    const cmd2 = builder.prewriteRequest(mutation(4, [53], Put));
    const resp = await builder.api.kvPrewrite(cmd);
    const resp2 = await builder.api.kvPrewrite(cmd2);
    expect(resp.errors).toEqual([]);
    expect(resp.regionError).toBeUndefined();
    expect(resp2.errors).toEqual([]);
    expect(resp2.regionError).toBeUndefined();
    builder.assertLens(2, 2, 0);
    builder.assert([
      { cf: 'default', key: [3], ts: 100n, value: [42] },
      { cf: 'lock', key: [3], value: [1, 1, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0] },
      { cf: 'default', key: [4], ts: 101n, value: [53] },
      { cf: 'lock', key: [4], value: [1, 1, 0, 0, 0, 0, 0, 0, 0, 101, 0, 0, 0, 0, 0, 0, 0, 0] },
    ]);
  });

  it('TestPrewriteOverwrite4B', async () => {
    const builder = newBuilder();
    const cmd = builder.prewriteRequest(mutation(3, [42], Put), mutation(3, [45], Put));
    const resp = await builder.api.kvPrewrite(cmd);
    expect(resp.errors).toEqual([]);
    expect(resp.regionError).toBeUndefined();
    builder.assertLens(1, 1, 0);
    builder.assert([
      { cf: 'default', key: [3], value: [45] },
      { cf: 'lock', key: [3], value: [1, 1, 0, 0, 0, 0, 0, 0, 0, builder.ts(), 0, 0, 0, 0, 0, 0, 0, 0] },
    ]);
  });

  it('TestPrewriteMultiple4B', async () => {
    const builder = newBuilder();
    const cmd = builder.prewriteRequest(
      mutation(3, [42], Put),
      mutation(4, [43], Put),
      mutation(5, [44], Put),
      mutation(4, undefined, Del),
      mutation(4, [1, 3, 5], Put),
      mutation(255, [45], Put),
    );
    const resp = await builder.api.kvPrewrite(cmd);
    expect(resp.errors).toEqual([]);
    expect(resp.regionError).toBeUndefined();
    builder.assertLens(4, 4, 0);
    builder.assert([{ cf: 'default', key: [4], value: [1, 3, 5] }]);
  });

  // Our own: a prewrite is all or nothing. One locked key means no key of the request is locked or written.
  it('TestPrewriteAllOrNothing4B', async () => {
    const builder = newBuilder();
    builder.init([
      { cf: 'default', key: [5], ts: 90n, value: [7] },
      { cf: 'lock', key: [5], value: [5, 1, 0, 0, 0, 0, 0, 0, 0, 90, 0, 0, 0, 0, 0, 0, 0, 0] },
    ]);
    const resp = await builder.api.kvPrewrite(
      builder.prewriteRequest(mutation(3, [42], Put), mutation(5, [43], Put), mutation(9, [44], Put)),
    );
    expect(resp.errors).toHaveLength(1);
    expect(resp.errors[0].locked?.key).toEqual(bytes([5]));
    builder.assertLens(1, 1, 0);
    builder.assert([
      { cf: 'default', key: [5], ts: 90n },
      { cf: 'lock', key: [5] },
    ]);
  });

  // catches known bug 38: a txn rolled back before its prewrite arrived (a rollback record at its start ts,
  // as CheckTxnStatus leaves) must not be able to prewrite afterwards.
  it('TestPrewriteAfterRollback4B', async () => {
    const builder = newBuilder();
    const cmd = builder.prewriteRequest(mutation(3, [42], Put));
    builder.init([{ cf: 'write', key: [3], ts: 100n, value: [3, 0, 0, 0, 0, 0, 0, 0, 100] }]);
    const resp = await builder.api.kvPrewrite(cmd);
    expect(resp.errors).toHaveLength(1);
    expect(resp.errors[0].conflict).toBeDefined();
    builder.assertLens(0, 0, 1);
  });

  // Resending the same prewrite (a retry after a lost reply) is not a conflict with itself.
  it('TestPrewriteRetrySameTxn4B', async () => {
    const builder = newBuilder();
    const cmd = builder.prewriteRequest(mutation(3, [42], Put));
    expect((await builder.api.kvPrewrite(cmd)).errors).toEqual([]);
    expect((await builder.api.kvPrewrite(cmd)).errors).toEqual([]);
    builder.assertLens(1, 1, 0);
  });
});

describe('4B commit', () => {
  it('TestEmptyCommit4B', async () => {
    const builder = newBuilder();
    const resp = await builder.api.kvCommit(builder.commitRequest());
    expect(resp.error).toBeUndefined();
    expect(resp.regionError).toBeUndefined();
    builder.assertLens(0, 0, 0);
  });

  it('TestSingleCommit4B', async () => {
    const builder = newBuilder();
    const cmd = builder.commitRequest([3]);
    builder.init([
      { cf: 'default', key: [3], value: [42] },
      { cf: 'lock', key: [3], value: [1, 0, 0, 0, 0, 0, 0, 0, builder.ts(), 0, 0, 0, 0, 0, 0, 0, 0] },
    ]);
    const resp = await builder.api.kvCommit(cmd);
    expect(resp.error).toBeUndefined();
    expect(resp.regionError).toBeUndefined();
    builder.assertLens(1, 0, 1);
    builder.assert([
      { cf: 'write', key: [3], ts: 110n, value: putRecord(builder.ts()) },
      { cf: 'default', key: [3] },
    ]);
  });

  it('TestCommitOverwrite4B', async () => {
    const builder = newBuilder();
    const cmd = builder.commitRequest([3]);
    builder.init([
      // A previous, committed write.
      { cf: 'default', key: [3], ts: 80n, value: [15] },
      { cf: 'write', key: [3], ts: 84n, value: putRecord(80) },
      // The current, prewritten write.
      { cf: 'default', key: [3], value: [42] },
      { cf: 'lock', key: [3], value: [1, 1, 0, 0, 0, 0, 0, 0, 0, builder.ts(), 0, 0, 0, 0, 0, 0, 0, 0] },
    ]);
    const resp = await builder.api.kvCommit(cmd);
    expect(resp.error).toBeUndefined();
    expect(resp.regionError).toBeUndefined();
    builder.assertLens(2, 0, 2);
    builder.assert([
      { cf: 'write', key: [3], ts: 110n, value: putRecord(builder.ts()) },
      { cf: 'default', key: [3] },
    ]);
  });

  it('TestCommitMultipleKeys4B', async () => {
    const builder = newBuilder();
    const cmd = builder.commitRequest([3], [12, 4, 0], [15]);
    const ours = [1, 1, 0, 0, 0, 0, 0, 0, 0, builder.ts(), 0, 0, 0, 0, 0, 0, 0, 0];
    const other = [1, 2, 0, 0, 0, 0, 0, 0, 0, 99, 0, 0, 0, 0, 0, 0, 0, 0];
    builder.init([
      // Current, prewritten.
      { cf: 'default', key: [3], value: [42] },
      { cf: 'lock', key: [3], value: ours },
      { cf: 'default', key: [12, 4, 0], value: [1, 1, 0, 0, 1, 5] },
      { cf: 'lock', key: [12, 4, 0], value: ours },
      { cf: 'default', key: [15], value: [0] },
      { cf: 'lock', key: [15], value: ours },
      // Some committed data.
      { cf: 'default', key: [4], ts: 80n, value: [15] },
      { cf: 'write', key: [4], ts: 84n, value: putRecord(80) },
      { cf: 'default', key: [3, 0], ts: 80n, value: [150] },
      { cf: 'write', key: [3, 0], ts: 84n, value: putRecord(80) },
      // Another prewritten transaction.
      { cf: 'default', key: [2], ts: 99n, value: [0, 0, 0, 8] },
      { cf: 'lock', key: [2], value: other },
      { cf: 'default', key: [43, 6], ts: 99n, value: [1, 1, 0, 0, 1, 5] },
      { cf: 'lock', key: [43, 6], value: other },
    ]);
    const resp = await builder.api.kvCommit(cmd);
    expect(resp.error).toBeUndefined();
    expect(resp.regionError).toBeUndefined();
    builder.assertLens(7, 2, 5);
    builder.assert([
      // The newly committed data.
      { cf: 'write', key: [3], ts: 110n, value: putRecord(builder.ts()) },
      { cf: 'write', key: [12, 4, 0], ts: 110n, value: putRecord(builder.ts()) },
      { cf: 'write', key: [15], ts: 110n, value: putRecord(builder.ts()) },
      // Committed data is untouched.
      { cf: 'default', key: [4], ts: 80n },
      { cf: 'write', key: [4], ts: 84n },
      { cf: 'default', key: [3, 0], ts: 80n },
      { cf: 'write', key: [3, 0], ts: 84n },
      // Prewritten data is untouched.
      { cf: 'default', key: [2], ts: 99n },
      { cf: 'lock', key: [2] },
      { cf: 'default', key: [43, 6], ts: 99n },
      { cf: 'lock', key: [43, 6] },
    ]);
  });

  it('TestRecommitKey4B', async () => {
    const builder = newBuilder();
    const cmd = builder.commitRequest([3], [3]);
    builder.init([
      { cf: 'default', key: [3], value: [42] },
      { cf: 'lock', key: [3], value: [1, 1, 0, 0, 0, 0, 0, 0, 0, builder.ts(), 0, 0, 0, 0, 0, 0, 0, 0] },
    ]);
    const resp = await builder.api.kvCommit(cmd);
    expect(resp.error).toBeUndefined();
    expect(resp.regionError).toBeUndefined();
    builder.assertLens(1, 0, 1);
    builder.assert([
      { cf: 'write', key: [3], ts: 110n, value: putRecord(builder.ts()) },
      { cf: 'default', key: [3] },
    ]);
  });

  // catches known bug 39: rollback-then-commit treated as success.
  it('TestCommitConflictRollback4B', async () => {
    const builder = newBuilder();
    const cmd = builder.commitRequest([3]);
    builder.init([{ cf: 'write', key: [3], ts: 110n, value: [3, 0, 0, 0, 0, 0, 0, 0, builder.ts()] }]);
    const resp = await builder.api.kvCommit(cmd);
    expect(resp.error).toBeDefined();
    expect(resp.regionError).toBeUndefined();
    builder.assertLens(0, 0, 1);
    builder.assert([{ cf: 'write', key: [3], ts: 110n }]);
  });

  // catches known bug 39: commit of a key locked by another transaction treated as success.
  it('TestCommitConflictRace4B', async () => {
    const builder = newBuilder();
    const cmd = builder.commitRequest([3]);
    builder.init([
      { cf: 'default', key: [3], ts: 90n, value: [110] },
      { cf: 'lock', key: [3], value: [1, 3, 0, 0, 0, 0, 0, 0, 0, 90, 0, 0, 0, 0, 0, 0, 0, 0] },
    ]);
    const resp = await builder.api.kvCommit(cmd);
    expect(resp.error?.retryable).toBeTruthy();
    expect(resp.regionError).toBeUndefined();
    builder.assertLens(1, 1, 0);
    builder.assert([
      { cf: 'lock', key: [3] },
      { cf: 'default', key: [3], ts: 90n },
    ]);
  });

  it('TestCommitConflictRepeat4B', async () => {
    const builder = newBuilder();
    const cmd = builder.commitRequest([3]);
    builder.init([
      { cf: 'default', key: [3], value: [42] },
      { cf: 'write', key: [3], ts: 110n, value: putRecord(builder.ts()) },
    ]);
    const resp = await builder.api.kvCommit(cmd);
    expect(resp.error).toBeUndefined();
    expect(resp.regionError).toBeUndefined();
    builder.assertLens(1, 0, 1);
    builder.assert([
      { cf: 'write', key: [3], ts: 110n },
      { cf: 'default', key: [3] },
    ]);
  });

  it('TestCommitMissingPrewrite4B', async () => {
    const builder = newBuilder();
    const cmd = builder.commitRequest([3]);
    builder.init([
      // Some committed data.
      { cf: 'default', key: [4], ts: 80n, value: [15] },
      { cf: 'write', key: [4], ts: 84n, value: putRecord(80) },
      { cf: 'default', key: [3, 0], ts: 80n, value: [150] },
      { cf: 'write', key: [3, 0], ts: 84n, value: putRecord(80) },
      // Note: no prewrite.
    ]);
    const resp = await builder.api.kvCommit(cmd);
    expect(resp.error).toBeUndefined();
    expect(resp.regionError).toBeUndefined();
    builder.assertLens(2, 0, 2);
    builder.assert([
      { cf: 'default', key: [4], ts: 80n },
      { cf: 'write', key: [4], ts: 84n },
      { cf: 'default', key: [3, 0], ts: 80n },
      { cf: 'write', key: [3, 0], ts: 84n },
    ]);
  });

  // catches known bug 39: one key of the commit is held by another txn; the whole commit fails, nothing written.
  it('TestCommitPartlyLockedByOther4B', async () => {
    const builder = newBuilder();
    const cmd = builder.commitRequest([3], [4]);
    builder.init([
      { cf: 'default', key: [3], value: [42] },
      { cf: 'lock', key: [3], value: [1, 1, 0, 0, 0, 0, 0, 0, 0, builder.ts(), 0, 0, 0, 0, 0, 0, 0, 0] },
      { cf: 'default', key: [4], ts: 90n, value: [43] },
      { cf: 'lock', key: [4], value: [4, 1, 0, 0, 0, 0, 0, 0, 0, 90, 0, 0, 0, 0, 0, 0, 0, 0] },
    ]);
    const resp = await builder.api.kvCommit(cmd);
    expect(resp.error?.retryable).toBeTruthy();
    builder.assertLens(2, 2, 0);
    builder.assert([
      { cf: 'lock', key: [3] },
      { cf: 'lock', key: [4] },
    ]);
  });

  it('TestCommitVersionNotAfterStart4B', async () => {
    const builder = newBuilder();
    builder.init([
      { cf: 'default', key: [3], ts: 100n, value: [42] },
      { cf: 'lock', key: [3], value: [1, 1, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0] },
    ]);
    const resp = await builder.api.kvCommit(
      kvrpcpb.CommitRequest({ startVersion: 100n, commitVersion: 100n, keys: [bytes([3])] }),
    );
    expect(resp.error?.abort).toMatch(/commit_version/);
    builder.assertLens(1, 1, 0);
  });
});
