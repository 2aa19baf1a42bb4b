/**
 * Project 4C: KvScan, KvCheckTxnStatus, KvBatchRollback, KvResolveLock (TinyKV's commands4c_test.go
 * scenarios, plus our own).
 */
import { describe, expect, it } from 'vitest';
import { kvrpcpb } from '#proto';
import { beU64, bytes, resolveRequest, TxnTestBuilder, type KvSpec } from '../../txn/test-builder.ts';

const rollbackRecord = (ts: number) => [3, 0, 0, 0, 0, 0, 0, 0, ts];
const putRecord = (ts: number) => [1, 0, 0, 0, 0, 0, 0, 0, ts];

function newBuilder(): TxnTestBuilder {
  return new TxnTestBuilder();
}

describe('4C rollback', () => {
  it('TestEmptyRollback4C', async () => {
    const builder = newBuilder();
    const resp = await builder.api.kvBatchRollback(builder.rollbackRequest());
    expect(resp.error).toBeUndefined();
    expect(resp.regionError).toBeUndefined();
    builder.assertLens(0, 0, 0);
  });

  it('TestRollback4C', async () => {
    const builder = newBuilder();
    const cmd = builder.rollbackRequest([3]);
    builder.init([
      { cf: 'default', key: [3], value: [42] },
      { cf: 'lock', key: [3], value: [1, 1, 0, 0, 0, 0, 0, 0, 0, builder.ts(), 0, 0, 0, 0, 0, 0, 0, 0] },
    ]);
    const resp = await builder.api.kvBatchRollback(cmd);
    expect(resp.error).toBeUndefined();
    expect(resp.regionError).toBeUndefined();
    builder.assertLens(0, 0, 1);
    builder.assert([{ cf: 'write', key: [3], value: rollbackRecord(builder.ts()) }]);
  });

  it('TestRollbackDuplicateKeys4C', async () => {
    const builder = newBuilder();
    const cmd = builder.rollbackRequest([3], [15], [3]);
    builder.init([
      { cf: 'default', key: [3], value: [42] },
      { cf: 'lock', key: [3], value: [1, 1, 0, 0, 0, 0, 0, 0, 0, builder.ts(), 0, 0, 0, 0, 0, 0, 0, 0] },
      { cf: 'default', key: [15], value: [0] },
      { cf: 'lock', key: [15], value: [1, 1, 0, 0, 0, 0, 0, 0, 0, builder.ts(), 0, 0, 0, 0, 0, 0, 0, 0] },
    ]);
    const resp = await builder.api.kvBatchRollback(cmd);
    expect(resp.error).toBeUndefined();
    expect(resp.regionError).toBeUndefined();
    builder.assertLens(0, 0, 2);
    builder.assert([
      { cf: 'write', key: [3], value: rollbackRecord(builder.ts()) },
      { cf: 'write', key: [15], value: rollbackRecord(builder.ts()) },
    ]);
  });

  it('TestRollbackMissingPrewrite4C', async () => {
    const builder = newBuilder();
    const resp = await builder.api.kvBatchRollback(builder.rollbackRequest([3]));
    expect(resp.error).toBeUndefined();
    expect(resp.regionError).toBeUndefined();
    builder.assertLens(0, 0, 1);
    builder.assert([{ cf: 'write', key: [3], value: rollbackRecord(builder.ts()) }]);
  });

  it('TestRollbackCommitted4C', async () => {
    const builder = newBuilder();
    const cmd = builder.rollbackRequest([3]);
    builder.init([
      { cf: 'default', key: [3], value: [42] },
      { cf: 'write', key: [3], ts: 110n, value: putRecord(builder.ts()) },
    ]);
    const resp = await builder.api.kvBatchRollback(cmd);
    expect(resp.error?.abort).toBeTruthy();
    expect(resp.regionError).toBeUndefined();
    builder.assertLens(1, 0, 1);
    builder.assert([
      { cf: 'default', key: [3] },
      { cf: 'write', key: [3], ts: 110n },
    ]);
  });

  it('TestRollbackDuplicate4C', async () => {
    const builder = newBuilder();
    const cmd = builder.rollbackRequest([3]);
    builder.init([{ cf: 'write', key: [3], ts: 100n, value: rollbackRecord(builder.ts()) }]);
    const resp = await builder.api.kvBatchRollback(cmd);
    expect(resp.error).toBeUndefined();
    expect(resp.regionError).toBeUndefined();
    builder.assertLens(0, 0, 1);
    builder.assert([{ cf: 'write', key: [3], ts: 100n }]);
  });

  // A commit racing a rollback of the same txn: exactly one outcome wins, and the loser is told.
  it('TestConcurrentCommitAndRollback4C', async () => {
    for (let round = 0; round < 5; round++) {
      const builder = new TxnTestBuilder();
      builder.init([
        { cf: 'default', key: [3], ts: 100n, value: [42] },
        { cf: 'lock', key: [3], value: [3, 1, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0] },
      ]);
      const [commit, rollback] = await Promise.all([
        builder.api.kvCommit(kvrpcpb.CommitRequest({ startVersion: 100n, commitVersion: 110n, keys: [bytes([3])] })),
        builder.api.kvBatchRollback(kvrpcpb.BatchRollbackRequest({ startVersion: 100n, keys: [bytes([3])] })),
      ]);
      // Commit runs first (it latched first): the rollback must then fail with abort.
      expect(commit.error).toBeUndefined();
      expect(rollback.error?.abort).toBeTruthy();
      builder.assertLens(1, 0, 1);
    }
  });

  it('TestRollbackOtherTxn4C', async () => {
    const builder = newBuilder();
    const cmd = builder.rollbackRequest([3]);
    builder.init([
      { cf: 'default', key: [3], ts: 80n, value: [42] },
      { cf: 'lock', key: [3], value: [1, 1, 0, 0, 0, 0, 0, 0, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0] },
    ]);
    const resp = await builder.api.kvBatchRollback(cmd);
    expect(resp.error).toBeUndefined();
    expect(resp.regionError).toBeUndefined();
    builder.assertLens(1, 1, 1);
    builder.assert([
      { cf: 'default', key: [3], ts: 80n },
      { cf: 'lock', key: [3] },
      { cf: 'write', key: [3], ts: 100n, value: rollbackRecord(builder.ts()) },
    ]);
  });
});

