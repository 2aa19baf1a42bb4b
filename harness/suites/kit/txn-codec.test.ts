/**
 * Kit: the MVCC key codec and record formats (given code in kv/transaction/mvcc: codec.ts, lock.ts, write.ts).
 * TinyKV's TestEncodeKey and TestDecodeKey, an order property, and clear errors on malformed bytes.
 */
import { describe, expect, it } from 'vitest';
import { decodeTimestamp, decodeUserKey, encodeKey, TS_MAX } from '@impl/kv/transaction/mvcc/codec.ts';
import { InvalidTimestampError, MvccCorruptionError } from '@impl/kv/transaction/mvcc/errors.ts';
import { parseLock } from '@impl/kv/transaction/mvcc/lock.ts';
import { parseWrite } from '@impl/kv/transaction/mvcc/write.ts';
import { compareBytes } from '@impl/util/bytes.ts';
import { SeededRandom } from '@impl/util/prng.ts';

const u8 = (...b: number[]) => Uint8Array.from(b);

/** ^x for a 64-bit x. */
const not64 = (x: bigint) => TS_MAX ^ x;

describe('kit: mvcc key codec', () => {
  // catches known bug 37: encoded key order wrong (user key ascending, then timestamp descending).
  it('TestEncodeKey', () => {
    const ff8 = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    expect(encodeKey(u8(), 0n)).toEqual(u8(0, 0, 0, 0, 0, 0, 0, 0, 247, ...ff8));
    expect(encodeKey(u8(42), 0n)).toEqual(u8(42, 0, 0, 0, 0, 0, 0, 0, 248, ...ff8));
    expect(encodeKey(u8(42, 0, 5), 0n)).toEqual(u8(42, 0, 5, 0, 0, 0, 0, 0, 250, ...ff8));
    expect(encodeKey(u8(42), not64(43543258743295n))).toEqual(u8(42, 0, 0, 0, 0, 0, 0, 0, 248, 0, 0, 39, 154, 52, 120, 65, 255));
    expect(encodeKey(u8(42, 0, 5), not64(98753868n))).toEqual(u8(42, 0, 5, 0, 0, 0, 0, 0, 250, 0, 0, 0, 0, 5, 226, 221, 76));

    // Ordered by user key first, whatever the timestamps.
    expect(compareBytes(encodeKey(u8(42), 238n), encodeKey(u8(200), 0n))).toBeLessThan(0);
    expect(compareBytes(encodeKey(u8(42), 238n), encodeKey(u8(42, 0), 0n))).toBeLessThan(0);
    // Within one user key, newer versions first.
    expect(compareBytes(encodeKey(u8(42), 239n), encodeKey(u8(42), 238n))).toBeLessThan(0);
  });

  it('TestDecodeKey', () => {
    expect(decodeUserKey(encodeKey(u8(), 0n))).toEqual(u8());
    expect(decodeUserKey(encodeKey(u8(42), 0n))).toEqual(u8(42));
    expect(decodeUserKey(encodeKey(u8(42, 0, 5), 0n))).toEqual(u8(42, 0, 5));
    expect(decodeUserKey(encodeKey(u8(42), 2342342355436234n))).toEqual(u8(42));
    expect(decodeUserKey(encodeKey(u8(42, 0, 5), 234234n))).toEqual(u8(42, 0, 5));
    expect(decodeTimestamp(encodeKey(u8(42, 0, 5), 234234n))).toBe(234234n);
    // Keys of 8 and 16 bytes end with a group of pure padding.
    const eight = u8(1, 2, 3, 4, 5, 6, 7, 8);
    expect(decodeUserKey(encodeKey(eight, 7n))).toEqual(eight);
    expect(encodeKey(eight, 7n)).toHaveLength(18 + 8);
  });

  // catches known bug 37: any order other than (user key ascending, ts descending) fails on some pair.
  it('TestEncodeKeyOrder', () => {
    const rng = new SeededRandom(4041);
    const versions: { key: Uint8Array; ts: bigint }[] = [];
    for (let i = 0; i < 300; i++) {
      const key = Uint8Array.from({ length: rng.nextInt(20) }, () => rng.nextInt(4) * 85); // 0, 85, 170, 255
      const ts = (BigInt(rng.nextUint32()) << 32n) | BigInt(rng.nextUint32());
      versions.push({ key, ts });
    }
    const byEncoding = [...versions].sort((a, b) => compareBytes(encodeKey(a.key, a.ts), encodeKey(b.key, b.ts)));
    const byMeaning = [...versions].sort((a, b) => compareBytes(a.key, b.key) || (a.ts > b.ts ? -1 : a.ts < b.ts ? 1 : 0));
    expect(byEncoding).toEqual(byMeaning);
  });

});

describe('kit: mvcc key codec errors', () => {
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
