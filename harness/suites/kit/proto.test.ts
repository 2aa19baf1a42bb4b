// The wire protocol (given code): every message round-trips through our codec with every field set, our
// bytes agree with protobufjs's reflection codec built from the same .proto files (both directions),
// timestamps keep all 64 bits, out-of-range numbers and malformed bytes fail with a WireError, factories
// fill defaults, the generated files are current, and every gRPC method has a definition.
import { describe, expect, it } from 'vitest';
import protobuf from 'protobufjs';
import { decode, encode, FACTORIES, kvrpcpb, metapb, TIMESTAMP_FIELDS, WIRE_TYPE_NAMES, WireError, type WireTypeName } from '#proto';
import { methodNames, methodTable, SERVICE_NAMES, serviceDefinition } from '#proto/grpc.ts';
import { PROTO_DIR, staleFiles } from '../../../proto/codegen.ts';
import { camelCase, loadProtoDir } from '../../../proto/codegen/schema.ts';

// The oracle: protobufjs reflection over our .proto files (proto field names kept as written).
const root = loadProtoDir(PROTO_DIR);
const TIMESTAMPS = new Set(TIMESTAMP_FIELDS);
const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const UNSIGNED_LONG = new Set(['uint64', 'fixed64']);
const U64_MAX = (1n << 64n) - 1n;
const I64_MAX = (1n << 63n) - 1n;

function reflect(name: string): protobuf.Type {
  return root.lookupType(name);
}
function wireName(t: protobuf.ReflectionObject): string {
  return t.fullName.slice(1);
}
function isTimestamp(t: protobuf.Type, f: protobuf.Field): boolean {
  return TIMESTAMPS.has(`${wireName(t)}.${f.name}`);
}

type Plain = Record<string, unknown>;

/**
 * A value for every field, none of them the default. Variant 'a' uses small distinct values and
 * timestamps of 2^63-1; variant 'b' uses the extremes: 2^64-1 timestamps, MAX_SAFE_INTEGER, negative
 * signed values, 2^32-1. Repeated fields get two different items; message fields are filled recursively.
 */
function sample(t: protobuf.Type, variant: 'a' | 'b', depth = 0): Plain {
  if (depth > 16) throw new Error(`${wireName(t)}: nesting too deep for a sample`);
  const out: Plain = {};
  for (const f of t.fieldsArray) {
    const one = (i: number): unknown => sampleValue(t, f, variant, i, depth);
    out[camelCase(f.name)] = f.repeated ? [one(0), one(1)] : one(0);
  }
  return out;
}

function sampleValue(t: protobuf.Type, f: protobuf.Field, variant: 'a' | 'b', i: number, depth: number): unknown {
  const rt = f.resolvedType;
  if (rt instanceof protobuf.Type) return sample(rt, variant, depth + 1);
  if (rt instanceof protobuf.Enum) {
    const nonZero = Object.values(rt.values).filter((n) => n !== 0);
    return nonZero[(i + (variant === 'b' ? nonZero.length - 1 : 0)) % nonZero.length];
  }
  const b = variant === 'b';
  if (LONG_TYPES.has(f.type)) {
    const unsigned = UNSIGNED_LONG.has(f.type);
    if (isTimestamp(t, f)) {
      if (!b) return I64_MAX - BigInt(i);
      return unsigned ? U64_MAX - BigInt(i) : -(1n << 63n) + BigInt(i);
    }
    if (!b) return f.id * 1000 + i + 1;
    return unsigned ? Number.MAX_SAFE_INTEGER - i : -Number.MAX_SAFE_INTEGER + i;
  }
  switch (f.type) {
    case 'bool': return true;
    case 'string': return b ? `${f.name} ${i} é ☃ 😀` : `${f.name}-${i}`;
    case 'bytes': return b ? new Uint8Array([0, 255, i, f.id, 128]) : new Uint8Array([f.id, i + 1]);
    case 'uint32': case 'fixed32': return b ? 0xffffffff - i : f.id + i + 1;
    case 'int32': case 'sint32': case 'sfixed32': return b ? -2147483648 + i : f.id + i + 1;
    case 'double': case 'float': return b ? -0.25 * (i + 1) : 1.5 + i;
    default: throw new Error(`no sample for type ${f.type}`);
  }
}

