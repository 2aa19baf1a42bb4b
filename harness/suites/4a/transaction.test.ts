/**
 * Project 4A: the MVCC transaction layer (kv/transaction/mvcc/transaction.ts), TinyKV's transaction_test.go
 * scenarios plus our own on rollback records, neighbouring keys and 64-bit timestamps. (The key codec is
 * given code; its tests, TinyKV's TestEncodeKey and TestDecodeKey, are in kit/txn-codec.test.ts.)
 *
 * catches known bug 37 (key order misunderstood: user key ascending, then timestamp descending): a getValue,
 * currentWrite or mostRecentWrite that seeks as if versions were oldest first fails TestGetValueSimple4A,
 * TestGetValueOverwritten4A, TestCurrentWrite4A and TestMostRecentWrite4A.
 */
import { describe, expect, it } from 'vitest';
import { MemStorage } from '@impl/kv/storage/mem-storage.ts';
import type { ColumnFamily } from '@impl/kv/storage/storage.ts';
import { decodeTimestamp, encodeKey, TS_MAX } from '@impl/kv/transaction/mvcc/codec.ts';
import { Lock } from '@impl/kv/transaction/mvcc/lock.ts';
import { MvccTxn } from '@impl/kv/transaction/mvcc/transaction.ts';
import { Write, WriteKind } from '@impl/kv/transaction/mvcc/write.ts';

const u8 = (...b: number[]) => Uint8Array.from(b);

async function testTxn(startTs: bigint, setup?: (m: MemStorage) => void): Promise<MvccTxn> {
  const mem = new MemStorage();
  setup?.(mem);
  return new MvccTxn(await mem.reader(undefined), startTs);
}

function assertPutInTxn(txn: MvccTxn, key: Uint8Array, value: Uint8Array, cf: ColumnFamily): void {
  expect(txn.writes).toHaveLength(1);
  expect(txn.writes[0]).toEqual({ type: 'put', cf, key, value });
}

function assertDeleteInTxn(txn: MvccTxn, key: Uint8Array, cf: ColumnFamily): void {
  expect(txn.writes).toHaveLength(1);
  expect(txn.writes[0]).toEqual({ type: 'delete', cf, key });
}

function singleEntry(m: MemStorage): void {
  m.set('default', encodeKey(u8(16, 240), 40n), u8(1, 2, 3));
  m.set('write', encodeKey(u8(16, 240), 42n), new Write(40n, WriteKind.Put).toBytes());
}

function twoEntries(m: MemStorage): void {
  m.set('default', encodeKey(u8(16, 240), 40n), u8(1, 2, 3));
  m.set('write', encodeKey(u8(16, 240), 42n), new Write(40n, WriteKind.Put).toBytes());
  m.set('default', encodeKey(u8(16, 240), 50n), u8(255, 0, 255));
  m.set('write', encodeKey(u8(16, 240), 52n), new Write(50n, WriteKind.Put).toBytes());
}

function deleted(m: MemStorage): void {
  m.set('default', encodeKey(u8(16, 240), 40n), u8(1, 2, 3));
  m.set('write', encodeKey(u8(16, 240), 42n), new Write(40n, WriteKind.Put).toBytes());
  m.set('write', encodeKey(u8(16, 240), 52n), new Write(50n, WriteKind.Delete).toBytes());
}

