// The storage engine (given code): column families as separate ranges, atomic write batches (with group
// commit), consistent snapshots, bounded iterators with seek, synchronous reads, persistence. Also the
// in-memory Storage used by later stages' tests.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Engine, WriteBatch, type EngineIterator } from '@impl/kv/storage/engine.ts';
import {
  EngineClosedError,
  EngineOpenError,
  IteratorStateError,
  UnknownColumnFamilyError,
  WriteBatchUsedError,
} from '@impl/kv/storage/errors.ts';
import { MemStorage } from '@impl/kv/storage/mem-storage.ts';
import type { ColumnFamily, DBIterator } from '@impl/kv/storage/storage.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));
const bytes = (b: Uint8Array | undefined): number[] | undefined => (b === undefined ? undefined : [...b]);

/** Every [key, value] an iterator yields from `start`, as strings. */
async function collect(it: DBIterator, start: Uint8Array = new Uint8Array(0)): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for (await it.seek(start); it.valid(); await it.next()) {
    out.push([dec(it.item().key)!, dec(it.item().value)!]);
  }
  return out;
}

async function putAll(engine: Engine, cf: ColumnFamily, pairs: [string, string][]): Promise<void> {
  const wb = new WriteBatch();
  for (const [k, v] of pairs) wb.putCF(cf, enc(k), enc(v));
  await engine.write(wb);
}

let dir: string;
let engine: Engine;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tinykv-engine-'));
  engine = await Engine.open(path.join(dir, 'kv'));
});

afterEach(async () => {
  await engine.close();
  await rm(dir, { recursive: true, force: true });
});

describe('engine: column families', () => {
  it('keeps the same key apart in each family and in meta', async () => {
    const wb = new WriteBatch();
    wb.putCF('default', enc('k'), enc('d')).putCF('lock', enc('k'), enc('l')).putCF('write', enc('k'), enc('w'));
    wb.putMeta(enc('k'), enc('m'));
    await engine.write(wb);
    expect(dec(await engine.getCF('default', enc('k')))).toBe('d');
    expect(dec(await engine.getCF('lock', enc('k')))).toBe('l');
    expect(dec(await engine.getCF('write', enc('k')))).toBe('w');
    expect(dec(await engine.getMeta(enc('k')))).toBe('m');
  });

  it('iterates one family only, in byte order of the user keys', async () => {
    // Keys chosen to sort across family prefixes if the ranges leaked: 0x00, 0xff, and long keys.
    const keys = [Uint8Array.of(0xff, 0xff), Uint8Array.of(0), Uint8Array.of(0x2f), Uint8Array.of(0x30, 1), enc('z'.repeat(300))];
    for (const cf of ['default', 'lock', 'write'] as const) {
      const wb = new WriteBatch();
      for (const k of keys) wb.putCF(cf, k, enc(cf));
      await engine.write(wb);
    }
    const meta = new WriteBatch();
    meta.putMeta(Uint8Array.of(0), enc('meta')).putMeta(Uint8Array.of(0xff), enc('meta'));
    await engine.write(meta);

    const sorted = [...keys].sort(Buffer.compare).map((k) => [...k]);
    for (const cf of ['default', 'lock', 'write'] as const) {
      const it = engine.iterCF(cf);
      const seen: number[][] = [];
      for (await it.seek(new Uint8Array(0)); it.valid(); await it.next()) {
        expect(dec(it.item().value)).toBe(cf);
        seen.push([...it.item().key]);
      }
      await it.close();
      expect(seen).toEqual(sorted);
    }
    const it = engine.iterMeta();
    expect((await collect(it)).map(([, v]) => v)).toEqual(['meta', 'meta']);
    await it.close();
  });

  it('accepts the empty key as an ordinary key that sorts first', async () => {
    await putAll(engine, 'default', [['', 'empty'], ['a', '1']]);
    expect(dec(await engine.getCF('default', new Uint8Array(0)))).toBe('empty');
    const it = engine.iterCF('default');
    expect(await collect(it)).toEqual([['', 'empty'], ['a', '1']]);
    await it.close();
  });

  it('rejects an unknown family with a clear error', async () => {
    const wb = new WriteBatch();
    expect(() => wb.putCF('nope' as ColumnFamily, enc('k'), enc('v'))).toThrow(UnknownColumnFamilyError);
    expect(() => wb.putCF('nope' as ColumnFamily, enc('k'), enc('v'))).toThrow(/unknown column family "nope"/);
    await expect(engine.getCF('nope' as ColumnFamily, enc('k'))).rejects.toThrow(UnknownColumnFamilyError);
    expect(() => engine.iterCF('nope' as ColumnFamily)).toThrow(UnknownColumnFamilyError);
  });
});

