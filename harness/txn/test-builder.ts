/**
 * A builder for transactional command tests (4B, 4C), modelled on TinyKV's testBuilder: put raw data into a
 * MemStorage, run requests through TxnApi, then assert what each column family holds.
 *
 * Data is written the way TinyKV's tests write it: locks and write records as literal bytes, so the tests
 * also pin down the stored formats. Timestamps come from a counter starting at 99, like TinyKV's.
 */
import { expect } from 'vitest';
import { kvrpcpb } from '#proto';
import { MemStorage } from '@impl/kv/storage/mem-storage.ts';
import type {
  ColumnFamily,
  DBIterator,
  Modify,
  Storage,
  StorageContext,
  StorageReader,
} from '@impl/kv/storage/storage.ts';
import { TxnApi } from '@impl/kv/server/txn-api.ts';
import { Latches } from '@impl/kv/transaction/latches.ts';
import { decodeUserKey, encodeKey } from '@impl/kv/transaction/mvcc/codec.ts';

export type Bytes = Uint8Array | number[];

/** One key/value of the store as a test names it: a user key, and a timestamp for default/write. */
export interface KvSpec {
  cf: ColumnFamily;
  key: Bytes;
  /** Omitted: the builder's latest timestamp. */
  ts?: bigint;
  /** In assert(): omitted means "unchanged since init()". */
  value?: Bytes | null;
}

export function bytes(b: Bytes): Uint8Array {
  return b instanceof Uint8Array ? b : Uint8Array.from(b);
}

/** The big-endian 64-bit number of 8 bytes (TinyKV's binary.BigEndian.Uint64). */
export function beU64(b: number[]): bigint {
  return new DataView(Uint8Array.from(b).buffer).getBigUint64(0, false);
}

/** Raised by the latch validation: a command wrote a key it had not latched. */
class UnlatchedWriteError extends Error {}

function latchValidation(writes: readonly Modify[], latched: readonly Uint8Array[]): void {
  const names = new Set(latched.map((k) => Buffer.from(k).toString('hex')));
  for (const w of writes) {
    const userKey = w.cf === 'lock' ? w.key : decodeUserKey(w.key);
    if (!names.has(Buffer.from(userKey).toString('hex'))) {
      throw new UnlatchedWriteError(
        `latch validation: ${w.type} of ${w.cf} key ${Buffer.from(userKey).toString('hex')} which the command did not latch`,
      );
    }
  }
}

/** Raised when one test makes more storage reads than any correct implementation needs (a loop that never ends). */
class ReadBudgetExceededError extends Error {}

/**
 * A storage that counts reads (gets, seeks, nexts) and fails once a budget is spent. A scanner that never
 * advances would otherwise spin on promises that resolve at once and starve the test's own timeout.
 */
class BudgetedStorage implements Storage {
  private reads = 0;
  constructor(
    readonly inner: Storage,
    readonly budget = 200_000,
  ) {}
  async start(): Promise<void> {
    await this.inner.start();
  }
  async stop(): Promise<void> {
    await this.inner.stop();
  }
  write(ctx: StorageContext | undefined, batch: Modify[]): Promise<void> {
    return this.inner.write(ctx, batch);
  }
  async reader(ctx: StorageContext | undefined): Promise<StorageReader> {
    const inner = await this.inner.reader(ctx);
    const spend = (what: string) => this.spend(what);
    return {
      getCF: (cf, key) => (spend('getCF'), inner.getCF(cf, key)),
      iterCF: (cf): DBIterator => {
        const it = inner.iterCF(cf);
        return {
          seek: (key) => (spend('seek'), it.seek(key)),
          valid: () => it.valid(),
          item: () => it.item(),
          next: () => (spend('next'), it.next()),
          close: () => it.close(),
        };
      },
      close: () => inner.close(),
    };
  }
  private spend(what: string): void {
    this.reads += 1;
    if (this.reads > this.budget) {
      throw new ReadBudgetExceededError(
        `more than ${this.budget} storage reads in one test (last: ${what}): does a loop (a scanner?) fail to advance?`,
      );
    }
  }
}

export class TxnTestBuilder {
  readonly mem = new MemStorage();
  readonly latches = new Latches();
  readonly api: TxnApi;
  /** The latest timestamp handed out (TinyKV's prevTs). */
  prevTs = 99n;

