/**
 * Encoded keys of the MVCC layer (given code).
 *
 * The `default` and `write` column families hold many versions of each user key. A version is stored under
 * an encoded key: the user key in memcomparable form, then the timestamp, bit-inverted, as 8 big-endian
 * bytes. Sorting encoded keys as plain bytes then orders them by user key ascending and, within one user
 * key, by timestamp descending, so a seek to encodeKey(key, ts) lands on the newest version at or before ts.
 *
 * Memcomparable form: the key is cut into groups of 8 bytes; each group is written padded with zeros to 8
 * bytes and followed by a marker byte 0xFF - (number of pad bytes). A key always ends with a padded group
 * (possibly all padding), so no encoded key is a prefix of another and byte order equals key order.
 */
import { InvalidTimestampError, MvccCorruptionError } from './errors.ts';

const GROUP_SIZE = 8;
const MARKER = 0xff;
const TS_BYTES = 8;

/** The largest timestamp: reads at TS_MAX see every committed version. */
export const TS_MAX = 0xffff_ffff_ffff_ffffn;

/** A TSO timestamp is (physical milliseconds << 18) | logical counter. */
export const PHYSICAL_SHIFT_BITS = 18n;

function checkTimestamp(what: string, ts: bigint): void {
  if (ts < 0n || ts > TS_MAX) throw new InvalidTimestampError(what, ts);
}

/** The physical part (milliseconds) of a TSO timestamp. */
export function physicalTime(ts: bigint): bigint {
  checkTimestamp('physicalTime', ts);
  return ts >> PHYSICAL_SHIFT_BITS;
}

/** A TSO timestamp from its physical milliseconds and logical counter. */
export function composeTs(physicalMs: bigint, logical: bigint): bigint {
  const ts = (physicalMs << PHYSICAL_SHIFT_BITS) | logical;
  checkTimestamp('composeTs', ts);
  return ts;
}

/** `key` in memcomparable form. */
export function encodeBytes(key: Uint8Array): Uint8Array {
  const groups = Math.floor(key.length / GROUP_SIZE) + 1;
  const out = new Uint8Array(groups * (GROUP_SIZE + 1));
  for (let g = 0; g < groups; g++) {
    const from = g * GROUP_SIZE;
    const chunk = key.subarray(from, Math.min(from + GROUP_SIZE, key.length));
    const at = g * (GROUP_SIZE + 1);
    out.set(chunk, at); // the rest of the group is already zero padding
    out[at + GROUP_SIZE] = MARKER - (GROUP_SIZE - chunk.length);
  }
  return out;
}

/** Decode a memcomparable key at the start of `data`; returns the key and the bytes that follow it. */
export function decodeBytes(data: Uint8Array): { key: Uint8Array; rest: Uint8Array } {
  const parts: Uint8Array[] = [];
  let at = 0;
  for (;;) {
    if (data.length - at < GROUP_SIZE + 1) {
      throw new MvccCorruptionError(`encoded key is truncated: ${data.length} bytes, a group needs ${GROUP_SIZE + 1}`);
    }
    const marker = data[at + GROUP_SIZE];
    const padCount = MARKER - marker;
    if (padCount > GROUP_SIZE) throw new MvccCorruptionError(`encoded key has an invalid group marker ${marker}`);
    const realSize = GROUP_SIZE - padCount;
    parts.push(data.subarray(at, at + realSize));
    for (let i = realSize; i < GROUP_SIZE; i++) {
      if (data[at + i] !== 0) throw new MvccCorruptionError('encoded key has a non-zero pad byte');
    }
    at += GROUP_SIZE + 1;
    if (padCount !== 0) break;
  }
  return { key: concat(parts), rest: data.subarray(at) };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The encoded key of version `ts` of user key `key`. */
export function encodeKey(key: Uint8Array, ts: bigint): Uint8Array {
  checkTimestamp('encodeKey', ts);
  const body = encodeBytes(key);
  const out = new Uint8Array(body.length + TS_BYTES);
  out.set(body);
  // Inverted so that newer versions (larger ts) sort first.
  new DataView(out.buffer).setBigUint64(body.length, TS_MAX ^ ts, false);
  return out;
}

/** The user key of an encoded key. */
export function decodeUserKey(encoded: Uint8Array): Uint8Array {
  return decodeBytes(encoded).key;
}

/** The timestamp of an encoded key. */
export function decodeTimestamp(encoded: Uint8Array): bigint {
  const { rest } = decodeBytes(encoded);
  if (rest.length !== TS_BYTES) {
    throw new MvccCorruptionError(`encoded key has ${rest.length} bytes after the user key, expected ${TS_BYTES}`);
  }
  return TS_MAX ^ new DataView(rest.buffer, rest.byteOffset, TS_BYTES).getBigUint64(0, false);
}
