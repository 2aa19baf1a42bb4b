/**
 * A plain view of the MVCC store and of the transactional answers, for the random-sequence tests of 4A-4C:
 * the three families decoded (user keys as hex, timestamps, parsed locks and write records) and each
 * response reduced to what a client acts on. Two stores or two answers are equal when their views are.
 *
 * Keys are user keys as hex strings: two digits per byte keep the byte order, so sorting the strings sorts
 * the keys.
 */
import { kvrpcpb } from '#proto';
import type { MemStorage } from '@impl/kv/storage/mem-storage.ts';
import { decodeTimestamp, decodeUserKey } from '@impl/kv/transaction/mvcc/codec.ts';
import { parseLock } from '@impl/kv/transaction/mvcc/lock.ts';
import { parseWrite, type WriteKind } from '@impl/kv/transaction/mvcc/write.ts';

export type HexKey = string;

export interface LockView {
  primary: HexKey;
  ts: bigint;
  ttl: number;
  kind: WriteKind;
}

export interface WriteView {
  startTs: bigint;
  kind: WriteKind;
}

/** The contents of the three families, in stored order (user key ascending, then timestamp descending). */
export interface FamiliesView {
  lock: [HexKey, LockView][];
  default: [HexKey, bigint, HexKey][];
  write: [HexKey, bigint, WriteView][];
}

/** A lock as a client is told of it (the wire's LockInfo: no kind). */
export interface LockInfoView {
  primary: HexKey;
  ts: bigint;
  ttl: number;
  key: HexKey;
}

/** A read's answer: the blocking lock, or the value, or nothing. */
export type ReadAnswer = { locked: LockInfoView } | { value: HexKey } | { notFound: true };

export type ScanPair = { key: HexKey; value: HexKey } | { key: HexKey; locked: LockInfoView };

export interface TxnStatusAnswer {
  action: 'NoAction' | 'TTLExpireRollback' | 'LockNotExistRollback';
  lockTtl: number;
  commitVersion: bigint;
}

export const hex = (b: Uint8Array): HexKey => Buffer.from(b).toString('hex');
export const unhex = (h: HexKey): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

/** The decoded contents of a MemStorage. */
export function familiesOf(mem: MemStorage): FamiliesView {
  const dump = mem.dump();
  return {
    lock: dump.lock.map(({ key, value }) => [hex(key), lockView(parseLock(value))]),
    default: dump.default.map(({ key, value }) => [hex(decodeUserKey(key)), decodeTimestamp(key), hex(value)]),
    write: dump.write.map(({ key, value }) => {
      const w = parseWrite(value);
      return [hex(decodeUserKey(key)), decodeTimestamp(key), { startTs: w.startTs, kind: w.kind }];
    }),
  };
}

function lockView(lock: { primary: Uint8Array; ts: bigint; ttl: number; kind: WriteKind }): LockView {
  return { primary: hex(lock.primary), ts: lock.ts, ttl: lock.ttl, kind: lock.kind };
}

function lockInfoView(info: kvrpcpb.LockInfo): LockInfoView {
  return { primary: hex(info.primaryLock), ts: info.lockVersion, ttl: Number(info.lockTtl), key: hex(info.key) };
}

/** A lock of the store as a client would be told of it. */
export function lockInfoOf(key: HexKey, lock: LockView): LockInfoView {
  return { primary: lock.primary, ts: lock.ts, ttl: lock.ttl, key };
}

/** True for a proto field that is set (neither undefined nor null). */
export function present<T>(x: T | null | undefined): x is T {
  return x !== undefined && x !== null;
}

export function readAnswerOf(resp: kvrpcpb.GetResponse): ReadAnswer {
  if (present(resp.regionError)) throw new Error(`unexpected region error ${JSON.stringify(resp.regionError)}`);
  if (present(resp.error?.locked)) return { locked: lockInfoView(resp.error.locked) };
  if (present(resp.error)) throw new Error(`unexpected key error in a get: ${JSON.stringify(resp.error)}`);
  return resp.notFound ? { notFound: true } : { value: hex(resp.value) };
}

export function scanPairsOf(resp: kvrpcpb.ScanResponse): ScanPair[] {
  if (present(resp.regionError)) throw new Error(`unexpected region error ${JSON.stringify(resp.regionError)}`);
  return resp.pairs.map((pair) => {
    if (present(pair.error?.locked)) return { key: hex(pair.key), locked: lockInfoView(pair.error.locked) };
    if (present(pair.error)) throw new Error(`unexpected key error in a scan: ${JSON.stringify(pair.error)}`);
    return { key: hex(pair.key), value: hex(pair.value) };
  });
}

export function statusOf(resp: kvrpcpb.CheckTxnStatusResponse): TxnStatusAnswer {
  if (present(resp.regionError)) throw new Error(`unexpected region error ${JSON.stringify(resp.regionError)}`);
  return {
    action: kvrpcpb.Action[resp.action] as TxnStatusAnswer['action'],
    lockTtl: Number(resp.lockTtl),
    commitVersion: resp.commitVersion,
  };
}

/** A short text of a view for failure messages: one line per entry. */
export function describeFamilies(view: FamiliesView): string {
  const kinds: Record<number, string> = { 1: 'put', 2: 'delete', 3: 'rollback' };
  const lines = [
    ...view.lock.map(([k, l]) => `  lock    ${k}: ${kinds[l.kind]} lock of txn ${l.ts}, primary ${l.primary}, ttl ${l.ttl}`),
    ...view.default.map(([k, ts, v]) => `  default ${k}@${ts}: ${v}`),
    ...view.write.map(([k, ts, w]) => `  write   ${k}@${ts}: ${kinds[w.kind]} of txn ${w.startTs}`),
  ];
  return lines.length === 0 ? '  (empty)' : lines.join('\n');
}
