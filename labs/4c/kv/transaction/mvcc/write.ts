/**
 * Write records (given code): what the `write` column family holds.
 *
 * A committed (or rolled back) change of a user key is recorded under encodeKey(key, commitTs) as a Write:
 * the start timestamp of the transaction that made it (where its value sits in `default`) and its kind.
 * A rollback is recorded under the transaction's start timestamp, so it blocks a late prewrite of that txn.
 */
import { kvrpcpb } from '#proto';
import { MvccCorruptionError } from './errors.ts';

/** The kind of a write or lock. The numbers are the stored byte (same as TinyKV's). */
export enum WriteKind {
  Put = 1,
  Delete = 2,
  Rollback = 3,
}

const WRITE_BYTES = 9;

export class Write {
  constructor(
    readonly startTs: bigint,
    readonly kind: WriteKind,
  ) {}

  /** kind (1 byte), then startTs (8 bytes, big-endian). */
  toBytes(): Uint8Array {
    const out = new Uint8Array(WRITE_BYTES);
    out[0] = this.kind;
    new DataView(out.buffer).setBigUint64(1, this.startTs, false);
    return out;
  }
}

export function parseWrite(value: Uint8Array): Write {
  if (value.length !== WRITE_BYTES) {
    throw new MvccCorruptionError(`write record must be ${WRITE_BYTES} bytes, found ${value.length}`);
  }
  const kind = parseWriteKind(value[0], 'write record');
  const startTs = new DataView(value.buffer, value.byteOffset, WRITE_BYTES).getBigUint64(1, false);
  return new Write(startTs, kind);
}

export function parseWriteKind(byte: number, what: string): WriteKind {
  if (byte !== WriteKind.Put && byte !== WriteKind.Delete && byte !== WriteKind.Rollback) {
    throw new MvccCorruptionError(`${what} has an unknown kind ${byte} (expected 1 put, 2 delete, 3 rollback)`);
  }
  return byte;
}

/** The kind of a mutation's operation; undefined for operations TinyKV does not store (Op.Lock). */
export function writeKindFromOp(op: kvrpcpb.Op): WriteKind | undefined {
  switch (op) {
    case kvrpcpb.Op.Put:
      return WriteKind.Put;
    case kvrpcpb.Op.Del:
      return WriteKind.Delete;
    case kvrpcpb.Op.Rollback:
      return WriteKind.Rollback;
    default:
      return undefined;
  }
}