describe('4C check txn status', () => {
  // catches known bug 40: the lock's TTL has run out (by physical time), so it must be rolled back.
  it('TestCheckTxnStatusTtlExpired4C', async () => {
    const builder = newBuilder();
    const cmd = builder.checkTxnStatusRequest([3]);
    builder.init([
      { cf: 'default', key: [3], ts: cmd.lockTs, value: [42] },
      { cf: 'lock', key: [3], value: [3, 1, 0, 0, 5, 0, 0, 0, 0, builder.ts(), 0, 0, 0, 0, 0, 0, 0, 8] },
    ]);
    const resp = await builder.api.kvCheckTxnStatus(cmd);
    expect(resp.regionError).toBeUndefined();
    expect(resp.action).toBe(kvrpcpb.Action.TTLExpireRollback);
    builder.assertLens(0, 0, 1);
    builder.assert([{ cf: 'write', key: [3], ts: cmd.lockTs, value: [3, 0, 0, 5, 0, 0, 0, 0, builder.ts()] }]);
  });

  // catches known bug 40: a lock whose TTL has not run out must stay, with NoAction and its TTL reported.
  it('TestCheckTxnStatusTtlNotExpired4C', async () => {
    const builder = newBuilder();
    const cmd = builder.checkTxnStatusRequest([3]);
    builder.init([
      { cf: 'default', key: [3], ts: cmd.lockTs, value: [42] },
      { cf: 'lock', key: [3], value: [3, 1, 0, 0, 5, 0, 0, 0, 0, builder.ts(), 0, 0, 0, 1, 0, 0, 0, 8] },
    ]);
    const resp = await builder.api.kvCheckTxnStatus(cmd);
    expect(resp.regionError).toBeUndefined();
    expect(resp.action).toBe(kvrpcpb.Action.NoAction);
    expect(resp.lockTtl).toBe(Number(beU64([0, 0, 0, 1, 0, 0, 0, 8])));
    builder.assertLens(1, 1, 0);
    builder.assert([
      { cf: 'default', key: [3], ts: cmd.lockTs },
      { cf: 'lock', key: [3] },
    ]);
  });

  it('TestCheckTxnStatusRolledBack4C', async () => {
    const builder = newBuilder();
    const cmd = builder.checkTxnStatusRequest([3]);
    builder.init([
      { cf: 'default', key: [3], ts: cmd.lockTs, value: [42] },
      { cf: 'write', key: [3], ts: cmd.lockTs, value: [3, 0, 0, 5, 0, 0, 0, 0, builder.ts()] },
      // A lock of another, later txn.
      { cf: 'lock', key: [3], value: [3, 1, 0, 0, 8, 0, 0, 0, 0, builder.ts(), 0, 0, 0, 0, 0, 0, 0, 8] },
    ]);
    const resp = await builder.api.kvCheckTxnStatus(cmd);
    expect(resp.regionError).toBeUndefined();
    expect(resp.action).toBe(kvrpcpb.Action.NoAction);
    expect(resp.commitVersion).toBe(0n);
    builder.assertLens(1, 1, 1);
    builder.assert([
      { cf: 'default', key: [3], ts: cmd.lockTs },
      { cf: 'write', key: [3], ts: cmd.lockTs },
      { cf: 'lock', key: [3] },
    ]);
  });

  it('TestCheckTxnStatusCommitted4C', async () => {
    const builder = newBuilder();
    const cmd = builder.checkTxnStatusRequest([3]);
    builder.init([
      { cf: 'default', key: [3], ts: cmd.lockTs, value: [42] },
      { cf: 'write', key: [3], ts: cmd.lockTs, value: [1, 0, 0, 5, 0, 0, 0, 0, builder.ts()] },
    ]);
    const resp = await builder.api.kvCheckTxnStatus(cmd);
    expect(resp.regionError).toBeUndefined();
    expect(resp.action).toBe(kvrpcpb.Action.NoAction);
    expect(resp.commitVersion).toBe(beU64([0, 0, 5, 0, 0, 0, 0, builder.ts()]));
    builder.assertLens(1, 0, 1);
    builder.assert([
      { cf: 'default', key: [3], ts: cmd.lockTs },
      { cf: 'write', key: [3], ts: cmd.lockTs },
    ]);
  });

  // catches known bug 40: with no lock and no record, the right action is LockNotExistRollback.
  it('TestCheckTxnStatusNoLockNoWrite4C', async () => {
    const builder = newBuilder();
    const cmd = builder.checkTxnStatusRequest([3]);
    const resp = await builder.api.kvCheckTxnStatus(cmd);
    expect(resp.regionError).toBeUndefined();
    expect(resp.action).toBe(kvrpcpb.Action.LockNotExistRollback);
    builder.assertLens(0, 0, 1);
    builder.assert([{ cf: 'write', key: [3], ts: cmd.lockTs, value: [3, 0, 0, 5, 0, 0, 0, 0, builder.ts()] }]);
  });

  // catches known bug 40: the TTL is judged on physical milliseconds (ts >> 18), not on raw timestamps, and a
  // lock is alive until physical(lockTs) + ttl. TSO timestamps make the raw difference 2^18 times larger.
  it('TestCheckTxnStatusTtlBoundary4C', async () => {
    const physical = 1_700_000_000_000n;
    const lockTs = (physical << 18n) | 5n;
    const ttl = 100;
    const lockBytes = [3, 1, ...be64(lockTs), ...be64(BigInt(ttl))];
    const at = (ms: bigint) => ((physical + ms) << 18n) | 7n;

    const alive = newBuilder();
    alive.init([
      { cf: 'default', key: [3], ts: lockTs, value: [42] },
      { cf: 'lock', key: [3], value: lockBytes },
    ]);
    const stillAlive = await alive.api.kvCheckTxnStatus(
      kvrpcpb.CheckTxnStatusRequest({ primaryKey: bytes([3]), lockTs, currentTs: at(99n) }),
    );
    expect(stillAlive.action).toBe(kvrpcpb.Action.NoAction);
    expect(stillAlive.lockTtl).toBe(ttl);
    expect(stillAlive.commitVersion).toBe(0n);
    alive.assertLens(1, 1, 0);

    const expired = await alive.api.kvCheckTxnStatus(
      kvrpcpb.CheckTxnStatusRequest({ primaryKey: bytes([3]), lockTs, currentTs: at(100n) }),
    );
    expect(expired.action).toBe(kvrpcpb.Action.TTLExpireRollback);
    expect(expired.lockTtl).toBe(0);
    alive.assertLens(0, 0, 1);
    alive.assert([{ cf: 'write', key: [3], ts: lockTs, value: [3, ...be64(lockTs)] }]);

    // Asked again, the txn is known to be rolled back: no action, nothing committed.
    const again = await alive.api.kvCheckTxnStatus(
      kvrpcpb.CheckTxnStatusRequest({ primaryKey: bytes([3]), lockTs, currentTs: at(200n) }),
    );
    expect(again.action).toBe(kvrpcpb.Action.NoAction);
    expect(again.commitVersion).toBe(0n);
    expect(again.lockTtl).toBe(0);
    alive.assertLens(0, 0, 1);
  });
});

