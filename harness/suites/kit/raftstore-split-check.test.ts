/**
 * Kit: the split checker (reference/kv/raftstore/split-check.ts, given code of 3B) over a real engine: the
 * size it measures (pairs as stored: family prefix + key + value), when it proposes a split, where, and that
 * an MVCC key is split before its user key so every version of one key stays in one region.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { metapb } from '#proto';
import { Engine, WriteBatch, storedPairSize } from '@impl/kv/storage/engine.ts';
import { checkRegionSplit, splitKeyOf, SplitCheckError } from '@impl/kv/raftstore/split-check.ts';
import { encodeBytes, encodeKey } from '@impl/kv/transaction/mvcc/codec.ts';

const enc = (s: string) => new TextEncoder().encode(s);

function region(start = '', end = ''): metapb.Region {
  return metapb.Region({ id: 1, startKey: enc(start), endKey: enc(end), regionEpoch: metapb.RegionEpoch({ version: 1, confVer: 1 }) });
}

let dir = '';
let engine: Engine;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tinykv-split-check-'));
  engine = await Engine.open(path.join(dir, 'kv'));
});

afterEach(async () => {
  await engine.close();
  await rm(dir, { recursive: true, force: true });
});

async function put(pairs: [Uint8Array, Uint8Array][], cf: 'default' | 'lock' | 'write' = 'default'): Promise<void> {
  const wb = new WriteBatch();
  for (const [k, v] of pairs) wb.putCF(cf, k, v);
  await engine.write(wb);
}

/** Keys k100..k199 with values v100..v199 (TinyKV's TestOneSplit3B load). */
function load(): [Uint8Array, Uint8Array][] {
  return Array.from({ length: 100 }, (_, i) => [enc(`k${100 + i}`), enc(`v${100 + i}`)] as [Uint8Array, Uint8Array]);
}

async function check(r: metapb.Region, maxSize: number, splitSize: number) {
  const view = engine.snapshot();
  try {
    return await checkRegionSplit(view, r, maxSize, splitSize);
  } finally {
    await view.close();
  }
}

describe('split check', () => {
  test('a pair counts as stored: family prefix + key + value', () => {
    expect(storedPairSize('default', enc('k100'), enc('v100'))).toBe('default/'.length + 8);
    expect(storedPairSize('lock', enc('k'), enc(''))).toBe('lock/'.length + 1);
  });

  test('a region not bigger than maxSize is measured whole and not split', async () => {
    await put(load());
    const result = await check(region(), 100 * 16, 500);
    expect(result.size).toBe(100 * 16);
    expect(result.splitKey).toBeUndefined();
  });

  test('a region bigger than maxSize splits at the first key where the running size passes splitSize', async () => {
    await put(load());
    const result = await check(region(), 800, 500);
    // 16 bytes per pair: after 31 pairs (k100..k130) the size is 496, the 32nd (k131) passes 500.
    expect(result.splitKey).toEqual(enc('k131'));
    expect(result.size).toBeGreaterThan(800);
  });

  test('only the region\'s own range and the default family are measured', async () => {
    await put(load());
    await put(load(), 'write');
    const inside = await check(region('k150', 'k160'), 10_000, 5_000);
    expect(inside.size).toBe(10 * 16);
    const result = await check(region('k150', 'k180'), 300, 200);
    // k150..k161 make 192 bytes; k162 passes 200.
    expect(result.splitKey).toEqual(enc('k162'));
  });

  test('the split key is never the region\'s start key', async () => {
    await put([[enc('a'), new Uint8Array(600)], [enc('b'), enc('1')], [enc('c'), new Uint8Array(600)]]);
    const result = await check(region('a', ''), 800, 500);
    expect(result.splitKey).toEqual(enc('b'));
  });

  test('an MVCC key splits before its user key, so every version of it stays together', () => {
    const user = enc('account-7');
    expect(splitKeyOf(encodeKey(user, 42n))).toEqual(encodeBytes(user));
    expect(splitKeyOf(encodeKey(user, 7n))).toEqual(splitKeyOf(encodeKey(user, 1000n)));
    expect(splitKeyOf(enc('k131'))).toEqual(enc('k131'));
  });

  test('sizes that make no sense are refused', async () => {
    await expect(check(region(), 0, 10)).rejects.toBeInstanceOf(SplitCheckError);
    await expect(check(region(), 100, Number.NaN)).rejects.toThrow(/splitSize must be a positive number/);
  });
});