/** Our object as protobufjs's toObject({ longs: String, bytes: Array, defaults: true }) would show it. */
function toReflection(t: protobuf.Type, value: Plain): Plain {
  const out: Plain = {};
  for (const f of t.fieldsArray) {
    const v = value[camelCase(f.name)];
    const conv = (x: unknown): unknown => {
      const rt = f.resolvedType;
      if (rt instanceof protobuf.Type) return x === undefined ? null : toReflection(rt, x as Plain);
      if (typeof x === 'bigint') return x.toString();
      if (LONG_TYPES.has(f.type)) return String(x);
      if (x instanceof Uint8Array) return Array.from(x);
      return x;
    };
    out[f.name] = f.repeated ? (v as unknown[]).map(conv) : conv(v);
  }
  return out;
}

const reflectionView = { longs: String, bytes: Array, defaults: true } as const;

const enc = <K extends WireTypeName>(type: K, value: unknown): Uint8Array => encode(type, value as never);

function expectWireError(fn: () => unknown, typeName: string, field?: string, text?: RegExp): WireError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(WireError);
  const e = caught as WireError;
  expect(e.typeName).toBe(typeName);
  expect(e.message).toContain(typeName);
  if (field !== undefined) {
    expect(e.field).toBe(field);
    expect(e.message).toContain(field);
  }
  if (text) expect(e.message).toMatch(text);
  return e;
}

describe('registry', () => {
  it('lists exactly the messages declared in the .proto files', () => {
    const declared: string[] = [];
    const walk = (ns: protobuf.NamespaceBase): void => {
      for (const n of ns.nestedArray) {
        if (n instanceof protobuf.Type) declared.push(wireName(n));
        if (n instanceof protobuf.Namespace) walk(n);
      }
    };
    walk(root);
    expect([...WIRE_TYPE_NAMES].sort()).toEqual(declared.sort());
    expect(WIRE_TYPE_NAMES.length).toBe(138);
  });
});

describe('round trip of every message type with every field set', () => {
  for (const type of WIRE_TYPE_NAMES) {
    it(type, () => {
      const t = reflect(type);
      for (const variant of ['a', 'b'] as const) {
        const value = sample(t, variant);
        const bytes = enc(type, value);
        // Ours -> ours, from a Node Buffer and from a plain Uint8Array (different string decoders).
        expect(decode(type, bytes)).toStrictEqual(value);
        expect(decode(type, Uint8Array.from(bytes))).toStrictEqual(value);
        // Ours -> protobufjs: same fields, numbers and values.
        expect(t.toObject(t.decode(bytes), reflectionView)).toEqual(toReflection(t, value));
        // protobufjs -> ours.
        const theirs = t.encode(t.fromObject(toReflection(t, value))).finish();
        expect(decode(type, theirs)).toStrictEqual(value);
        if (t.fieldsArray.length > 0) expect(bytes.length).toBeGreaterThan(0);
      }
    });
  }
});

