/**
 * The simulation's disk (harness/sim/disk.ts) behaves as the engine expects of LevelDB: atomic ordered
 * batches, point reads, bounded iterators, snapshots and iterators that keep their view, one opener at a
 * time, data kept across a close and reopen (a crash); and a simulated cluster gives the same trace, event
 * for event, on it as on LevelDB.
 */
import { describe, expect, it } from 'vitest';
import { Engine, WriteBatch } from '@impl/kv/storage/engine.ts';
import { SimDisk } from '../../sim/disk.ts';
import { genericTest } from '../../cluster/generic-test.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

async function keysOf(engine: Engine | ReturnType<Engine['snapshot']>, cf: 'default' | 'lock' = 'default'): Promise<string[]> {
  const it = engine.iterCF(cf);
  const out: string[] = [];
  try {
    for (await it.seek(new Uint8Array(0)); it.valid(); await it.next()) out.push(`${dec(it.item().key)}=${dec(it.item().value)}`);
  } finally {
    await it.close();
  }
  return out;
}

describe('kit: the simulation disk', () => {
  it('stores batches atomically and in order, reads them back sorted, and keeps them across a reopen', async () => {
    const disk = new SimDisk();
    const engine = await Engine.open('/sim/store-1/kv', { store: disk.factory });
    await engine.write(new WriteBatch().putCF('default', enc('b'), enc('2')).putCF('default', enc('a'), enc('1')).putCF('lock', enc('a'), enc('L')));
    await engine.write(new WriteBatch().putCF('default', enc('c'), enc('3')).deleteCF('default', enc('b')).putCF('default', enc('a'), enc('1+')));
    expect(await keysOf(engine)).toEqual(['a=1+', 'c=3']);
    expect(await keysOf(engine, 'lock')).toEqual(['a=L']);
    expect(dec(engine.getCFSync('default', enc('c')))).toBe('3');
    expect(await engine.getCF('default', enc('b'))).toBeUndefined();
    // A second opener of the same store is refused, as LevelDB's lock refuses it.
    await expect(Engine.open('/sim/store-1/kv', { store: disk.factory })).rejects.toThrow(/already open/);
    await engine.close();
    const again = await Engine.open('/sim/store-1/kv', { store: disk.factory });
    expect(await keysOf(again)).toEqual(['a=1+', 'c=3']);
    await again.close();
    // Another path is another store.
    const other = await Engine.open('/sim/store-2/kv', { store: disk.factory });
    expect(await keysOf(other)).toEqual([]);
    await other.close();
  });

  it('gives snapshots and open iterators the view they started with; values read cannot change the store', async () => {
    const disk = new SimDisk();
    const engine = await Engine.open('/sim/kv', { store: disk.factory });
    await engine.write(new WriteBatch().putCF('default', enc('k1'), enc('v1')).putCF('default', enc('k2'), enc('v2')));
    const snap = engine.snapshot();
    const it = engine.iterCF('default', { end: enc('k9') });
    await it.seek(enc('k1'));
    await engine.write(new WriteBatch().deleteCF('default', enc('k1')).putCF('default', enc('k3'), enc('v3')));
    expect(await keysOf(snap)).toEqual(['k1=v1', 'k2=v2']);
    expect(dec(snap.getCFSync('default', enc('k1')))).toBe('v1');
    const seen: string[] = [];
    for (; it.valid(); await it.next()) seen.push(dec(it.item().key)!);
    expect(seen).toEqual(['k1', 'k2']);
    await it.close();
    await snap.close();
    expect(await keysOf(engine)).toEqual(['k2=v2', 'k3=v3']);
    const value = engine.getCFSync('default', enc('k2'))!;
    value[0] = 0x58; // scribble on what was read
    expect(dec(engine.getCFSync('default', enc('k2')))).toBe('v2');
    await engine.close();
  });

  it('a simulated cluster runs event for event the same on the simulation disk as on LevelDB (same trace hash)', async () => {
    const scenario = { part: '2C', nclients: 2, unreliable: true, crash: true, partitions: true, maxraftlog: 20, confchange: false, split: false, rounds: 1, roundMs: 2000 } as const;
    const memory = await withDisk('memory', () => genericTest({ ...scenario, sim: { seed: 77 } }));
    const level = await withDisk('level', () => genericTest({ ...scenario, sim: { seed: 77 } }));
    expect(memory.events).toBeGreaterThan(1000);
    expect(level.traceHash).toBe(memory.traceHash);
    expect(level.events).toBe(memory.events);
  }, 120_000);
});

/** Runs `body` with SIM_DISK set (the cluster's default disk), then restores it. */
async function withDisk<T>(disk: 'memory' | 'level', body: () => Promise<T>): Promise<T> {
  const before = process.env.SIM_DISK;
  process.env.SIM_DISK = disk;
  try {
    return await body();
  } finally {
    if (before === undefined) delete process.env.SIM_DISK;
    else process.env.SIM_DISK = before;
  }
}
