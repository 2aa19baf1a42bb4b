// Helpers called by the generated codec (proto/gen/wire.ts): value checks before encoding, 64-bit
// conversions after decoding, and bounds-checked reads. Uses protobufjs's Reader and Writer for the
// low-level varint work; everything about our types (number vs bigint, defaults) is decided here.

import protobuf from 'protobufjs/minimal.js';

export type Reader = protobuf.Reader;
export type Writer = protobuf.Writer;
export const Reader = protobuf.Reader;
export const Writer = protobuf.Writer;

/** A value that cannot be put on the wire, or bytes that are not a valid message of the expected type. */
export class WireError extends Error {
  override name = 'WireError';
  /** The message type, e.g. 'kvrpcpb.RawPutRequest'. */
  readonly typeName: string;
  /** The proto field name when the problem is one field, e.g. 'start_version'. */
  readonly field: string | undefined;

  constructor(message: string, typeName: string, field?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.typeName = typeName;
    this.field = field;
  }
}

const TWO_32 = 4294967296;
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
const LOW_MASK = 0xffffffffn;

/** The shared zero-length byte array decoded messages use for absent bytes fields. */
export const EMPTY_BYTES: Uint8Array = Object.freeze(new Uint8Array(0)) as Uint8Array;

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Uint8Array) return `bytes (length ${v.length})`;
  if (typeof v === 'object') return `an object (${v.constructor?.name ?? 'no prototype'})`;
  return String(v);
}

function badValue(type: string, field: string, expected: string, got: unknown): WireError {
  return new WireError(`cannot encode ${type}.${field}: expected ${expected}, got ${describe(got)}`, type, field);
}

// ---- Encoding: each check returns the value to write or throws a WireError naming the field. ----

export function checkUint32(v: unknown, type: string, field: string): number {
  if (typeof v === 'number' && v >>> 0 === v) return v;
  throw badValue(type, field, 'an integer from 0 to 4294967295', v);
}

export function checkInt32(v: unknown, type: string, field: string): number {
  if (typeof v === 'number' && (v | 0) === v) return v;
  throw badValue(type, field, 'an integer from -2147483648 to 2147483647', v);
}

export function checkEnum(v: unknown, type: string, field: string): number {
  if (typeof v === 'number' && (v | 0) === v) return v;
  throw badValue(type, field, 'an enum value (a 32-bit integer)', v);
}

/** Unsigned 64-bit field kept as a number: a safe, non-negative integer. */
export function checkUint64(v: unknown, type: string, field: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  throw badValue(type, field, 'an integer from 0 to Number.MAX_SAFE_INTEGER (this 64-bit field is a number)', v);
}

/** Signed 64-bit field kept as a number: a safe integer. */
export function checkInt64(v: unknown, type: string, field: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  throw badValue(type, field, 'a safe integer (this 64-bit field is a number)', v);
}

/** Unsigned 64-bit timestamp: a bigint from 0 to 2^64-1, split into the halves protobufjs writes. */
export function uint64FromBigint(v: unknown, type: string, field: string): protobuf.Long {
  if (typeof v === 'bigint' && v >= 0n && v <= U64_MAX) {
    return { low: Number(v & LOW_MASK) | 0, high: Number(v >> 32n) | 0, unsigned: true };
  }
  throw badValue(type, field, 'a bigint from 0n to 2n**64n-1n (this field is a timestamp)', v);
}

/** Signed 64-bit timestamp: a bigint from -2^63 to 2^63-1. */
export function int64FromBigint(v: unknown, type: string, field: string): protobuf.Long {
  if (typeof v === 'bigint' && v >= I64_MIN && v <= I64_MAX) {
    const u = BigInt.asUintN(64, v);
    return { low: Number(u & LOW_MASK) | 0, high: Number(u >> 32n) | 0, unsigned: false };
  }
  throw badValue(type, field, 'a bigint from -(2n**63n) to 2n**63n-1n (this field is a timestamp)', v);
}

export function checkDouble(v: unknown, type: string, field: string): number {
  if (typeof v === 'number') return v;
  throw badValue(type, field, 'a number', v);
}

export function checkBool(v: unknown, type: string, field: string): boolean {
  if (typeof v === 'boolean') return v;
  throw badValue(type, field, 'a boolean', v);
}

