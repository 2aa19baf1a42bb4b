/**
 * Locks (given code): what the `lock` column family holds, under the plain user key.
 *
 * A prewrite leaves a lock on every key it writes. The lock names the transaction's primary key (where the
 * fate of the whole transaction is decided), its start timestamp, its time to live in milliseconds, and
 * the kind of change it guards.
 */
import { kvrpcpb } from '#proto';
import { MvccCorruptionError } from './errors.ts';
import { parseWriteKind, WriteKind } from './write.ts';

/** primary (variable), kind (1), ts (8), ttl (8). */
const LOCK_TAIL_BYTES = 17;

export class Lock {
  constructor(
    readonly primary: Uint8Array,
    readonly ts: bigint,
    /** Time to live in milliseconds, counted from the physical time of `ts`. */
    readonly ttl: number,
    readonly kind: WriteKind,
  ) {}

  /** The lock as the wire reports it to a client blocked on `key`. */
  info(key: Uint8Array): kvrpcpb.LockInfo {
    return kvrpcpb.LockInfo({ primaryLock: this.primary, lockVersion: this.ts, key, lockTtl: this.ttl });
  }

  /** True if this lock blocks a reader at `readTs`: a txn that started at or before it may commit before it. */
  blocksReadAt(readTs: bigint): boolean {
    return this.ts <= readTs;
  }

  toBytes(): Uint8Array {
    const n = this.primary.length;
    const out = new Uint8Array(n + LOCK_TAIL_BYTES);
    out.set(this.primary);
    out[n] = this.kind;
    const view = new DataView(out.buffer);
    view.setBigUint64(n + 1, this.ts, false);
    view.setBigUint64(n + 9, BigInt(this.ttl), false);
    return out;
  }
}

export function parseLock(value: Uint8Array): Lock {
  if (value.length < LOCK_TAIL_BYTES) {
    throw new MvccCorruptionError(`lock must be at least ${LOCK_TAIL_BYTES} bytes, found ${value.length}`);
  }
  const n = value.length - LOCK_TAIL_BYTES;
  const view = new DataView(value.buffer, value.byteOffset, value.length);
  const kind = parseWriteKind(value[n], 'lock');
  const ts = view.getBigUint64(n + 1, false);
  const ttl = view.getBigUint64(n + 9, false);
  if (ttl > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new MvccCorruptionError(`lock ttl ${ttl} ms is beyond 2^53`);
  }
  return new Lock(value.slice(0, n), ts, Number(ttl), kind);
}