describe('engine: write batches', () => {
  it('applies puts and deletes of one batch together, in order', async () => {
    await putAll(engine, 'default', [['a', '1'], ['b', '2']]);
    const wb = new WriteBatch();
    wb.deleteCF('default', enc('a')).putCF('default', enc('c'), enc('3')).putCF('default', enc('c'), enc('4'));
    wb.putCF('lock', enc('x'), enc('L')).deleteCF('lock', enc('x')).putMeta(enc('m'), enc('M'));
    expect(wb.count).toBe(6);
    await engine.write(wb);
    const it = engine.iterCF('default');
    expect(await collect(it)).toEqual([['b', '2'], ['c', '4']]);
    await it.close();
    expect(await engine.getCF('lock', enc('x'))).toBeUndefined();
    expect(dec(await engine.getMeta(enc('m')))).toBe('M');
  });

  it('refuses to be written twice or changed after the write', async () => {
    const wb = new WriteBatch().putCF('default', enc('a'), enc('1'));
    await engine.write(wb);
    expect(wb.written).toBe(true);
    await expect(engine.write(wb)).rejects.toThrow(WriteBatchUsedError);
    expect(() => wb.putCF('default', enc('b'), enc('2'))).toThrow(/already written/);
    expect(() => wb.deleteMeta(enc('m'))).toThrow(WriteBatchUsedError);
    const it = engine.iterCF('default');
    expect(await collect(it)).toEqual([['a', '1']]);
    await it.close();
  });

  it('keeps the bytes it was given even if the caller reuses its arrays', async () => {
    const key = enc('k1');
    const value = enc('v1');
    const wb = new WriteBatch().putCF('default', key, value);
    key[1] = '2'.charCodeAt(0);
    value[1] = '2'.charCodeAt(0);
    await engine.write(wb);
    expect(dec(await engine.getCF('default', enc('k1')))).toBe('v1');
    expect(await engine.getCF('default', enc('k2'))).toBeUndefined();
  });

  it('rolls back to a safe point', async () => {
    const wb = new WriteBatch().putCF('default', enc('keep'), enc('1'));
    wb.setSafePoint();
    wb.putCF('default', enc('drop'), enc('2')).putMeta(enc('drop'), enc('3'));
    wb.rollbackToSafePoint();
    expect(wb.count).toBe(1);
    await engine.write(wb);
    expect(dec(await engine.getCF('default', enc('keep')))).toBe('1');
    expect(await engine.getCF('default', enc('drop'))).toBeUndefined();
    expect(await engine.getMeta(enc('drop'))).toBeUndefined();
  });

  it('groups concurrent writes yet applies each batch whole and in call order', async () => {
    // 200 concurrent batches, each writing a pair (a_i, b_i) and overwriting the shared key "last".
    const writes: Promise<void>[] = [];
    const snapshots = [];
    for (let i = 0; i < 200; i++) {
      const wb = new WriteBatch();
      wb.putCF('default', enc(`a${i}`), enc(String(i))).putCF('write', enc(`b${i}`), enc(String(i)));
      wb.putCF('lock', enc('last'), enc(String(i)));
      writes.push(engine.write(wb));
      if (i % 20 === 0) snapshots.push(engine.snapshot());
    }
    await Promise.all(writes);
    // All 200 were queued before the first LevelDB write finished: group commit carried them in a few writes.
    expect(engine.stats.batches).toBe(200);
    expect(engine.stats.storeWrites).toBeLessThan(10);
    expect(dec(await engine.getCF('lock', enc('last')))).toBe('199');
    for (let i = 0; i < 200; i++) {
      expect(dec(engine.getCFSync('default', enc(`a${i}`)))).toBe(String(i));
      expect(dec(engine.getCFSync('write', enc(`b${i}`)))).toBe(String(i));
    }
    // Whatever point each snapshot caught, it holds both halves of a batch or neither.
    for (const snap of snapshots) {
      const last = dec(await snap.getCF('lock', enc('last')));
      for (let i = 0; i < 200; i++) {
        const a = await snap.getCF('default', enc(`a${i}`));
        const b = await snap.getCF('write', enc(`b${i}`));
        expect(a === undefined).toBe(b === undefined);
        if (last !== undefined && i <= Number(last)) expect(a).toBeDefined();
      }
      await snap.close();
    }
  });

  it('resolves an empty batch without touching the engine', async () => {
    await engine.write(new WriteBatch());
    const it = engine.iterCF('default');
    expect(await collect(it)).toEqual([]);
    await it.close();
  });
});