export function checkString(v: unknown, type: string, field: string): string {
  if (typeof v === 'string') return v;
  throw badValue(type, field, 'a string', v);
}

export function checkBytes(v: unknown, type: string, field: string): Uint8Array {
  if (v instanceof Uint8Array) return v;
  throw badValue(type, field, 'a Uint8Array', v);
}

export function checkList<T>(v: readonly T[], type: string, field: string): readonly T[] {
  if (Array.isArray(v)) return v;
  throw badValue(type, field, 'an array (repeated field)', v);
}

export function checkMessage<T extends object>(v: T, type: string, field: string): T {
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)) return v;
  throw badValue(type, field, 'a message object', v);
}

// ---- Decoding. Malformed input throws RangeError here; codec.ts turns it into a WireError. ----

export function u64ToBigint(l: protobuf.Long): bigint {
  return (BigInt(l.high >>> 0) << 32n) | BigInt(l.low >>> 0);
}

export function i64ToBigint(l: protobuf.Long): bigint {
  return BigInt.asIntN(64, u64ToBigint(l));
}

function tooBig(type: string, field: string, exact: bigint): WireError {
  return new WireError(
    `cannot decode ${type}.${field}: value ${exact} is beyond Number.MAX_SAFE_INTEGER, but this 64-bit field is a ` +
      'number (only the fields listed in proto/timestamps.ts are bigint)',
    type, field,
  );
}

export function u64ToNumber(l: protobuf.Long, type: string, field: string): number {
  const n = (l.high >>> 0) * TWO_32 + (l.low >>> 0);
  if (n <= Number.MAX_SAFE_INTEGER) return n;
  throw tooBig(type, field, u64ToBigint(l));
}

export function i64ToNumber(l: protobuf.Long, type: string, field: string): number {
  // Exact whenever the true value is a safe integer; otherwise the result is not safe either.
  const n = (l.high | 0) * TWO_32 + (l.low >>> 0);
  if (Number.isSafeInteger(n)) return n;
  throw tooBig(type, field, i64ToBigint(l));
}

/** Reads a length prefix and returns where the enclosed value ends, refusing to run past `end`. */
export function subEnd(r: Reader, end: number): number {
  const len = r.uint32();
  const stop = r.pos + len;
  if (stop > end) throw new RangeError(`length ${len} at offset ${r.pos} runs past the end of the enclosing message`);
  return stop;
}

export function readBytes(r: Reader, end: number): Uint8Array {
  const stop = subEnd(r, end);
  const start = r.pos;
  r.pos = stop;
  const len = stop - start;
  if (len === 0) return EMPTY_BYTES;
  // A copy, so the result does not pin (or alias) the whole input buffer.
  const out = new Uint8Array(len);
  const buf = r.buf;
  if (len <= 32) {
    for (let i = 0; i < len; i++) out[i] = buf[start + i]!;
  } else {
    out.set(new Uint8Array(buf.buffer, buf.byteOffset + start, len));
  }
  return out;
}

type NodeBuffer = Uint8Array & { utf8Slice?: (start: number, end: number) => string };

export function readString(r: Reader, end: number): string {
  const stop = subEnd(r, end);
  const start = r.pos;
  r.pos = stop;
  if (stop === start) return '';
  const buf = r.buf as NodeBuffer;
  // Node's Buffer has a native UTF-8 decoder; a plain Uint8Array uses protobufjs's.
  return buf.utf8Slice ? buf.utf8Slice(start, stop) : protobuf.util.utf8.read(buf, start, stop);
}

/** After a message's fields: the last field must end exactly at the message's end. */
export function checkEnd(r: Reader, end: number): void {
  if (r.pos !== end) throw new RangeError(`a field runs past the end of its message (offset ${r.pos}, end ${end})`);
}

/** Skips a field this message does not know; a known field with the wrong wire type is an error. */
export function skipField(r: Reader, tag: number, known: ReadonlySet<number>): void {
  const fieldNumber = tag >>> 3;
  const wireType = tag & 7;
  if (fieldNumber === 0) throw new RangeError(`invalid field number 0 at offset ${r.pos}`);
  if (known.has(fieldNumber)) throw new RangeError(`field ${fieldNumber} has unexpected wire type ${wireType}`);
  if (wireType === 4 || wireType > 5) throw new RangeError(`invalid wire type ${wireType} at offset ${r.pos}`);
  r.skipType(wireType);
}
