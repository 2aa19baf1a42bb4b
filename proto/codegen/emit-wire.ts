// Writes proto/gen/wire.ts: one encode and one decode function per message, as straight-line code.
// Encoders skip proto3 defaults (as Go's marshaler does) and check every value; decoders build plain
// objects with every default filled, converting 64-bit values to number or bigint as the model says.

import { generatedHeader } from './emit-types.ts';
import type { FieldModel, MessageModel, PackageModel, ScalarType } from './schema.ts';

interface ScalarCodec {
  wireType: number;
  /** protobufjs Writer/Reader method name. */
  method: string;
  /** Check applied before writing (numbers) or the converter used for bigint fields. */
  check: string;
  /** Only for 64-bit types. */
  signed?: boolean;
}

const SCALAR: Record<ScalarType, ScalarCodec> = {
  double: { wireType: 1, method: 'double', check: 'checkDouble' },
  float: { wireType: 5, method: 'float', check: 'checkDouble' },
  int32: { wireType: 0, method: 'int32', check: 'checkInt32' },
  uint32: { wireType: 0, method: 'uint32', check: 'checkUint32' },
  sint32: { wireType: 0, method: 'sint32', check: 'checkInt32' },
  fixed32: { wireType: 5, method: 'fixed32', check: 'checkUint32' },
  sfixed32: { wireType: 5, method: 'sfixed32', check: 'checkInt32' },
  int64: { wireType: 0, method: 'int64', check: 'checkInt64', signed: true },
  uint64: { wireType: 0, method: 'uint64', check: 'checkUint64', signed: false },
  sint64: { wireType: 0, method: 'sint64', check: 'checkInt64', signed: true },
  fixed64: { wireType: 1, method: 'fixed64', check: 'checkUint64', signed: false },
  sfixed64: { wireType: 1, method: 'sfixed64', check: 'checkInt64', signed: true },
  bool: { wireType: 0, method: 'bool', check: 'checkBool' },
  string: { wireType: 2, method: 'string', check: 'checkString' },
  bytes: { wireType: 2, method: 'bytes', check: 'checkBytes' },
};

const RUNTIME_NAMES = [
  'EMPTY_BYTES', 'Reader', 'Writer',
  'checkBool', 'checkBytes', 'checkDouble', 'checkEnd', 'checkEnum', 'checkInt32', 'checkInt64', 'checkList',
  'checkMessage', 'checkString', 'checkUint32', 'checkUint64', 'i64ToBigint', 'i64ToNumber', 'int64FromBigint',
  'readBytes', 'readString', 'skipField', 'subEnd', 'u64ToBigint', 'u64ToNumber', 'uint64FromBigint',
];

function fnSuffix(wireName: string): string {
  return wireName.replace(/\./g, '_');
}

function tsType(m: MessageModel): string {
  return `${m.ref.pkg}.${m.ref.tsName}`;
}

function tag(f: FieldModel, wireType: number): number {
  return ((f.number << 3) | wireType) >>> 0;
}

/** Scalars and enums that proto3 packs when repeated. */
function packable(f: FieldModel): boolean {
  if (f.type.kind === 'enum') return true;
  return f.type.kind === 'scalar' && f.type.scalar !== 'string' && f.type.scalar !== 'bytes';
}

/** Expression that checks `v` and yields what the writer method takes. */
function checkedValue(f: FieldModel, v: string, T = 'T'): { method: string; expr: string } {
  const t = f.type;
  const name = `'${f.protoName}'`;
  if (t.kind === 'enum') return { method: 'int32', expr: `checkEnum(${v}, ${T}, ${name})` };
  if (t.kind === 'message') throw new Error('checkedValue: message field');
  const s = SCALAR[t.scalar];
  if (t.bigint) {
    const conv = s.signed ? 'int64FromBigint' : 'uint64FromBigint';
    return { method: s.method, expr: `${conv}(${v}, ${T}, ${name})` };
  }
  return { method: s.method, expr: `${s.check}(${v}, ${T}, ${name})` };
}

function wireTypeOf(f: FieldModel): number {
  if (f.type.kind === 'message') return 2;
  if (f.type.kind === 'enum') return 0;
  return SCALAR[f.type.scalar].wireType;
}

