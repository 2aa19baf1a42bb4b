// Project 1: bad requests get a clear answer in the response's `error` field and change nothing.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kvrpcpb } from '#proto';
import { COLUMN_FAMILIES, type ColumnFamily, type Modify } from '@impl/kv/storage/storage.ts';
import { b, bytes, enc, get, set, startFixture, type Fixture } from './helpers.ts';

let fx: Fixture;

/** Every family's content as [cf, key, value] number arrays, for before/after comparisons. */
async function dumpAll(): Promise<[string, number[], number[]][]> {
  const reader = await fx.storage.reader(undefined);
  const out: [string, number[], number[]][] = [];
  try {
    for (const cf of COLUMN_FAMILIES) {
      const it = reader.iterCF(cf);
      for (await it.seek(new Uint8Array(0)); it.valid(); await it.next()) {
        out.push([cf, [...it.item().key], [...it.item().value]]);
      }
      await it.close();
    }
  } finally {
    await reader.close();
  }
  return out;
}

let before: Awaited<ReturnType<typeof dumpAll>>;

beforeEach(async () => {
  fx = await startFixture();
  // Some data in every family that no refused request may touch.
  for (const cf of COLUMN_FAMILIES) {
    await set(fx.storage, cf, b(1), enc(`${cf}-1`));
    await set(fx.storage, cf, b(2), enc(`${cf}-2`));
  }
  before = await dumpAll();
});

afterEach(async () => {
  await fx.cleanup();
});

async function expectUnchanged(): Promise<void> {
  expect(await dumpAll()).toEqual(before);
}

