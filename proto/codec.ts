// Turns wire-type objects into protobuf bytes and back.
//
//   const bytes = encode('kvrpcpb.RawPutRequest', kvrpcpb.RawPutRequest({ key, value, cf: 'default' }));
//   const req = decode('kvrpcpb.RawPutRequest', bytes);
//
// Decoded messages are plain objects shaped like the generated interfaces: every scalar and repeated
// field filled (defaults when absent), message fields `undefined` when absent. 64-bit fields are numbers,
// except the timestamps listed in proto/timestamps.ts, which are bigints. Any problem throws a WireError.

import { DECODERS, ENCODERS } from './gen/wire.ts';
import { WIRE_TYPE_NAMES, type WireTypeName, type WireTypes } from './gen/registry.ts';
import { Reader, WireError, Writer } from './wire-runtime.ts';

export { WireError } from './wire-runtime.ts';
export type { WireTypeName, WireTypes } from './gen/registry.ts';

const KNOWN_TYPES: ReadonlySet<string> = new Set(WIRE_TYPE_NAMES);

/** True when `name` is a message type this codec knows ('kvrpcpb.RawPutRequest'). */
export function isWireTypeName(name: string): name is WireTypeName {
  return KNOWN_TYPES.has(name);
}

function unknownType(type: string): WireError {
  return new WireError(`unknown message type '${type}' (expected a name like 'kvrpcpb.RawPutRequest')`, type);
}

/** Encodes `value` as a message of `type`. In Node the result is a Buffer. */
export function encode<K extends WireTypeName>(type: K, value: WireTypes[K]): Uint8Array {
  const encoder = ENCODERS[type] as ((m: WireTypes[K], w: Writer) => void) | undefined;
  if (encoder === undefined) throw unknownType(type);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new WireError(`cannot encode ${type}: expected a message object, got ${value === null ? 'null' : typeof value}`, type);
  }
  const w = Writer.create();
  try {
    encoder(value, w);
  } catch (err) {
    if (err instanceof WireError) throw err;
    throw new WireError(`cannot encode ${type}: ${(err as Error).message}`, type, undefined, { cause: err });
  }
  return w.finish();
}

/** Decodes `bytes` as a message of `type`. The result shares no memory with `bytes`. */
export function decode<K extends WireTypeName>(type: K, bytes: Uint8Array): WireTypes[K] {
  const decoder = DECODERS[type] as ((r: Reader, end: number) => WireTypes[K]) | undefined;
  if (decoder === undefined) throw unknownType(type);
  if (!(bytes instanceof Uint8Array)) {
    throw new WireError(`cannot decode ${type}: expected a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`, type);
  }
  const r = Reader.create(bytes);
  try {
    return decoder(r, r.len);
  } catch (err) {
    if (err instanceof WireError) throw err;
    throw new WireError(`cannot decode ${type}: malformed bytes (${(err as Error).message})`, type, undefined, { cause: err });
  }
}
