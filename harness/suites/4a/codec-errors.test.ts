/** Project 4A (given code): bad stored bytes and bad timestamps give clear typed errors. */
import { describe, expect, it } from 'vitest';
import { decodeTimestamp, decodeUserKey, encodeKey, TS_MAX } from '@impl/kv/transaction/mvcc/codec.ts';
import { InvalidTimestampError, MvccCorruptionError } from '@impl/kv/transaction/mvcc/errors.ts';
import { parseLock } from '@impl/kv/transaction/mvcc/lock.ts';
import { parseWrite } from '@impl/kv/transaction/mvcc/write.ts';

describe('4A codec errors', () => {
  it('rejects timestamps outside 64 bits', () => {
    expect(() => encodeKey(new Uint8Array([1]), -1n)).toThrow(InvalidTimestampError);
    expect(() => encodeKey(new Uint8Array([1]), TS_MAX + 1n)).toThrow(InvalidTimestampError);
  });

  it('rejects truncated or malformed encoded keys', () => {
    expect(() => decodeUserKey(new Uint8Array([1, 2, 3]))).toThrow(MvccCorruptionError);
    // Marker 200 would mean 55 pad bytes.
    expect(() => decodeUserKey(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 200]))).toThrow(MvccCorruptionError);
    // A pad byte that is not zero.
    expect(() => decodeUserKey(new Uint8Array([1, 9, 0, 0, 0, 0, 0, 0, 248]))).toThrow(/pad/);
    const key = encodeKey(new Uint8Array([1]), 5n);
    expect(() => decodeTimestamp(key.subarray(0, key.length - 1))).toThrow(MvccCorruptionError);
  });

  it('rejects malformed locks and write records', () => {
    expect(() => parseLock(new Uint8Array(16))).toThrow(MvccCorruptionError);
    expect(() => parseLock(new Uint8Array([1, 9, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]))).toThrow(/kind/);
    expect(() => parseWrite(new Uint8Array(8))).toThrow(MvccCorruptionError);
    expect(() => parseWrite(new Uint8Array([7, 0, 0, 0, 0, 0, 0, 0, 1]))).toThrow(/kind/);
  });
});