describe('Project 1: bad input', () => {
  it('unknown column family: every raw call answers a clear error and writes nothing', async () => {
    const cf = 'bogus';
    const pattern = /unknown column family "bogus".*default, lock, write/;
    const g = await fx.server.rawGet(kvrpcpb.RawGetRequest({ key: b(1), cf }));
    expect(g.error).toMatch(pattern);
    expect(g.notFound).toBe(false);
    expect(bytes(g.value)).toEqual([]);
    const p = await fx.server.rawPut(kvrpcpb.RawPutRequest({ key: b(9), value: b(9), cf }));
    expect(p.error).toMatch(pattern);
    const d = await fx.server.rawDelete(kvrpcpb.RawDeleteRequest({ key: b(1), cf }));
    expect(d.error).toMatch(pattern);
    const s = await fx.server.rawScan(kvrpcpb.RawScanRequest({ startKey: b(1), limit: 10, cf }));
    expect(s.error).toMatch(pattern);
    expect(s.kvs).toEqual([]);
    await expectUnchanged();
  });

  it('column family names are exact (case matters)', async () => {
    const p = await fx.server.rawPut(kvrpcpb.RawPutRequest({ key: b(9), value: b(9), cf: 'Default' }));
    expect(p.error).toMatch(/unknown column family "Default"/);
    await expectUnchanged();
  });

  it('empty key: get, put and delete refuse it and change nothing', async () => {
    const g = await fx.server.rawGet(kvrpcpb.RawGetRequest({ key: b(), cf: 'default' }));
    expect(g.error).toMatch(/key must not be empty/);
    const p = await fx.server.rawPut(kvrpcpb.RawPutRequest({ key: b(), value: b(7), cf: 'default' }));
    expect(p.error).toMatch(/key must not be empty/);
    const d = await fx.server.rawDelete(kvrpcpb.RawDeleteRequest({ key: b(), cf: 'lock' }));
    expect(d.error).toMatch(/key must not be empty/);
    await expectUnchanged();
  });

  it('a key over the size limit is refused and not written', async () => {
    const huge = new Uint8Array(8 * 1024 + 1).fill(7);
    const p = await fx.server.rawPut(kvrpcpb.RawPutRequest({ key: huge, value: b(1), cf: 'default' }));
    expect(p.error).toMatch(/key is 8193 bytes long; the limit is 8192 bytes/);
    const s = await fx.server.rawScan(kvrpcpb.RawScanRequest({ startKey: huge, limit: 1, cf: 'default' }));
    expect(s.error).toMatch(/start key is 8193 bytes long/);
    await expectUnchanged();
    // A key exactly at the limit is fine.
    const ok = await fx.server.rawPut(kvrpcpb.RawPutRequest({ key: huge.subarray(1), value: b(1), cf: 'default' }));
    expect(ok.error).toBe('');
  });

  it('scan with limit 0 answers "limit must be positive" and returns nothing', async () => {
    const s = await fx.server.rawScan(kvrpcpb.RawScanRequest({ startKey: b(1), limit: 0, cf: 'default' }));
    expect(s.error).toMatch(/limit must be positive/);
    expect(s.kvs).toEqual([]);
    await expectUnchanged();
  });

  it('scan from past every key returns no pairs and no error', async () => {
    const s = await fx.server.rawScan(kvrpcpb.RawScanRequest({ startKey: b(0xff, 0xff), limit: 10, cf: 'write' }));
    expect(s.error).toBe('');
    expect(s.kvs).toEqual([]);
  });

  it('scan with an empty start key starts at the first key and stays in its family', async () => {
    await set(fx.storage, 'lock', b(0), enc('lock-0'));
    const s = await fx.server.rawScan(kvrpcpb.RawScanRequest({ startKey: b(), limit: 10, cf: 'default' }));
    expect(s.error).toBe('');
    expect(s.kvs.map((kv) => [bytes(kv.key), new TextDecoder().decode(kv.value)])).toEqual([
      [[1], 'default-1'],
      [[2], 'default-2'],
    ]);
  });

  it('an empty column family name means default', async () => {
    const p = await fx.server.rawPut(kvrpcpb.RawPutRequest({ key: b(5), value: b(55), cf: '' }));
    expect(p.error).toBe('');
    expect(bytes(await get(fx.storage, 'default', b(5)))).toEqual([55]);
    const g = await fx.server.rawGet(kvrpcpb.RawGetRequest({ key: b(5) }));
    expect(bytes(g.value)).toEqual([55]);
  });

  it('deleting an absent key succeeds and changes nothing', async () => {
    const d = await fx.server.rawDelete(kvrpcpb.RawDeleteRequest({ key: b(42), cf: 'write' }));
    expect(d.error).toBe('');
    await expectUnchanged();
  });

  it('an empty value is stored as an empty value, not as a delete', async () => {
    const p = await fx.server.rawPut(kvrpcpb.RawPutRequest({ key: b(1), value: b(), cf: 'default' }));
    expect(p.error).toBe('');
    const g = await fx.server.rawGet(kvrpcpb.RawGetRequest({ key: b(1), cf: 'default' }));
    expect(g.notFound).toBe(false);
    expect(bytes(g.value)).toEqual([]);
  });

  it('values of several MiB round-trip through the handlers', async () => {
    const big = new Uint8Array(5 * 1024 * 1024).map((_, i) => (i * 7) % 256);
    const p = await fx.server.rawPut(kvrpcpb.RawPutRequest({ key: b(3), value: big, cf: 'lock' }));
    expect(p.error).toBe('');
    const g = await fx.server.rawGet(kvrpcpb.RawGetRequest({ key: b(3), cf: 'lock' }));
    expect(g.value.length).toBe(big.length);
    expect(Buffer.compare(g.value, big)).toBe(0);
  });

  it('storage: a batch with one bad modify fails as a whole', async () => {
    const batch: Modify[] = [
      { type: 'put', cf: 'default', key: b(7), value: b(7) },
      { type: 'delete', cf: 'lock', key: b(1) },
      { type: 'put', cf: 'nope' as ColumnFamily, key: b(8), value: b(8) },
    ];
    await expect(fx.storage.write(undefined, batch)).rejects.toThrow(/unknown column family "nope"/);
    await expectUnchanged();
  });
});