  constructor() {
    this.latches.validation = latchValidation;
    this.api = new TxnApi(new BudgetedStorage(this.mem), this.latches);
  }

  /** Store raw data (marked fresh, see assert()). */
  init(kvs: KvSpec[]): void {
    for (const kv of kvs) {
      const value = kv.value ?? [];
      this.mem.set(kv.cf, this.storedKey(kv), bytes(value));
    }
  }

  nextTs(): bigint {
    this.prevTs += 1n;
    return this.prevTs;
  }

  /** The latest timestamp as one byte, for literal lock and write values. */
  ts(): number {
    return Number(this.prevTs & 0xffn);
  }

  /** Each spec with a value must hold exactly that value; each without one must be unchanged since init(). */
  assert(kvs: KvSpec[]): void {
    for (const kv of kvs) {
      const key = this.storedKey(kv);
      const where = `${kv.cf} key [${[...bytes(kv.key)]}]${kv.cf === 'lock' ? '' : ` @${kv.ts ?? this.prevTs}`}`;
      if (kv.value === undefined) {
        expect(this.mem.hasChanged(kv.cf, key), `${where} should be unchanged`).toBe(false);
      } else if (kv.value === null) {
        expect(this.mem.get(kv.cf, key), `${where} should be absent`).toBeUndefined();
      } else {
        expect(this.mem.get(kv.cf, key), `${where}`).toEqual(bytes(kv.value));
      }
    }
  }

  assertLen(cf: ColumnFamily, size: number): void {
    expect(this.mem.len(cf), `number of keys in ${cf}`).toBe(size);
  }

  assertLens(def: number, lock: number, write: number): void {
    expect({ default: this.mem.len('default'), lock: this.mem.len('lock'), write: this.mem.len('write') }).toEqual({
      default: def,
      lock,
      write,
    });
  }

  prewriteRequest(...mutations: kvrpcpb.Mutation[]): kvrpcpb.PrewriteRequest {
    return kvrpcpb.PrewriteRequest({ primaryLock: bytes([1]), startVersion: this.nextTs(), mutations });
  }

  commitRequest(...keys: Bytes[]): kvrpcpb.CommitRequest {
    const startVersion = this.nextTs();
    return kvrpcpb.CommitRequest({ startVersion, commitVersion: startVersion + 10n, keys: keys.map(bytes) });
  }

  rollbackRequest(...keys: Bytes[]): kvrpcpb.BatchRollbackRequest {
    return kvrpcpb.BatchRollbackRequest({ startVersion: this.nextTs(), keys: keys.map(bytes) });
  }

  /** lock_ts and current_ts whose physical parts differ by 2^22 ms (TinyKV's values). */
  checkTxnStatusRequest(key: Bytes): kvrpcpb.CheckTxnStatusRequest {
    this.nextTs();
    return kvrpcpb.CheckTxnStatusRequest({
      primaryKey: bytes(key),
      lockTs: beU64([0, 0, 5, 0, 0, 0, 0, this.ts()]),
      currentTs: beU64([0, 0, 6, 0, 0, 0, 0, this.ts()]),
    });
  }

  scanRequest(startKey: Bytes, limit: number): kvrpcpb.ScanRequest {
    return kvrpcpb.ScanRequest({ startKey: bytes(startKey), limit, version: this.nextTs() });
  }

  private storedKey(kv: KvSpec): Uint8Array {
    const key = bytes(kv.key);
    return kv.cf === 'lock' ? key : encodeKey(key, kv.ts ?? this.prevTs);
  }
}

export function mutation(key: number, value: Bytes | undefined, op: kvrpcpb.Op): kvrpcpb.Mutation {
  return kvrpcpb.Mutation({ key: bytes([key]), value: bytes(value ?? []), op });
}

export function resolveRequest(startVersion: bigint, commitVersion: bigint): kvrpcpb.ResolveLockRequest {
  return kvrpcpb.ResolveLockRequest({ startVersion, commitVersion });
}

export function getRequest(key: Bytes, version: bigint): kvrpcpb.GetRequest {
  return kvrpcpb.GetRequest({ key: bytes(key), version });
}