describe('engine: snapshots', () => {
  it('reads one point in time while writes continue', async () => {
    await putAll(engine, 'default', [['a', '1'], ['b', '1'], ['c', '1']]);
    const snap = engine.snapshot();
    const earlyIter = snap.iterCF('default');
    // Writes keep landing while the snapshot is read.
    const writer = (async () => {
      for (let round = 2; round <= 30; round++) {
        const wb = new WriteBatch();
        wb.putCF('default', enc('a'), enc(String(round))).deleteCF('default', enc('b'));
        wb.putCF('default', enc(`new${round}`), enc('x'));
        await engine.write(wb);
      }
    })();
    for (let i = 0; i < 10; i++) {
      expect(dec(await snap.getCF('default', enc('a')))).toBe('1');
      expect(dec(snap.getCFSync('default', enc('b')))).toBe('1');
      const lateIter = snap.iterCF('default');
      expect(await collect(lateIter)).toEqual([['a', '1'], ['b', '1'], ['c', '1']]);
      await lateIter.close();
    }
    await writer;
    expect(await collect(earlyIter)).toEqual([['a', '1'], ['b', '1'], ['c', '1']]);
    await snap.close();

    // A snapshot taken now sees the writes.
    const now = engine.snapshot();
    expect(dec(await now.getCF('default', enc('a')))).toBe('30');
    expect(await now.getCF('default', enc('b'))).toBeUndefined();
    await now.close();
  });

  it('closing a snapshot closes its iterators and refuses further reads', async () => {
    await putAll(engine, 'default', [['a', '1']]);
    const snap = engine.snapshot();
    const it = snap.iterCF('default');
    await it.seek(enc('a'));
    expect(it.valid()).toBe(true);
    await snap.close();
    expect(it.valid()).toBe(false);
    await expect(it.next()).rejects.toThrow(IteratorStateError);
    await expect(snap.getCF('default', enc('a'))).rejects.toThrow(EngineClosedError);
    expect(() => snap.iterCF('default')).toThrow(EngineClosedError);
    await snap.close(); // twice is fine
  });
});

