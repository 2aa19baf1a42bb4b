// Project 1: the raw API handlers over standalone storage on a real engine (TinyKV's kv/server tests).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kvrpcpb } from '#proto';
import { b, bytes, get, iter, set, startFixture, type Fixture } from './helpers.ts';

let fx: Fixture;

beforeEach(async () => {
  fx = await startFixture();
});

afterEach(async () => {
  await fx.cleanup();
});

/** The five pairs ({i} -> {233, i}) most scan scenarios start from. */
async function setScanData(count: number): Promise<void> {
  for (let i = 1; i <= count; i++) await set(fx.storage, 'default', b(i), b(233, i));
}

function expectPairs(kvs: kvrpcpb.KvPair[], keys: number[]): void {
  expect(kvs.map((kv) => bytes(kv.key))).toEqual(keys.map((k) => [k]));
  expect(kvs.map((kv) => bytes(kv.value))).toEqual(keys.map((k) => [233, k]));
  for (const kv of kvs) expect(kv.error).toBeUndefined();
}

describe('Project 1: raw API', () => {
  it('TestRawGet1', async () => {
    await set(fx.storage, 'default', b(99), b(42));
    const resp = await fx.server.rawGet(kvrpcpb.RawGetRequest({ key: b(99), cf: 'default' }));
    expect(resp.error).toBe('');
    expect(resp.notFound).toBe(false);
    expect(bytes(resp.value)).toEqual([42]);
  });

  it('TestRawGetNotFound1', async () => {
    const resp = await fx.server.rawGet(kvrpcpb.RawGetRequest({ key: b(99), cf: 'default' }));
    expect(resp.error).toBe('');
    expect(resp.notFound).toBe(true);
    expect(bytes(resp.value)).toEqual([]);
  });

  it('TestRawPut1', async () => {
    const resp = await fx.server.rawPut(kvrpcpb.RawPutRequest({ key: b(99), value: b(42), cf: 'default' }));
    expect(resp.error).toBe('');
    expect(bytes(await get(fx.storage, 'default', b(99)))).toEqual([42]);
  });

  it('TestRawGetAfterRawPut1', async () => {
    const put1 = await fx.server.rawPut(kvrpcpb.RawPutRequest({ key: b(99), value: b(42), cf: 'default' }));
    expect(put1.error).toBe('');
    const put2 = await fx.server.rawPut(kvrpcpb.RawPutRequest({ key: b(99), value: b(44), cf: 'write' }));
    expect(put2.error).toBe('');

    const get1 = await fx.server.rawGet(kvrpcpb.RawGetRequest({ key: b(99), cf: 'default' }));
    expect(get1.error).toBe('');
    expect(bytes(get1.value)).toEqual([42]);
    const get2 = await fx.server.rawGet(kvrpcpb.RawGetRequest({ key: b(99), cf: 'write' }));
    expect(get2.error).toBe('');
    expect(bytes(get2.value)).toEqual([44]);
    // The third family was never written.
    const get3 = await fx.server.rawGet(kvrpcpb.RawGetRequest({ key: b(99), cf: 'lock' }));
    expect(get3.notFound).toBe(true);
  });

  it('TestRawGetAfterRawDelete1', async () => {
    await set(fx.storage, 'default', b(99), b(42));
    const del = await fx.server.rawDelete(kvrpcpb.RawDeleteRequest({ key: b(99), cf: 'default' }));
    expect(del.error).toBe('');
    const resp = await fx.server.rawGet(kvrpcpb.RawGetRequest({ key: b(99), cf: 'default' }));
    expect(resp.error).toBe('');
    expect(resp.notFound).toBe(true);
  });

  it('TestRawDelete1', async () => {
    await set(fx.storage, 'default', b(99), b(42));
    await set(fx.storage, 'lock', b(99), b(43));
    const resp = await fx.server.rawDelete(kvrpcpb.RawDeleteRequest({ key: b(99), cf: 'default' }));
    expect(resp.error).toBe('');
    expect(await get(fx.storage, 'default', b(99))).toBeUndefined();
    // Only the named family loses the key.
    expect(bytes(await get(fx.storage, 'lock', b(99)))).toEqual([43]);
  });

  it('TestRawScan1', async () => {
    await setScanData(5);
    const resp = await fx.server.rawScan(kvrpcpb.RawScanRequest({ startKey: b(1), limit: 3, cf: 'default' }));
    expect(resp.error).toBe('');
    expectPairs(resp.kvs, [1, 2, 3]);
  });

  it('TestRawScanAfterRawPut1', async () => {
    await setScanData(4);
    const put = await fx.server.rawPut(kvrpcpb.RawPutRequest({ key: b(5), value: b(233, 5), cf: 'default' }));
    expect(put.error).toBe('');
    const resp = await fx.server.rawScan(kvrpcpb.RawScanRequest({ startKey: b(1), limit: 10, cf: 'default' }));
    expect(resp.error).toBe('');
    expectPairs(resp.kvs, [1, 2, 3, 4, 5]);
  });

  it('TestRawScanAfterRawDelete1', async () => {
    await setScanData(4);
    const del = await fx.server.rawDelete(kvrpcpb.RawDeleteRequest({ key: b(3), cf: 'default' }));
    expect(del.error).toBe('');
    const resp = await fx.server.rawScan(kvrpcpb.RawScanRequest({ startKey: b(1), limit: 10, cf: 'default' }));
    expect(resp.error).toBe('');
    expectPairs(resp.kvs, [1, 2, 4]);
  });

  it('TestIterWithRawDelete1', async () => {
    await setScanData(4);
    // The iterator's reader is opened before the delete: it must keep seeing the key.
    const { it: cursor, reader } = await iter(fx.storage, 'default');
    try {
      const del = await fx.server.rawDelete(kvrpcpb.RawDeleteRequest({ key: b(3), cf: 'default' }));
      expect(del.error).toBe('');
      const seen: number[][] = [];
      for (await cursor.seek(b(1)); cursor.valid(); await cursor.next()) seen.push(bytes(cursor.item().key)!);
      expect(seen).toEqual([[1], [2], [3], [4]]);
    } finally {
      await cursor.close();
      await reader.close();
    }
    // A reader opened after the delete does not see it.
    expect(await get(fx.storage, 'default', b(3))).toBeUndefined();
  });
});