describe('timestamps', () => {
  it('are exactly the version/ts/safe_point fields of kvrpcpb, schedulerpb and coprocessor, all bigint', () => {
    const looksLikeTimestamp = /(^|_)(version|ts)$|safe_point$/;
    const found: string[] = [];
    for (const pkg of ['kvrpcpb', 'schedulerpb', 'coprocessor']) {
      for (const type of WIRE_TYPE_NAMES.filter((n) => n.startsWith(`${pkg}.`))) {
        for (const f of reflect(type).fieldsArray) {
          if (LONG_TYPES.has(f.type) && looksLikeTimestamp.test(f.name)) found.push(`${type}.${f.name}`);
        }
      }
    }
    expect([...TIMESTAMP_FIELDS].sort()).toEqual(found.sort());
    for (const name of TIMESTAMP_FIELDS) {
      const type = name.slice(0, name.lastIndexOf('.')) as WireTypeName;
      const field = camelCase(name.slice(name.lastIndexOf('.') + 1));
      expect((FACTORIES[type]() as unknown as Plain)[field], name).toBe(0n);
    }
  });

  it('counters such as metapb.RegionEpoch.version stay numbers', () => {
    expect(metapb.RegionEpoch().version).toBe(0);
    expect(kvrpcpb.PrewriteRequest().lockTtl).toBe(0);
  });

  it('keep all 64 bits: 2^63-1 and 2^64-1 survive exactly', () => {
    for (const ts of [I64_MAX, U64_MAX, (1712345678901n << 18n) | 12345n, 1n]) {
      const req = kvrpcpb.CommitRequest({ startVersion: ts, commitVersion: ts, keys: [new Uint8Array([1])] });
      const back = decode('kvrpcpb.CommitRequest', encode('kvrpcpb.CommitRequest', req));
      expect(back.startVersion).toBe(ts);
      expect(back.commitVersion).toBe(ts);
    }
  });

  it('outside 0..2^64-1, or not a bigint, are refused on encode', () => {
    const type = 'kvrpcpb.PrewriteRequest';
    expectWireError(() => encode(type, kvrpcpb.PrewriteRequest({ startVersion: 1n << 64n })), type, 'start_version', /bigint/);
    expectWireError(() => encode(type, kvrpcpb.PrewriteRequest({ startVersion: -1n })), type, 'start_version');
    expectWireError(() => enc(type, { ...kvrpcpb.PrewriteRequest(), startVersion: 5 }), type, 'start_version', /got 5/);
  });
});