describe('engine: iterators', () => {
  const open: EngineIterator[] = [];
  const track = (iterator: EngineIterator): EngineIterator => (open.push(iterator), iterator);
  afterEach(async () => {
    for (const iterator of open.splice(0)) await iterator.close();
  });

  it('seeks to the first key at or after the target and stops at the family end', async () => {
    await putAll(engine, 'default', [['b', '1'], ['d', '2'], ['f', '3']]);
    await putAll(engine, 'lock', [['a', 'x'], ['z', 'x']]);
    const iter = track(engine.iterCF('default'));
    expect(iter.valid()).toBe(false); // not positioned before the first seek
    await iter.seek(enc('c'));
    expect(dec(iter.item().key)).toBe('d');
    await iter.seek(enc('d'));
    expect(dec(iter.item().key)).toBe('d');
    await iter.seek(enc('a'));
    expect(dec(iter.item().key)).toBe('b');
    await iter.next();
    await iter.next();
    expect(dec(iter.item().key)).toBe('f');
    await iter.next();
    expect(iter.valid()).toBe(false);
    await iter.seek(enc('g'));
    expect(iter.valid()).toBe(false);
    expect(() => iter.item()).toThrow(IteratorStateError);
    await expect(iter.next()).rejects.toThrow(/not valid/);
    await iter.seek(enc('b')); // seek again after the end
    expect(dec(iter.item().key)).toBe('b');
  });

  it('honours an exclusive end bound', async () => {
    await putAll(engine, 'write', [['a', '1'], ['b', '2'], ['c', '3']]);
    const iter = track(engine.iterCF('write', { end: enc('c') }));
    expect(await collect(iter)).toEqual([['a', '1'], ['b', '2']]);
    await iter.seek(enc('c'));
    expect(iter.valid()).toBe(false);
  });

  it('refuses use after close', async () => {
    const iter = track(engine.iterCF('default'));
    await iter.close();
    await expect(iter.seek(enc('a'))).rejects.toThrow(/closed iterator/);
  });
});

describe('engine: synchronous reads', () => {
  it('getCFSync and getMetaSync see every write that has resolved', async () => {
    expect(engine.getCFSync('default', enc('k'))).toBeUndefined();
    await putAll(engine, 'default', [['k', 'v1']]);
    expect(dec(engine.getCFSync('default', enc('k')))).toBe('v1');
    expect(engine.getCFSync('lock', enc('k'))).toBeUndefined();
    await engine.write(new WriteBatch().putMeta(Uint8Array.of(1, 2), Uint8Array.of(9)));
    expect(bytes(engine.getMetaSync(Uint8Array.of(1, 2)))).toEqual([9]);
    const snap = engine.snapshot();
    await engine.write(new WriteBatch().deleteMeta(Uint8Array.of(1, 2)).putCF('default', enc('k'), enc('v2')));
    expect(engine.getMetaSync(Uint8Array.of(1, 2))).toBeUndefined();
    expect(bytes(snap.getMetaSync(Uint8Array.of(1, 2)))).toEqual([9]);
    expect(dec(snap.getCFSync('default', enc('k')))).toBe('v1');
    expect(dec(engine.getCFSync('default', enc('k')))).toBe('v2');
    await snap.close();
  });
});