describe('4C resolve lock', () => {
  it('TestEmptyResolve4C', async () => {
    const builder = newBuilder();
    const resp = await builder.api.kvResolveLock(resolveRequest(0n, 0n));
    expect(resp.error).toBeUndefined();
    expect(resp.regionError).toBeUndefined();
    builder.assertLens(0, 0, 0);
  });

  const threeLocks: KvSpec[] = [
    { cf: 'default', key: [3], ts: 100n, value: [42] },
    { cf: 'lock', key: [3], value: [1, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0] },
    { cf: 'default', key: [7], ts: 100n, value: [43] },
    { cf: 'lock', key: [7], value: [1, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0] },
    { cf: 'default', key: [200], ts: 110n, value: [44] },
    { cf: 'lock', key: [200], value: [1, 0, 0, 0, 0, 0, 0, 0, 110, 0, 0, 0, 0, 0, 0, 0, 0] },
  ];

  it('TestResolveCommit4C', async () => {
    const builder = newBuilder();
    builder.init(threeLocks);
    const resp = await builder.api.kvResolveLock(resolveRequest(100n, 120n));
    expect(resp.error).toBeUndefined();
    expect(resp.regionError).toBeUndefined();
    builder.assertLens(3, 1, 2);
    builder.assert([
      { cf: 'default', key: [3], ts: 100n },
      { cf: 'write', key: [3], ts: 120n, value: putRecord(100) },
      { cf: 'default', key: [7], ts: 100n },
      { cf: 'write', key: [7], ts: 120n, value: putRecord(100) },
      { cf: 'default', key: [200], ts: 110n },
      { cf: 'lock', key: [200] },
    ]);
  });

  it('TestResolveRollback4C', async () => {
    const builder = newBuilder();
    builder.init(threeLocks);
    const resp = await builder.api.kvResolveLock(resolveRequest(100n, 0n));
    expect(resp.error).toBeUndefined();
    expect(resp.regionError).toBeUndefined();
    builder.assertLens(1, 1, 2);
    builder.assert([
      { cf: 'write', key: [3], ts: 100n, value: rollbackRecord(100) },
      { cf: 'write', key: [7], ts: 100n, value: rollbackRecord(100) },
      { cf: 'default', key: [200], ts: 110n },
      { cf: 'lock', key: [200] },
    ]);
  });

  const settled: KvSpec[] = [
    { cf: 'default', key: [3], ts: 100n, value: [42] },
    { cf: 'write', key: [201], ts: 120n, value: putRecord(100) },
    { cf: 'default', key: [7], ts: 100n, value: [43] },
    { cf: 'write', key: [201], ts: 100n, value: rollbackRecord(100) },
    { cf: 'default', key: [200], ts: 110n, value: [44] },
    { cf: 'lock', key: [200], value: [1, 0, 0, 0, 0, 0, 0, 0, 110, 0, 0, 0, 0, 0, 0, 0, 0] },
  ];
  const unchanged: KvSpec[] = [
    { cf: 'default', key: [3], ts: 100n },
    { cf: 'write', key: [201], ts: 120n },
    { cf: 'default', key: [7], ts: 100n },
    { cf: 'write', key: [201], ts: 100n },
    { cf: 'default', key: [200], ts: 110n },
    { cf: 'lock', key: [200] },
  ];

  it('TestResolveCommitWritten4C', async () => {
    const builder = newBuilder();
    builder.init(settled);
    const resp = await builder.api.kvResolveLock(resolveRequest(100n, 120n));
    expect(resp.error).toBeUndefined();
    expect(resp.regionError).toBeUndefined();
    builder.assertLens(3, 1, 2);
    builder.assert(unchanged);
  });

  it('TestResolveRollbackWritten4C', async () => {
    const builder = newBuilder();
    builder.init(settled);
    const resp = await builder.api.kvResolveLock(resolveRequest(100n, 0n));
    expect(resp.error).toBeUndefined();
    expect(resp.regionError).toBeUndefined();
    builder.assertLens(3, 1, 2);
    builder.assert(unchanged);
  });
});

