/**
 * Kit: the raftstore's given parts that everything else relies on: the key layout, bootstrap (and its
 * refusals), starting a store from what is on disk, and the region-bounded reader a Snap answers with.
 * Given code is tested here, not in the 2B suite, so that the 2B suite measures the student's blocks.
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { metapb } from '#proto';
import { BootstrapError, bootstrapStore, firstRegion, isBootstrapped, prepareBootstrapRegion } from '@impl/kv/raftstore/bootstrap.ts';
import { closeEngines, openEngines, type Engines } from '@impl/kv/raftstore/engines.ts';
import {
  applyStateKey,
  decodeRegionMetaKey,
  InvalidKeyError,
  raftLogIndex,
  raftLogKey,
  raftStateKey,
  regionStateKey,
  REGION_META_RANGE,
} from '@impl/kv/raftstore/keys.ts';
import { getApplyState, getRaftLocalState, getRegionLocalState } from '@impl/kv/raftstore/meta.ts';
import { RegionReader } from '@impl/kv/raftstore/region-reader.ts';
import { Raftstore, RaftstoreStartError } from '@impl/kv/raftstore/raftstore.ts';
import { NoopSchedulerClient } from '@impl/kv/raftstore/scheduler-client.ts';
import { testConfig } from '@impl/kv/raftstore/config.ts';
import { RegionError } from '@impl/kv/storage/errors.ts';
import { WriteBatch } from '@impl/kv/storage/engine.ts';
import { RealRuntime } from '@impl/runtime/real-runtime.ts';
import { compareBytes } from '@impl/util/bytes.ts';
import { bytes, text } from '../../cluster/keys.ts';
import { makeTempDir, removeDir } from '../2b/temp-dir.ts';

let dir = '';
const opened: Engines[] = [];
beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  for (const e of opened.splice(0)) await closeEngines(e);
  await removeDir(dir);
});

async function engines(name: string): Promise<Engines> {
  const e = await openEngines(path.join(dir, name));
  opened.push(e);
  return e;
}

describe('raftstore keys', () => {
  test('raft log keys sort by region, then by index, and decode back', () => {
    const keys = [raftLogKey(1, 5), raftLogKey(1, 256), raftLogKey(1, 2 ** 40), raftStateKey(1), applyStateKey(1), raftLogKey(2, 0)];
    const sorted = [...keys].sort(compareBytes);
    expect(sorted).toEqual(keys);
    expect(raftLogIndex(raftLogKey(7, 2 ** 40 + 3))).toBe(2 ** 40 + 3);
    expect(() => raftLogIndex(raftStateKey(7))).toThrow(InvalidKeyError);
    expect(() => raftLogKey(1, -1)).toThrow(InvalidKeyError);
    expect(() => raftLogKey(1.5, 1)).toThrow(InvalidKeyError);
  });

  test('region state keys lie in the region meta range and decode to their region id', () => {
    for (const id of [1, 2, 1000, 2 ** 33]) {
      const key = regionStateKey(id);
      expect(compareBytes(key, REGION_META_RANGE.start)).toBeGreaterThan(0);
      expect(compareBytes(key, REGION_META_RANGE.end)).toBeLessThan(0);
      expect(decodeRegionMetaKey(key).regionId).toBe(id);
    }
    expect(compareBytes(raftStateKey(1), REGION_META_RANGE.start)).toBeLessThan(0);
  });
});

describe('bootstrap', () => {
  test('writes the ident and the first region; refuses to do it twice or on a store with data', async () => {
    const e = await engines('s1');
    expect(await isBootstrapped(e)).toBe(false);
    await bootstrapStore(e, 7, 1);
    expect(await isBootstrapped(e)).toBe(true);
    await expect(bootstrapStore(e, 7, 1)).rejects.toThrow(BootstrapError);

    const region = firstRegion([1, 2, 3]);
    await prepareBootstrapRegion(e, region);
    expect((await getRegionLocalState(e.kv, 1))?.region?.peers.map((p) => p.storeId)).toEqual([1, 2, 3]);
    expect((await getApplyState(e.kv, 1))?.appliedIndex).toBe(5);
    expect((await getRaftLocalState(e.raft, 1))?.hardState).toMatchObject({ term: 5, commit: 5 });
    await expect(prepareBootstrapRegion(e, region)).rejects.toThrow(BootstrapError);

    const withData = await engines('s2');
    const wb = new WriteBatch();
    wb.putCF('default', bytes('k'), bytes('v'));
    await withData.kv.write(wb);
    await expect(bootstrapStore(withData, 7, 2)).rejects.toThrow(/not empty/);
  });

  test('refuses a first region without a peer on this store, or before the store is bootstrapped', async () => {
    const fresh = await engines('s3');
    await expect(prepareBootstrapRegion(fresh, firstRegion([1, 2]))).rejects.toThrow(BootstrapError);
    await bootstrapStore(fresh, 1, 3);
    await expect(prepareBootstrapRegion(fresh, firstRegion([1, 2]))).rejects.toThrow(/no peer on store 3/);
  });

  test('a store starts only on its own, bootstrapped engines', async () => {
    const runtime = new RealRuntime({ seed: 1 });
    const transport = { send: () => undefined, listen: () => undefined };
    const deps = (storeId: number, e: Engines) => ({
      storeId,
      runtime,
      transport,
      engines: e,
      scheduler: new NoopSchedulerClient(),
      config: testConfig(),
    });
    const e = await engines('s4');
    await expect(Raftstore.start(deps(4, e))).rejects.toThrow(RaftstoreStartError);
    await bootstrapStore(e, 1, 4);
    await expect(Raftstore.start(deps(5, e))).rejects.toThrow(/belong to store 4/);
    await prepareBootstrapRegion(e, firstRegion([4, 5, 6]));
    const store = await Raftstore.start(deps(4, e));
    expect(store.regionIds()).toEqual([1]);
    expect(store.regionOf(1)?.peers.map((p) => p.id)).toEqual([4, 5, 6]);
    await store.stop();
    await runtime.shutdown();
  });
});

describe('RegionReader', () => {
  test('sees only the region range and a copy of the region', async () => {
    const e = await engines('s5');
    const wb = new WriteBatch();
    for (const k of ['a', 'b', 'c', 'd']) wb.putCF('default', bytes(k), bytes(k.toUpperCase()));
    await e.kv.write(wb);
    const region = metapb.Region({ id: 2, startKey: bytes('b'), endKey: bytes('d'), regionEpoch: metapb.RegionEpoch({ version: 2, confVer: 1 }) });
    const reader = new RegionReader(e.kv.snapshot(), region);
    region.endKey = bytes('z'); // a later change of the live region must not widen the reader
    const it = reader.iterCF('default');
    const seen: string[] = [];
    for (await it.seek(new Uint8Array(0)); it.valid(); await it.next()) seen.push(text(it.item().key));
    await it.close();
    expect(seen).toEqual(['b', 'c']);
    expect(text((await reader.getCF('default', bytes('c')))!)).toBe('C');
    await expect(reader.getCF('default', bytes('d'))).rejects.toThrow(RegionError);
    await expect(reader.getCF('default', bytes('a'))).rejects.toThrow(RegionError);
    await reader.close();
  });
});