describe('engine: lifecycle', () => {
  it('keeps data across close and reopen', async () => {
    const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
    await engine.write(new WriteBatch().putCF('write', enc('big'), big).putMeta(enc('state'), enc('s')));
    await engine.close();
    engine = await Engine.open(path.join(dir, 'kv'));
    const got = await engine.getCF('write', enc('big'));
    expect(got?.length).toBe(big.length);
    expect(Buffer.compare(got!, big)).toBe(0);
    expect(dec(engine.getMetaSync(enc('state')))).toBe('s');
  });

  it('refuses work after close with a clear error', async () => {
    await engine.close();
    await expect(engine.write(new WriteBatch().putCF('default', enc('a'), enc('1')))).rejects.toThrow(EngineClosedError);
    expect(() => engine.getCFSync('default', enc('a'))).toThrow(/engine is closed/);
    expect(() => engine.snapshot()).toThrow(EngineClosedError);
    engine = await Engine.open(path.join(dir, 'kv'));
    expect(await engine.getCF('default', enc('a'))).toBeUndefined(); // the refused write left nothing
  });

  it('finishes queued writes before closing', async () => {
    const writes = [];
    for (let i = 0; i < 50; i++) writes.push(engine.write(new WriteBatch().putCF('default', enc(`k${i}`), enc('v'))));
    await engine.close();
    await Promise.all(writes);
    engine = await Engine.open(path.join(dir, 'kv'));
    const it = engine.iterCF('default');
    expect((await collect(it)).length).toBe(50);
    await it.close();
  });

  it('reports an unusable directory clearly', async () => {
    const file = path.join(dir, 'not-a-dir');
    await writeFile(file, 'x');
    await expect(Engine.open(file)).rejects.toThrow(EngineOpenError);
    await expect(Engine.open(file)).rejects.toThrow(/cannot open the storage engine at .*not-a-dir/);
    // A directory already open in this process is locked.
    await expect(Engine.open(path.join(dir, 'kv'))).rejects.toThrow(EngineOpenError);
  });

  it('destroy removes the engine directory', async () => {
    await putAll(engine, 'default', [['a', '1']]);
    await engine.close();
    await Engine.destroy(path.join(dir, 'kv'));
    engine = await Engine.open(path.join(dir, 'kv'));
    expect(await engine.getCF('default', enc('a'))).toBeUndefined();
  });
});

describe('memory storage', () => {
  it('gives each reader a snapshot of the moment it was opened', async () => {
    const mem = new MemStorage();
    await mem.write(undefined, [
      { type: 'put', cf: 'default', key: enc('a'), value: enc('1') },
      { type: 'put', cf: 'default', key: enc('c'), value: enc('3') },
      { type: 'put', cf: 'lock', key: enc('b'), value: enc('L') },
    ]);
    const before = await mem.reader(undefined);
    const it = before.iterCF('default');
    await it.seek(enc('b'));
    await mem.write(undefined, [
      { type: 'delete', cf: 'default', key: enc('c') },
      { type: 'put', cf: 'default', key: enc('b'), value: enc('2') },
    ]);
    expect(dec(it.item().key)).toBe('c');
    expect(await collect(before.iterCF('default'))).toEqual([['a', '1'], ['c', '3']]);
    expect(dec(await before.getCF('default', enc('c')))).toBe('3');
    expect(await collect(before.iterCF('lock'))).toEqual([['b', 'L']]);
    await before.close();
    const after = await mem.reader(undefined);
    expect(await collect(after.iterCF('default'))).toEqual([['a', '1'], ['b', '2']]);
    await after.close();
  });

  it('rejects a batch with a bad family without applying any of it', async () => {
    const mem = new MemStorage();
    await expect(
      mem.write(undefined, [
        { type: 'put', cf: 'default', key: enc('a'), value: enc('1') },
        { type: 'put', cf: 'bogus' as ColumnFamily, key: enc('b'), value: enc('2') },
      ]),
    ).rejects.toThrow(UnknownColumnFamilyError);
    expect(mem.len('default')).toBe(0);
  });

  it('offers set/get/hasChanged/len for test setup', async () => {
    const mem = new MemStorage();
    mem.set('write', enc('k'), enc('v'));
    mem.set('write', enc('j'), enc('v'));
    expect(mem.hasChanged('write', enc('k'))).toBe(false);
    expect(mem.hasChanged('write', enc('absent'))).toBe(true);
    await mem.write(undefined, [{ type: 'put', cf: 'write', key: enc('k'), value: enc('v') }]);
    expect(mem.hasChanged('write', enc('k'))).toBe(true);
    expect(mem.hasChanged('write', enc('j'))).toBe(false);
    expect(dec(mem.get('write', enc('k')))).toBe('v');
    expect(mem.len('write')).toBe(2);
    expect(mem.len('default')).toBe(0);
  });
});