function builderForScan(): TxnTestBuilder {
  const put = (key: number[], startTs: number, commitTs: number, value: number): KvSpec[] => [
    { cf: 'default', key, ts: BigInt(startTs), value: [value] },
    { cf: 'write', key, ts: BigInt(commitTs), value: putRecord(startTs) },
  ];
  const builder = newBuilder();
  builder.init([
    // Committed before 100.
    ...put([1], 80, 99, 50),
    ...put([1, 23], 80, 99, 55),
    ...put([3], 80, 99, 51),
    ...put([3, 45], 80, 99, 56),
    ...put([3, 46], 80, 99, 57),
    ...put([3, 47], 80, 99, 58),
    ...put([3, 48], 80, 99, 59),
    ...put([4], 80, 99, 52),
    ...put([120], 80, 99, 53),
    ...put([199], 80, 99, 54),
    // Committed after 100.
    ...put([4, 45], 110, 116, 58),
    ...put([4, 46], 110, 116, 57),
    ...put([4, 47], 110, 116, 58),
    ...put([4, 48], 110, 116, 59),
    // Committed after 100, but started before.
    ...put([5, 45], 97, 101, 60),
    ...put([5, 46], 97, 101, 61),
    ...put([5, 47], 97, 101, 62),
    ...put([5, 48], 97, 101, 63),
    // A deleted and then replaced value.
    { cf: 'default', key: [150], ts: 80n, value: [42] },
    { cf: 'write', key: [150], ts: 99n, value: putRecord(80) },
    { cf: 'write', key: [150], ts: 101n, value: [2, 0, 0, 0, 0, 0, 0, 0, 97] },
    { cf: 'default', key: [150], ts: 110n, value: [64] },
    { cf: 'write', key: [150], ts: 116n, value: putRecord(110) },
  ]);
  return builder;
}