describe('number fields', () => {
  it('refuse to decode a 64-bit value above Number.MAX_SAFE_INTEGER, naming type and field', () => {
    const t = reflect('kvrpcpb.Context');
    const ok = t.encode(t.fromObject({ region_id: String(Number.MAX_SAFE_INTEGER) })).finish();
    expect(decode('kvrpcpb.Context', ok).regionId).toBe(Number.MAX_SAFE_INTEGER);
    for (const big of [2n ** 53n, 2n ** 53n + 1n, U64_MAX]) {
      const bytes = t.encode(t.fromObject({ region_id: big.toString() })).finish();
      expectWireError(() => decode('kvrpcpb.Context', bytes), 'kvrpcpb.Context', 'region_id', new RegExp(`${big}.*MAX_SAFE_INTEGER`));
    }
    // Nested: the error names the inner type and field.
    const raft = reflect('eraftpb.Message');
    const nested = reflect('raft_serverpb.RaftMessage');
    const bytes = nested.encode(nested.fromObject({ message: raft.toObject(raft.fromObject({ term: (2n ** 60n).toString() })) })).finish();
    expectWireError(() => decode('raft_serverpb.RaftMessage', bytes), 'eraftpb.Message', 'term');
  });

  it('refuse to decode a signed 64-bit value below -MAX_SAFE_INTEGER', () => {
    const t = reflect('coprocessor.Request');
    const bytes = t.encode(t.fromObject({ tp: (-(2n ** 53n)).toString() })).finish();
    expectWireError(() => decode('coprocessor.Request', bytes), 'coprocessor.Request', 'tp');
    const fine = t.encode(t.fromObject({ tp: '-9007199254740991' })).finish();
    expect(decode('coprocessor.Request', fine).tp).toBe(-9007199254740991);
  });

  it('refuse to encode values that do not fit, naming type and field', () => {
    const ctx = (init: Partial<kvrpcpb.Context>) => () => encode('kvrpcpb.Context', kvrpcpb.Context(init));
    expectWireError(ctx({ regionId: 2 ** 53 }), 'kvrpcpb.Context', 'region_id');
    expectWireError(ctx({ regionId: 1.5 }), 'kvrpcpb.Context', 'region_id', /1\.5/);
    expectWireError(ctx({ regionId: -1 }), 'kvrpcpb.Context', 'region_id', /-1/);
    expectWireError(ctx({ regionId: Number.NaN }), 'kvrpcpb.Context', 'region_id', /NaN/);
    expectWireError(ctx({ regionId: Infinity }), 'kvrpcpb.Context', 'region_id');
    expectWireError(() => enc('kvrpcpb.Context', { ...kvrpcpb.Context(), term: '7' }), 'kvrpcpb.Context', 'term', /"7"/);
    expectWireError(() => enc('kvrpcpb.Context', { ...kvrpcpb.Context(), term: 7n }), 'kvrpcpb.Context', 'term');
    const scan = (limit: number) => () => encode('kvrpcpb.RawScanRequest', kvrpcpb.RawScanRequest({ limit }));
    expectWireError(scan(2 ** 32), 'kvrpcpb.RawScanRequest', 'limit');
    expectWireError(scan(-1), 'kvrpcpb.RawScanRequest', 'limit');
    const sched = (limit: number) => () => encode('schedulerpb.ScanRegionsRequest', { ...FACTORIES['schedulerpb.ScanRegionsRequest'](), limit });
    expect(decode('schedulerpb.ScanRegionsRequest', sched(-5)()).limit).toBe(-5);
    expectWireError(sched(2 ** 31), 'schedulerpb.ScanRegionsRequest', 'limit');
    // A repeated number field checks each item.
    expectWireError(() => encode('eraftpb.ConfState', { nodes: [1, 2.5] }), 'eraftpb.ConfState', 'nodes', /2\.5/);
  });

  it('refuse wrong kinds of values for other fields', () => {
    expectWireError(() => enc('kvrpcpb.RawPutRequest', { ...kvrpcpb.RawPutRequest(), key: 'abc' }), 'kvrpcpb.RawPutRequest', 'key', /Uint8Array/);
    expectWireError(() => enc('kvrpcpb.RawPutRequest', { ...kvrpcpb.RawPutRequest(), cf: 3 }), 'kvrpcpb.RawPutRequest', 'cf');
    expectWireError(() => enc('kvrpcpb.RawPutRequest', { ...kvrpcpb.RawPutRequest(), context: 5 }), 'kvrpcpb.RawPutRequest', 'context');
    expectWireError(() => enc('kvrpcpb.RawPutRequest', { ...kvrpcpb.RawPutRequest(), key: undefined }), 'kvrpcpb.RawPutRequest', 'key');
    expectWireError(() => enc('eraftpb.Message', { ...FACTORIES['eraftpb.Message'](), entries: {} }), 'eraftpb.Message', 'entries');
    expectWireError(() => enc('eraftpb.Message', { ...FACTORIES['eraftpb.Message'](), entries: [null] }), 'eraftpb.Message', 'entries');
    expectWireError(() => enc('eraftpb.Message', { ...FACTORIES['eraftpb.Message'](), reject: 1 }), 'eraftpb.Message', 'reject');
    expectWireError(() => enc('eraftpb.Message', { ...FACTORIES['eraftpb.Message'](), msgType: 1.5 }), 'eraftpb.Message', 'msg_type');
    expectWireError(() => enc('eraftpb.Message', null), 'eraftpb.Message');
    expectWireError(() => enc('no.SuchType' as WireTypeName, {}), 'no.SuchType', undefined, /unknown message type/);
    expectWireError(() => decode('no.SuchType' as WireTypeName, new Uint8Array(0)), 'no.SuchType');
  });
});