describe('4A mvcc transaction', () => {
  it('TestPutLock4A', async () => {
    const txn = await testTxn(42n);
    const lock = new Lock(u8(16), 100n, 100000, WriteKind.Rollback);
    txn.putLock(u8(1), lock);
    assertPutInTxn(txn, u8(1), lock.toBytes(), 'lock');
  });

  it('TestPutWrite4A', async () => {
    const txn = await testTxn(0n);
    const write = new Write(100n, WriteKind.Delete);
    txn.putWrite(u8(16, 240), 0n, write);
    assertPutInTxn(txn, encodeKey(u8(16, 240), 0n), write.toBytes(), 'write');
  });

  it('TestPutValue4A', async () => {
    const txn = await testTxn(453325345n);
    const value = u8(1, 1, 2, 3, 5, 8, 13);
    txn.putValue(u8(32), value);
    assertPutInTxn(txn, encodeKey(u8(32), 453325345n), value, 'default');
  });

  it('TestGetLock4A', async () => {
    const lock = new Lock(u8(16), 100n, 100000, WriteKind.Rollback);
    const txn = await testTxn(42n, (m) => m.set('lock', u8(1), lock.toBytes()));
    expect(await txn.getLock(u8(1))).toEqual(lock);
    expect(await txn.getLock(u8(2))).toBeUndefined();
  });

  it('TestDeleteLock4A', async () => {
    const txn = await testTxn(42n);
    txn.deleteLock(u8(1));
    assertDeleteInTxn(txn, u8(1), 'lock');
  });

  it('TestDeleteValue4A', async () => {
    const txn = await testTxn(63454245n);
    txn.deleteValue(u8(17, 255, 0));
    assertDeleteInTxn(txn, encodeKey(u8(17, 255, 0), 63454245n), 'default');
  });

  it('TestGetValueSimple4A', async () => {
    const txn = await testTxn(43n, singleEntry);
    expect(await txn.getValue(u8(16, 240))).toEqual(u8(1, 2, 3));
  });

  it('TestGetValueMissing4A', async () => {
    const txn = await testTxn(43n, singleEntry);
    expect(await txn.getValue(u8(16, 241))).toBeUndefined();
  });

  it('TestGetValueTooEarly4A', async () => {
    const txn = await testTxn(41n, singleEntry);
    expect(await txn.getValue(u8(16, 240))).toBeUndefined();
  });

  it('TestGetValueOverwritten4A', async () => {
    const txn = await testTxn(52n, twoEntries);
    expect(await txn.getValue(u8(16, 240))).toEqual(u8(255, 0, 255));
  });

  it('TestGetValueNotOverwritten4A', async () => {
    const txn = await testTxn(50n, twoEntries);
    expect(await txn.getValue(u8(16, 240))).toEqual(u8(1, 2, 3));
  });

  it('TestGetValueDeleted4A', async () => {
    const txn = await testTxn(500n, deleted);
    expect(await txn.getValue(u8(16, 240))).toBeUndefined();
  });

  it('TestGetValueNotDeleted4A', async () => {
    const txn = await testTxn(45n, deleted);
    expect(await txn.getValue(u8(16, 240))).toEqual(u8(1, 2, 3));
  });

  // A rollback record is not a change of the key: the value committed before it stays visible.
  it('TestGetValueSkipsRollback4A', async () => {
    const txn = await testTxn(100n, (m) => {
      singleEntry(m);
      m.set('write', encodeKey(u8(16, 240), 60n), new Write(60n, WriteKind.Rollback).toBytes());
      m.set('write', encodeKey(u8(16, 240), 70n), new Write(70n, WriteKind.Rollback).toBytes());
    });
    expect(await txn.getValue(u8(16, 240))).toEqual(u8(1, 2, 3));
  });

  // Keys that share a prefix must not be confused: 16,240 is not 16,240,0 and not 16.
  it('TestGetValueNeighbourKeys4A', async () => {
    const txn = await testTxn(100n, (m) => {
      m.set('default', encodeKey(u8(16, 240, 0), 45n), u8(9));
      m.set('write', encodeKey(u8(16, 240, 0), 46n), new Write(45n, WriteKind.Put).toBytes());
      m.set('default', encodeKey(u8(16), 45n), u8(8));
      m.set('write', encodeKey(u8(16), 46n), new Write(45n, WriteKind.Put).toBytes());
    });
    expect(await txn.getValue(u8(16, 240))).toBeUndefined();
    expect(await txn.getValue(u8(16))).toEqual(u8(8));
    expect(await txn.getValue(u8(16, 240, 0))).toEqual(u8(9));
  });

  it('TestCurrentWrite4A', async () => {
    const txn = await testTxn(50n, twoEntries);
    expect(await txn.currentWrite(u8(16, 240))).toEqual({ write: new Write(50n, WriteKind.Put), commitTs: 52n });

    txn.startTs = 40n;
    expect(await txn.currentWrite(u8(16, 240))).toEqual({ write: new Write(40n, WriteKind.Put), commitTs: 42n });

    txn.startTs = 41n;
    expect(await txn.currentWrite(u8(16, 240))).toBeUndefined();
  });

  it('TestMostRecentWrite4A', async () => {
    // Empty DB.
    let txn = await testTxn(50n);
    expect(await txn.mostRecentWrite(u8(16, 240))).toBeUndefined();

    // The key exists.
    txn = await testTxn(50n, twoEntries);
    expect(await txn.mostRecentWrite(u8(16, 240))).toEqual({ write: new Write(50n, WriteKind.Put), commitTs: 52n });
    // No entry for other keys.
    expect(await txn.mostRecentWrite(u8(16))).toBeUndefined();

    // Deleted key.
    txn = await testTxn(50n, deleted);
    expect(await txn.mostRecentWrite(u8(16, 240))).toEqual({ write: new Write(50n, WriteKind.Delete), commitTs: 52n });

    // The result does not depend on the txn's timestamp.
    txn = await testTxn(5000n, twoEntries);
    expect(await txn.mostRecentWrite(u8(16, 240))).toEqual({ write: new Write(50n, WriteKind.Put), commitTs: 52n });
    txn = await testTxn(1n, twoEntries);
    expect(await txn.mostRecentWrite(u8(16, 240))).toEqual({ write: new Write(50n, WriteKind.Put), commitTs: 52n });
  });

  // TSO timestamps (physical ms << 18 | logical) are far above 2^53: neighbours must stay distinct end to end.
  it('TestTimestampsBeyond2Pow53_4A', async () => {
    const physical = 1_700_000_000_000n; // a 2023 wall clock in ms
    const t = (logical: bigint) => (physical << 18n) | logical;
    expect(t(0n)).toBeGreaterThan(2n ** 53n);
    // A double cannot tell these apart; our keys must.
    expect(Number(t(1n))).toBe(Number(t(2n)));
    for (const ts of [t(1n), t(2n), TS_MAX, TS_MAX - 1n]) {
      expect(decodeTimestamp(encodeKey(u8(7), ts))).toBe(ts);
      expect(decodeTimestamp(encodeKey(u8(7), ts))).not.toBe(ts - 1n);
    }
    expect(new Lock(u8(7), t(3n), 10, WriteKind.Put).toBytes()).toEqual(
      new Uint8Array([7, 1, ...bigEndian(t(3n)), 0, 0, 0, 0, 0, 0, 0, 10]),
    );
    const setup = (m: MemStorage) => {
      m.set('default', encodeKey(u8(7), t(1n)), u8(11));
      m.set('write', encodeKey(u8(7), t(2n)), new Write(t(1n), WriteKind.Put).toBytes());
      m.set('default', encodeKey(u8(7), t(3n)), u8(33));
      m.set('write', encodeKey(u8(7), t(4n)), new Write(t(3n), WriteKind.Put).toBytes());
    };
    expect(await (await testTxn(t(1n), setup)).getValue(u8(7))).toBeUndefined();
    expect(await (await testTxn(t(2n), setup)).getValue(u8(7))).toEqual(u8(11));
    expect(await (await testTxn(t(3n), setup)).getValue(u8(7))).toEqual(u8(11));
    expect(await (await testTxn(t(4n), setup)).getValue(u8(7))).toEqual(u8(33));
    const txn = await testTxn(t(3n), setup);
    expect(await txn.currentWrite(u8(7))).toEqual({ write: new Write(t(3n), WriteKind.Put), commitTs: t(4n) });
  });
});

function bigEndian(x: bigint): number[] {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, x, false);
  return [...out];
}