/** The condition under which a singular field differs from its proto3 default and must be written. */
function notDefault(f: FieldModel, v: string): string {
  const t = f.type;
  if (t.kind === 'enum') return `${v} !== 0`;
  if (t.kind === 'message') return `${v} != null`;
  switch (t.scalar) {
    case 'bool': return `${v} !== false`;
    case 'string': return `${v} !== ''`;
    case 'bytes': return `checkBytes(${v}, T, '${f.protoName}').length !== 0`;
    default: return t.bigint ? `${v} !== 0n` : `${v} !== 0`;
  }
}

function emitEncoder(m: MessageModel): string {
  const fn = `encode_${fnSuffix(m.ref.wireName)}`;
  const lines: string[] = [];
  lines.push(`function ${fn}(m: ${tsType(m)}, w: Writer): void {`);
  if (m.fields.length === 0) {
    lines.push('  void m;', '  void w;', '}');
    return lines.join('\n') + '\n';
  }
  lines.push(`  const T = '${m.ref.wireName}';`);
  // Field-number order, as protoc-generated marshalers write.
  const byNumber = [...m.fields].sort((a, b) => a.number - b.number);
  for (const f of byNumber) {
    const v = `m.${f.jsName}`;
    const name = `'${f.protoName}'`;
    if (f.type.kind === 'message') {
      const sub = `encode_${fnSuffix(f.type.ref.wireName)}`;
      if (f.repeated) {
        const a = `f${f.number}`;
        lines.push(`  const ${a} = checkList(${v}, T, ${name});`);
        lines.push(`  for (let i = 0; i < ${a}.length; i++) {`);
        lines.push(`    w.uint32(${tag(f, 2)}).fork();`);
        lines.push(`    ${sub}(checkMessage(${a}[i], T, ${name}), w);`);
        lines.push('    w.ldelim();');
        lines.push('  }');
      } else {
        lines.push(`  if (${v} != null) {`);
        lines.push(`    w.uint32(${tag(f, 2)}).fork();`);
        lines.push(`    ${sub}(checkMessage(${v}, T, ${name}), w);`);
        lines.push('    w.ldelim();');
        lines.push('  }');
      }
      continue;
    }
    if (f.repeated) {
      const a = `f${f.number}`;
      const { method, expr } = checkedValue(f, `${a}[i]`);
      lines.push(`  const ${a} = checkList(${v}, T, ${name});`);
      if (packable(f)) {
        lines.push(`  if (${a}.length !== 0) {`);
        lines.push(`    w.uint32(${tag(f, 2)}).fork();`);
        lines.push(`    for (let i = 0; i < ${a}.length; i++) w.${method}(${expr});`);
        lines.push('    w.ldelim();');
        lines.push('  }');
      } else {
        lines.push(`  for (let i = 0; i < ${a}.length; i++) w.uint32(${tag(f, wireTypeOf(f))}).${method}(${expr});`);
      }
      continue;
    }
    const { method, expr } = checkedValue(f, v);
    if (f.type.kind === 'scalar' && f.type.scalar === 'bytes') {
      // notDefault already checked the value.
      lines.push(`  if (${notDefault(f, v)}) w.uint32(${tag(f, 2)}).bytes(${v});`);
    } else {
      lines.push(`  if (${notDefault(f, v)}) w.uint32(${tag(f, wireTypeOf(f))}).${method}(${expr});`);
    }
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

/** Expression that reads one value of the field from `r` (the reader is positioned at the value). */
function readValue(f: FieldModel): string {
  const t = f.type;
  if (t.kind === 'enum') return 'r.int32()';
  if (t.kind === 'message') return `decode_${fnSuffix(t.ref.wireName)}(r, subEnd(r, end))`;
  const s = SCALAR[t.scalar];
  if (t.scalar === 'string') return 'readString(r, end)';
  if (t.scalar === 'bytes') return 'readBytes(r, end)';
  if (s.signed === undefined) return `r.${s.method}()`;
  if (t.bigint) return `${s.signed ? 'i64ToBigint' : 'u64ToBigint'}(r.${s.method}())`;
  return `${s.signed ? 'i64ToNumber' : 'u64ToNumber'}(r.${s.method}(), T, '${f.protoName}')`;
}

function decodedDefault(f: FieldModel): string {
  if (f.repeated) return '[]';
  const t = f.type;
  if (t.kind === 'message') return 'undefined';
  if (t.kind === 'enum') return `${t.ref.pkg}.${t.ref.tsName}.${t.zeroMember}`;
  switch (t.scalar) {
    case 'bool': return 'false';
    case 'string': return "''";
    case 'bytes': return 'EMPTY_BYTES';
    default: return t.bigint ? '0n' : '0';
  }
}

function emitDecoder(m: MessageModel): string {
  const id = fnSuffix(m.ref.wireName);
  const lines: string[] = [];
  lines.push(`const KNOWN_${id}: ReadonlySet<number> = new Set([${m.fields.map((f) => f.number).join(', ')}]);`);
  lines.push(`function decode_${id}(r: Reader, end: number): ${tsType(m)} {`);
  if (m.fields.some((f) => f.type.kind === 'scalar' && SCALAR[f.type.scalar].signed !== undefined && !f.type.bigint)) {
    lines.push(`  const T = '${m.ref.wireName}';`);
  }
  if (m.fields.length === 0) {
    lines.push(`  const m: ${tsType(m)} = {};`);
  } else {
    lines.push(`  const m: ${tsType(m)} = {`);
    for (const f of m.fields) lines.push(`    ${f.jsName}: ${decodedDefault(f)},`);
    lines.push('  };');
  }
  lines.push('  while (r.pos < end) {');
  lines.push('    const tag = r.uint32();');
  lines.push('    switch (tag) {');
  for (const f of m.fields) {
    const target = `m.${f.jsName}`;
    const read = readValue(f);
    if (!f.repeated) {
      lines.push(`      case ${tag(f, wireTypeOf(f))}: ${target} = ${read}; break;`);
    } else if (packable(f)) {
      lines.push(`      case ${tag(f, wireTypeOf(f))}: ${target}.push(${read}); break;`);
      lines.push(`      case ${tag(f, 2)}: {`);
      lines.push('        const stop = subEnd(r, end);');
      lines.push(`        while (r.pos < stop) ${target}.push(${read});`);
      lines.push('        checkEnd(r, stop);');
      lines.push('        break;');
      lines.push('      }');
    } else {
      lines.push(`      case ${tag(f, wireTypeOf(f))}: ${target}.push(${read}); break;`);
    }
  }
  lines.push(`      default: skipField(r, tag, KNOWN_${id});`);
  lines.push('    }');
  lines.push('  }');
  lines.push('  checkEnd(r, end);');
  lines.push('  return m;');
  lines.push('}');
  return lines.join('\n') + '\n';
}

export function emitWire(packages: PackageModel[]): string {
  const messages: MessageModel[] = [];
  for (const p of packages) for (const d of p.decls) if (d.what === 'message') messages.push(d.message);
  const pkgsWithMessages = packages.filter((p) => p.decls.some((d) => d.what === 'message' || d.what === 'enum'));

  const body: string[] = [];
  for (const m of messages) {
    body.push(emitEncoder(m));
    body.push(emitDecoder(m));
  }
  const bodyText = body.join('\n');
  // Import only the helpers the code uses.
  const used = RUNTIME_NAMES.filter((n) => n === 'Reader' || n === 'Writer' || new RegExp(`\\b${n}\\b`).test(bodyText));

  const out: string[] = [generatedHeader('the .proto files in proto/')];
  out.push('// Encoders and decoders for every message. Use proto/codec.ts (encode/decode) rather than these directly.\n');
  out.push(`import {\n${used.map((n) => `  ${n},`).join('\n')}\n} from '../wire-runtime.ts';`);
  out.push(`import type { WireTypeName, WireTypes } from './registry.ts';`);
  out.push(pkgsWithMessages.map((p) => `import * as ${p.name} from './${p.name}.ts';`).join('\n') + '\n');
  out.push(bodyText);

  out.push('/** Writes the fields of a message of the named type into the writer. */');
  out.push('export const ENCODERS: { readonly [K in WireTypeName]: (m: WireTypes[K], w: Writer) => void } = {');
  for (const m of messages) out.push(`  '${m.ref.wireName}': encode_${fnSuffix(m.ref.wireName)},`);
  out.push('};\n');
  out.push('/** Reads a message of the named type from r.pos up to `end`. */');
  out.push('export const DECODERS: { readonly [K in WireTypeName]: (r: Reader, end: number) => WireTypes[K] } = {');
  for (const m of messages) out.push(`  '${m.ref.wireName}': decode_${fnSuffix(m.ref.wireName)},`);
  out.push('};');
  return out.join('\n') + '\n';
}