describe('malformed bytes', () => {
  const full = (type: WireTypeName) => enc(type, sample(reflect(type), 'b'));

  it('a length running past the end, a truncated varint, a bad wire type, field number 0', () => {
    const T = 'kvrpcpb.RawPutRequest';
    expectWireError(() => decode(T, new Uint8Array([0x12, 0x0a, 0x61])), T, undefined, /malformed/);
    expectWireError(() => decode(T, new Uint8Array([0x12, 0xff, 0xff])), T, undefined, /malformed/);
    expectWireError(() => decode(T, new Uint8Array([0x0f, 0x00])), T, undefined, /wire type/);
    expectWireError(() => decode(T, new Uint8Array([0x00, 0x00])), T, undefined, /field number 0/);
    // Field 2 (key) is bytes; sent as a varint it is not a valid RawPutRequest.
    expectWireError(() => decode(T, new Uint8Array([0x10, 0x01])), T, undefined, /wire type/);
  });

  it('a nested message claiming more bytes than its parent holds', () => {
    // RaftMessage.message (field 4) of length 3 that contains Message.entries (field 7) of length 10.
    const bytes = new Uint8Array([0x22, 0x03, 0x3a, 0x0a, 0x00]);
    expectWireError(() => decode('raft_serverpb.RaftMessage', bytes), 'raft_serverpb.RaftMessage', undefined, /malformed/);
  });

  it('every truncation and many corruptions of a full message decode or throw WireError, nothing else', () => {
    for (const type of ['eraftpb.Message', 'kvrpcpb.PrewriteRequest', 'schedulerpb.RegionHeartbeatResponse'] as const) {
      const bytes = full(type);
      let failures = 0;
      for (let cut = 0; cut < bytes.length; cut++) {
        try {
          decode(type, bytes.subarray(0, cut));
        } catch (err) {
          expect(err).toBeInstanceOf(WireError);
          failures++;
        }
      }
      expect(failures).toBeGreaterThan(0);
      // Deterministic corruptions: overwrite one byte at a time with a few values.
      for (let pos = 0; pos < bytes.length; pos++) {
        for (const v of [0x00, 0x07, 0x80, 0xff]) {
          const bad = Uint8Array.from(bytes);
          bad[pos] = v;
          try {
            decode(type, bad);
          } catch (err) {
            expect(err).toBeInstanceOf(WireError);
          }
        }
      }
    }
  });

  it('unknown fields are skipped, so newer peers can add fields', () => {
    const known = encode('kvrpcpb.RawGetRequest', kvrpcpb.RawGetRequest({ key: new Uint8Array([7]), cf: 'lock' }));
    // Field 15 varint, field 16 bytes, field 17 fixed32, field 18 fixed64.
    const extra = new Uint8Array([0x78, 0x05, 0x82, 0x01, 0x01, 0x09, 0x8d, 0x01, 1, 2, 3, 4, 0x91, 0x01, 1, 2, 3, 4, 5, 6, 7, 8]);
    const bytes = new Uint8Array([...known, ...extra]);
    expect(decode('kvrpcpb.RawGetRequest', bytes)).toStrictEqual(kvrpcpb.RawGetRequest({ key: new Uint8Array([7]), cf: 'lock' }));
  });

  it('packed and unpacked repeated numbers are both accepted', () => {
    const packed = new Uint8Array([0x0a, 0x03, 1, 2, 3]);
    const unpacked = new Uint8Array([0x08, 1, 0x08, 2, 0x08, 3]);
    expect(decode('eraftpb.ConfState', packed).nodes).toEqual([1, 2, 3]);
    expect(decode('eraftpb.ConfState', unpacked).nodes).toEqual([1, 2, 3]);
  });

  it('decoded bytes do not alias the input', () => {
    const input = Uint8Array.from(encode('kvrpcpb.RawPutRequest', kvrpcpb.RawPutRequest({ value: new Uint8Array([1, 2, 3]) })));
    const req = decode('kvrpcpb.RawPutRequest', input);
    input.fill(0);
    expect(Array.from(req.value)).toEqual([1, 2, 3]);
  });
});