describe('4C scan', () => {
  it('TestScanEmpty4C', async () => {
    const builder = builderForScan();
    const resp = await builder.api.kvScan(builder.scanRequest([200], 10000));
    expect(resp.regionError).toBeUndefined();
    expect(resp.pairs).toEqual([]);
  });

  it('TestScanLimitZero4C', async () => {
    const builder = builderForScan();
    const resp = await builder.api.kvScan(builder.scanRequest([3], 0));
    expect(resp.regionError).toBeUndefined();
    expect(resp.pairs).toEqual([]);
  });

  // catches known bug 41: one pair per user key (11 keys are visible at 100, with 12 versions before it).
  it('TestScanAll4C', async () => {
    const builder = builderForScan();
    const resp = await builder.api.kvScan(builder.scanRequest([0], 10000));
    expect(resp.regionError).toBeUndefined();
    expect(resp.pairs).toHaveLength(11);
    expect(resp.pairs[0].key).toEqual(bytes([1]));
    expect(resp.pairs[0].value).toEqual(bytes([50]));
    expect(resp.pairs[10].key).toEqual(bytes([199]));
    expect(resp.pairs[10].value).toEqual(bytes([54]));
  });

  it('TestScanLimit4C', async () => {
    const builder = builderForScan();
    const resp = await builder.api.kvScan(builder.scanRequest([2], 6));
    expect(resp.regionError).toBeUndefined();
    expect(resp.pairs).toHaveLength(6);
    expect(resp.pairs[0].key).toEqual(bytes([3]));
    expect(resp.pairs[0].value).toEqual(bytes([51]));
    expect(resp.pairs[5].key).toEqual(bytes([4]));
    expect(resp.pairs[5].value).toEqual(bytes([52]));
  });

  // catches known bug 41: a deleted value must not be returned, and a replaced one only in its new version.
  it('TestScanDeleted4C', async () => {
    const builder = builderForScan();
    const req1 = builder.scanRequest([100], 10000);
    req1.version = 100n;
    const req2 = builder.scanRequest([100], 10000);
    req2.version = 105n;
    const req3 = builder.scanRequest([100], 10000);
    req3.version = 120n;

    const resp1 = await builder.api.kvScan(req1);
    expect(resp1.regionError).toBeUndefined();
    expect(resp1.pairs).toHaveLength(3);
    expect(resp1.pairs[1].key).toEqual(bytes([150]));
    expect(resp1.pairs[1].value).toEqual(bytes([42]));

    const resp2 = await builder.api.kvScan(req2);
    expect(resp2.regionError).toBeUndefined();
    expect(resp2.pairs).toHaveLength(2);
    expect(resp2.pairs[0].key).toEqual(bytes([120]));
    expect(resp2.pairs[1].key).toEqual(bytes([199]));

    const resp3 = await builder.api.kvScan(req3);
    expect(resp3.regionError).toBeUndefined();
    expect(resp3.pairs).toHaveLength(3);
    expect(resp3.pairs[1].key).toEqual(bytes([150]));
    expect(resp3.pairs[1].value).toEqual(bytes([64]));
  });

  // Our own: exact contents at 100 (values, order, no key twice), and rollback records are skipped.
  it('TestScanExactAndRollbacks4C', async () => {
    const builder = builderForScan();
    builder.init([
      // A rollback newer than key 1's commit, and a key that only ever saw a rollback.
      { cf: 'write', key: [1], ts: 100n, value: rollbackRecord(100) },
      { cf: 'write', key: [2], ts: 95n, value: rollbackRecord(95) },
    ]);
    const req = builder.scanRequest([0], 100);
    req.version = 100n;
    const resp = await builder.api.kvScan(req);
    const got = resp.pairs.map((p) => [[...p.key], [...p.value]]);
    expect(got).toEqual([
      [[1], [50]],
      [[1, 23], [55]],
      [[3], [51]],
      [[3, 45], [56]],
      [[3, 46], [57]],
      [[3, 47], [58]],
      [[3, 48], [59]],
      [[4], [52]],
      [[120], [53]],
      [[150], [42]],
      [[199], [54]],
    ]);
  });

  // catches known bug 41: several versions of one key are visible; the scan returns only the newest.
  it('TestScanOneValuePerKey4C', async () => {
    const builder = newBuilder();
    builder.init([
      { cf: 'default', key: [3], ts: 10n, value: [1] },
      { cf: 'write', key: [3], ts: 11n, value: putRecord(10) },
      { cf: 'default', key: [3], ts: 20n, value: [2] },
      { cf: 'write', key: [3], ts: 21n, value: putRecord(20) },
      { cf: 'write', key: [3], ts: 25n, value: rollbackRecord(25) },
      { cf: 'default', key: [3], ts: 30n, value: [3] },
      { cf: 'write', key: [3], ts: 31n, value: putRecord(30) },
      { cf: 'default', key: [4], ts: 10n, value: [4] },
      { cf: 'write', key: [4], ts: 11n, value: putRecord(10) },
      { cf: 'write', key: [4], ts: 21n, value: [2, 0, 0, 0, 0, 0, 0, 0, 20] },
      { cf: 'default', key: [5], ts: 10n, value: [5] },
      { cf: 'write', key: [5], ts: 11n, value: putRecord(10) },
    ]);
    const at = async (version: bigint) => {
      const resp = await builder.api.kvScan(kvrpcpb.ScanRequest({ startKey: bytes([0]), limit: 10, version }));
      return resp.pairs.map((p) => [[...p.key], [...p.value]]);
    };
    expect(await at(40n)).toEqual([
      [[3], [3]],
      [[5], [5]],
    ]);
    expect(await at(26n)).toEqual([
      [[3], [2]],
      [[5], [5]],
    ]);
    expect(await at(15n)).toEqual([
      [[3], [1]],
      [[4], [4]],
      [[5], [5]],
    ]);
    // The limit counts user keys, not versions.
    const limited = await builder.api.kvScan(kvrpcpb.ScanRequest({ startKey: bytes([0]), limit: 2, version: 15n }));
    expect(limited.pairs.map((p) => [...p.key])).toEqual([[3], [4]]);
  });

  // Our own: a lock that started at or before the scan's version hides the key's value behind a lock error,
  // also on a key with no committed value yet; a later lock does not.
  it('TestScanLocked4C', async () => {
    const builder = builderForScan();
    builder.init([
      { cf: 'lock', key: [3, 46], value: [3, 1, 0, 0, 0, 0, 0, 0, 0, 98, 0, 0, 0, 0, 0, 0, 0, 9] },
      { cf: 'lock', key: [3, 50], value: [3, 1, 0, 0, 0, 0, 0, 0, 0, 98, 0, 0, 0, 0, 0, 0, 0, 9] },
      { cf: 'lock', key: [3, 47], value: [3, 1, 0, 0, 0, 0, 0, 0, 0, 130, 0, 0, 0, 0, 0, 0, 0, 9] },
    ]);
    const req = builder.scanRequest([3], 5);
    req.version = 100n;
    const resp = await builder.api.kvScan(req);
    expect(resp.pairs.map((p) => [...p.key])).toEqual([[3], [3, 45], [3, 46], [3, 47], [3, 48]]);
    expect(resp.pairs[2].error?.locked?.lockVersion).toBe(98n);
    expect(resp.pairs[2].error?.locked?.key).toEqual(bytes([3, 46]));
    expect(resp.pairs[3].error).toBeUndefined();
    expect(resp.pairs[3].value).toEqual(bytes([58]));

    const wide = builder.scanRequest([3, 48], 3);
    wide.version = 100n;
    const resp2 = await builder.api.kvScan(wide);
    expect(resp2.pairs.map((p) => [...p.key])).toEqual([[3, 48], [3, 50], [4]]);
    expect(resp2.pairs[1].error?.locked?.primaryLock).toEqual(bytes([3]));
  });
});

function be64(x: bigint): number[] {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, x, false);
  return [...out];
}
