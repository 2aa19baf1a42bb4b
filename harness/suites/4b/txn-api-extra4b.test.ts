/**
 * Project 4B, our own scenarios: latching of concurrent commands, region errors passed through, and TSO
 * timestamps above 2^53 carried exactly through prewrite, commit and get.
 */
import { describe, expect, it } from 'vitest';
import { errorpb, kvrpcpb } from '#proto';
import { MemStorage } from '@impl/kv/storage/mem-storage.ts';
import { RegionError } from '@impl/kv/storage/errors.ts';
import type { Modify, Storage, StorageContext, StorageReader } from '@impl/kv/storage/storage.ts';
import { TxnApi } from '@impl/kv/server/txn-api.ts';
import { encodeKey } from '@impl/kv/transaction/mvcc/codec.ts';
import { bytes, getRequest, TxnTestBuilder } from '../../txn/test-builder.ts';

const Put = kvrpcpb.Op.Put;

/** A storage whose reads or writes fail with a region error (as raft storage does on a follower). */
class RegionErrorStorage implements Storage {
  failReads = false;
  failWrites = false;
  constructor(readonly inner: Storage) {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async write(ctx: StorageContext | undefined, batch: Modify[]): Promise<void> {
    if (this.failWrites) throw notLeader(ctx);
    return this.inner.write(ctx, batch);
  }
  async reader(ctx: StorageContext | undefined): Promise<StorageReader> {
    if (this.failReads) throw notLeader(ctx);
    return this.inner.reader(ctx);
  }
}

function notLeader(ctx: StorageContext | undefined): RegionError {
  return new RegionError(
    errorpb.Error({ message: 'not leader', notLeader: errorpb.NotLeader({ regionId: ctx?.regionId ?? 0 }) }),
  );
}

describe('4B extra', () => {
  // Without latches both prewrites read "unlocked" before either writes, and both report success.
  it('TestConcurrentPrewriteSameKey4B', async () => {
    for (let round = 0; round < 5; round++) {
      const builder = new TxnTestBuilder();
      const requests = [1, 2, 3, 4].map((i) =>
        kvrpcpb.PrewriteRequest({
          primaryLock: bytes([7]),
          startVersion: BigInt(100 + i),
          mutations: [kvrpcpb.Mutation({ op: Put, key: bytes([7]), value: bytes([i]) })],
        }),
      );
      const resps = await Promise.all(requests.map((r) => builder.api.kvPrewrite(r)));
      const winners = resps.filter((r) => r.errors.length === 0);
      expect(winners).toHaveLength(1);
      const winner = 101 + resps.indexOf(winners[0]);
      // The one lock and the one value belong to the same (winning) txn.
      builder.assertLens(1, 1, 0);
      expect(builder.mem.get('default', encodeKey(bytes([7]), BigInt(winner)))).toEqual(bytes([winner - 100]));
    }
  });

  it('TestRegionErrorPassedThrough4B', async () => {
    const storage = new RegionErrorStorage(new MemStorage());
    const api = new TxnApi(storage);
    const context = kvrpcpb.Context({ regionId: 7 });

    storage.failReads = true;
    const get = await api.kvGet(kvrpcpb.GetRequest({ context, key: bytes([1]), version: 10n }));
    expect(get.regionError?.notLeader?.regionId).toBe(7);
    expect(get.error).toBeUndefined();

    storage.failReads = false;
    storage.failWrites = true;
    const prewrite = await api.kvPrewrite(
      kvrpcpb.PrewriteRequest({
        context,
        primaryLock: bytes([1]),
        startVersion: 10n,
        mutations: [kvrpcpb.Mutation({ op: Put, key: bytes([1]), value: bytes([2]) })],
      }),
    );
    expect(prewrite.regionError?.notLeader).toBeDefined();
    expect(prewrite.errors).toEqual([]);

    storage.failWrites = false;
    const commit = await api.kvCommit(
      kvrpcpb.CommitRequest({ context, startVersion: 10n, commitVersion: 11n, keys: [bytes([1])] }),
    );
    // The failed prewrite left nothing, so the commit finds nothing to commit.
    expect(commit.regionError).toBeUndefined();
    expect((await api.kvGet(kvrpcpb.GetRequest({ context, key: bytes([1]), version: 20n }))).notFound).toBe(true);
  });

  // TSO-style timestamps: physical ms << 18 | logical. Neighbouring logical values must never be confused.
  it('TestTsoTimestamps4B', async () => {
    const physical = 1_700_000_000_123n;
    const t = (logical: bigint) => (physical << 18n) | logical;
    expect(t(0n) > 2n ** 53n).toBe(true);
    const builder = new TxnTestBuilder();
    const api = builder.api;
    const key = bytes([9]);
    const prewrite = (startVersion: bigint, v: number) =>
      api.kvPrewrite(
        kvrpcpb.PrewriteRequest({
          primaryLock: key,
          startVersion,
          lockTtl: 3000,
          mutations: [kvrpcpb.Mutation({ op: Put, key, value: bytes([v]) })],
        }),
      );

    expect((await prewrite(t(1n), 1)).errors).toEqual([]);
    const locked = await api.kvGet(getRequest(key, t(2n)));
    expect(locked.error?.locked?.lockVersion).toBe(t(1n));
    expect((await api.kvCommit(kvrpcpb.CommitRequest({ startVersion: t(1n), commitVersion: t(2n), keys: [key] }))).error).toBeUndefined();

    // Committed at t(2): invisible at t(1), visible at t(2).
    expect((await api.kvGet(getRequest(key, t(1n)))).notFound).toBe(true);
    expect((await api.kvGet(getRequest(key, t(2n)))).value).toEqual(bytes([1]));

    // A txn that started at t(2) conflicts with the commit at t(2); one that started at t(3) does not.
    const conflict = await prewrite(t(2n), 2);
    expect(conflict.errors[0]?.conflict?.conflictTs).toBe(t(2n));
    expect((await prewrite(t(3n), 3)).errors).toEqual([]);
    expect((await api.kvCommit(kvrpcpb.CommitRequest({ startVersion: t(3n), commitVersion: t(4n), keys: [key] }))).error).toBeUndefined();
    expect((await api.kvGet(getRequest(key, t(3n)))).value).toEqual(bytes([1]));
    expect((await api.kvGet(getRequest(key, t(4n)))).value).toEqual(bytes([3]));
  });
});