describe('factories', () => {
  function expectedDefaults(t: protobuf.Type): Plain {
    const out: Plain = {};
    for (const f of t.fieldsArray) {
      let v: unknown;
      if (f.repeated) v = [];
      else if (f.resolvedType instanceof protobuf.Type) v = undefined;
      else if (f.resolvedType instanceof protobuf.Enum) v = 0;
      else if (LONG_TYPES.has(f.type)) v = isTimestamp(t, f) ? 0n : 0;
      else if (f.type === 'bool') v = false;
      else if (f.type === 'string') v = '';
      else if (f.type === 'bytes') v = new Uint8Array(0);
      else v = 0;
      out[camelCase(f.name)] = v;
    }
    return out;
  }

  for (const type of WIRE_TYPE_NAMES) {
    it(`${type}: fills every field with its default; decoding empty bytes gives the same; defaults encode to nothing`, () => {
      const t = reflect(type);
      const make = FACTORIES[type] as (init?: Plain) => Plain;
      expect(make()).toStrictEqual(expectedDefaults(t));
      expect(decode(type, new Uint8Array(0))).toStrictEqual(make());
      expect(enc(type, make()).length).toBe(0);
      const full = sample(t, 'a');
      expect(make(full)).toStrictEqual(full);
      // Fresh arrays each call, so one message's list is never shared with another's.
      const r1 = t.fieldsArray.find((f) => f.repeated);
      if (r1) expect(make()[camelCase(r1.name)]).not.toBe(make()[camelCase(r1.name)]);
    });
  }
});

describe('generated files', () => {
  it('proto/gen matches what proto/codegen.ts would write now', () => {
    expect(staleFiles()).toEqual([]);
  });
});

describe('gRPC definitions', () => {
  it('every method of TinyKv and Scheduler has a definition with the right path and streaming flags', () => {
    expect([...SERVICE_NAMES].sort()).toEqual(['schedulerpb.Scheduler', 'tinykvpb.TinyKv']);
    for (const service of SERVICE_NAMES) {
      const svc = root.lookupService(service);
      const def = serviceDefinition(service) as Record<string, { path: string; requestStream: boolean; responseStream: boolean; requestSerialize: (v: unknown) => Buffer; requestDeserialize: (b: Buffer) => unknown; responseSerialize: (v: unknown) => Buffer; responseDeserialize: (b: Buffer) => unknown }>;
      expect(Object.keys(def).sort()).toEqual(svc.methodsArray.map((m) => m.name).sort());
      expect([...methodNames(service)].sort()).toEqual(Object.keys(def).sort());
      for (const m of svc.methodsArray) {
        const d = def[m.name]!;
        expect(d.path).toBe(`/${service}/${m.name}`);
        expect(d.requestStream).toBe(Boolean(m.requestStream));
        expect(d.responseStream).toBe(Boolean(m.responseStream));
        const info = (methodTable(service) as Record<string, { requestType: string; responseType: string }>)[m.name]!;
        expect(info.requestType).toBe(wireName(m.resolvedRequestType!));
        expect(info.responseType).toBe(wireName(m.resolvedResponseType!));
        // Serializers go through the codec: a full sample survives both ways.
        const req = sample(m.resolvedRequestType!, 'b');
        const res = sample(m.resolvedResponseType!, 'a');
        const reqBuf = d.requestSerialize(req);
        expect(Buffer.isBuffer(reqBuf)).toBe(true);
        expect(d.requestDeserialize(reqBuf)).toStrictEqual(req);
        expect(d.responseDeserialize(d.responseSerialize(res))).toStrictEqual(res);
      }
    }
  });

  it('streaming flags match TinyKV: Raft and Snapshot stream requests, Tso and RegionHeartbeat are bidirectional', () => {
    const kv = methodTable('tinykvpb.TinyKv');
    expect([kv.Raft.requestStream, kv.Raft.responseStream]).toEqual([true, false]);
    expect([kv.Snapshot.requestStream, kv.Snapshot.responseStream]).toEqual([true, false]);
    expect([kv.RawPut.requestStream, kv.RawPut.responseStream]).toEqual([false, false]);
    const sched = methodTable('schedulerpb.Scheduler');
    expect([sched.Tso.requestStream, sched.Tso.responseStream]).toEqual([true, true]);
    expect([sched.RegionHeartbeat.requestStream, sched.RegionHeartbeat.responseStream]).toEqual([true, true]);
    expect(sched.GetPrevRegion.responseType).toBe('schedulerpb.GetRegionResponse');
  });
});
