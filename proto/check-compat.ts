// Compares our .proto files with another set (TinyKV's) and prints every difference that matters on the
// wire or to a client: packages, messages, fields (name, number, type, label), enum values, services,
// methods and their streaming flags. Comments and gogoproto options are ignored.
//
//   npx tsx proto/check-compat.ts <dir-with-tinykv-protos>
//
// Exit status: 0 when there is no difference, 1 when there are differences, 2 on usage or load errors.
// gogoproto imports are satisfied by an empty stub written to a temporary directory.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import protobuf from 'protobufjs';
import { loadProtoDir } from './codegen/schema.ts';

interface FieldShape { number: number; type: string; label: string }
interface MethodShape { request: string; response: string; requestStream: boolean; responseStream: boolean }

/** The parts of a set of .proto files that a peer on the wire can observe. */
interface Shape {
  files: Map<string, { package: string; syntax: string }>;
  packages: Set<string>;
  messages: Map<string, { fields: Map<string, FieldShape>; reserved: string[] }>;
  enums: Map<string, Map<string, number>>;
  services: Map<string, Map<string, MethodShape>>;
}

const GOGO_STUB = 'syntax = "proto2";\npackage gogoproto;\n';

function withGogoStub<T>(fn: (stubDir: string) => T): T {
  const stubDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinykv-gogo-stub-'));
  try {
    fs.mkdirSync(path.join(stubDir, 'gogoproto'));
    fs.writeFileSync(path.join(stubDir, 'gogoproto', 'gogo.proto'), GOGO_STUB);
    return fn(stubDir);
  } finally {
    fs.rmSync(stubDir, { recursive: true, force: true });
  }
}

function typeName(obj: protobuf.ReflectionObject): string {
  return obj.fullName.replace(/^\./, '');
}

function labelOf(f: protobuf.Field): string {
  if (f.map) return 'map';
  if (f.repeated) return 'repeated';
  if (f.required) return 'required';
  if (f.partOf) return f.partOf.name.startsWith('_') ? 'proto3-optional' : `oneof ${f.partOf.name}`;
  return 'singular';
}

function shapeOf(dir: string, stubDir: string): Shape {
  const root = loadProtoDir(dir, [stubDir]);
  const shape: Shape = { files: new Map(), packages: new Set(), messages: new Map(), enums: new Map(), services: new Map() };
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.proto')).sort()) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    const pkg = /^\s*package\s+([\w.]+)\s*;/m.exec(text)?.[1] ?? '';
    const syntax = /^\s*syntax\s*=\s*"(\w+)"\s*;/m.exec(text)?.[1] ?? 'proto2';
    shape.files.set(file, { package: pkg, syntax });
  }
  const visit = (obj: protobuf.ReflectionObject): void => {
    if (obj.filename && path.basename(path.dirname(obj.filename)) === 'gogoproto') return;
    if (obj instanceof protobuf.Type) {
      const fields = new Map<string, FieldShape>();
      for (const f of obj.fieldsArray) {
        const type = f.resolvedType ? typeName(f.resolvedType) : f.type;
        fields.set(f.name, { number: f.id, type, label: labelOf(f) });
      }
      const reserved = (obj.reserved ?? []).map((r) => (typeof r === 'string' ? `"${r}"` : `${r[0]} to ${r[1]}`)).sort();
      shape.messages.set(typeName(obj), { fields, reserved });
    } else if (obj instanceof protobuf.Enum) {
      shape.enums.set(typeName(obj), new Map(Object.entries(obj.values)));
    } else if (obj instanceof protobuf.Service) {
      const methods = new Map<string, MethodShape>();
      for (const m of obj.methodsArray) {
        methods.set(m.name, {
          request: m.resolvedRequestType ? typeName(m.resolvedRequestType) : m.requestType,
          response: m.resolvedResponseType ? typeName(m.resolvedResponseType) : m.responseType,
          requestStream: Boolean(m.requestStream),
          responseStream: Boolean(m.responseStream),
        });
      }
      shape.services.set(typeName(obj), methods);
    }
    if (obj instanceof protobuf.Namespace) {
      if (!(obj instanceof protobuf.Type) && !(obj instanceof protobuf.Service) && !(obj instanceof protobuf.Root)) {
        const declaresSomething = obj.nestedArray.some((n) => !(n instanceof protobuf.Namespace) || n instanceof protobuf.Type || n instanceof protobuf.Service);
        if (declaresSomething) shape.packages.add(typeName(obj));
      }
      for (const n of obj.nestedArray) visit(n);
    }
  };
  visit(root);
  return shape;
}

/** Lines describing how `theirs` differs from `ours`; empty when they agree. */
function compare(ours: Shape, theirs: Shape): string[] {
  const out: string[] = [];
  const keys = <K>(a: Map<K, unknown> | Set<K>, b: Map<K, unknown> | Set<K>): K[] =>
    [...new Set([...a.keys(), ...b.keys()])].sort();
  const presence = (what: string, name: string, inOurs: boolean, inTheirs: boolean): boolean => {
    if (inOurs && inTheirs) return true;
    out.push(`${what} ${name}: only in ${inOurs ? 'ours' : 'theirs'}`);
    return false;
  };

  for (const file of keys(ours.files, theirs.files)) {
    const a = ours.files.get(file);
    const b = theirs.files.get(file);
    if (!presence('file', file, a !== undefined, b !== undefined) || !a || !b) continue;
    if (a.package !== b.package) out.push(`file ${file}: package ${a.package} (ours) vs ${b.package} (theirs)`);
    if (a.syntax !== b.syntax) out.push(`file ${file}: syntax ${a.syntax} (ours) vs ${b.syntax} (theirs)`);
  }
  for (const pkg of keys(ours.packages, theirs.packages)) {
    presence('package', pkg, ours.packages.has(pkg), theirs.packages.has(pkg));
  }
  for (const name of keys(ours.messages, theirs.messages)) {
    const a = ours.messages.get(name);
    const b = theirs.messages.get(name);
    if (!presence('message', name, a !== undefined, b !== undefined) || !a || !b) continue;
    for (const field of keys(a.fields, b.fields)) {
      const fa = a.fields.get(field);
      const fb = b.fields.get(field);
      if (!presence('field', `${name}.${field}`, fa !== undefined, fb !== undefined) || !fa || !fb) continue;
      for (const prop of ['number', 'type', 'label'] as const) {
        if (fa[prop] !== fb[prop]) out.push(`field ${name}.${field}: ${prop} ${fa[prop]} (ours) vs ${fb[prop]} (theirs)`);
      }
    }
    if (a.reserved.join(',') !== b.reserved.join(',')) {
      out.push(`message ${name}: reserved [${a.reserved.join(', ')}] (ours) vs [${b.reserved.join(', ')}] (theirs)`);
    }
  }
  for (const name of keys(ours.enums, theirs.enums)) {
    const a = ours.enums.get(name);
    const b = theirs.enums.get(name);
    if (!presence('enum', name, a !== undefined, b !== undefined) || !a || !b) continue;
    for (const value of keys(a, b)) {
      const va = a.get(value);
      const vb = b.get(value);
      if (!presence('enum value', `${name}.${value}`, va !== undefined, vb !== undefined)) continue;
      if (va !== vb) out.push(`enum value ${name}.${value}: ${va} (ours) vs ${vb} (theirs)`);
    }
  }
  for (const name of keys(ours.services, theirs.services)) {
    const a = ours.services.get(name);
    const b = theirs.services.get(name);
    if (!presence('service', name, a !== undefined, b !== undefined) || !a || !b) continue;
    for (const method of keys(a, b)) {
      const ma = a.get(method);
      const mb = b.get(method);
      if (!presence('method', `${name}/${method}`, ma !== undefined, mb !== undefined) || !ma || !mb) continue;
      for (const prop of ['request', 'response', 'requestStream', 'responseStream'] as const) {
        if (ma[prop] !== mb[prop]) out.push(`method ${name}/${method}: ${prop} ${ma[prop]} (ours) vs ${mb[prop]} (theirs)`);
      }
    }
  }
  return out;
}

/** Differences between the .proto files in `oursDir` and `theirsDir`, one line each. */
export function compatDifferences(oursDir: string, theirsDir: string): string[] {
  return withGogoStub((stubDir) => compare(shapeOf(oursDir, stubDir), shapeOf(theirsDir, stubDir)));
}

/** Counts of what was compared, for the summary line. */
function summary(dir: string): string {
  return withGogoStub((stubDir) => {
    const s = shapeOf(dir, stubDir);
    let fields = 0;
    for (const m of s.messages.values()) fields += m.fields.size;
    let methods = 0;
    for (const sv of s.services.values()) methods += sv.size;
    return `${s.files.size} files, ${s.packages.size} packages, ${s.messages.size} messages, ${fields} fields, ` +
      `${s.enums.size} enums, ${s.services.size} services, ${methods} methods`;
  });
}

function main(argv: string[]): number {
  const theirs = argv[0];
  if (!theirs || !fs.existsSync(theirs) || !fs.statSync(theirs).isDirectory()) {
    console.error('usage: npx tsx proto/check-compat.ts <dir-with-tinykv-protos>');
    return 2;
  }
  const ours = path.dirname(fileURLToPath(import.meta.url));
  let diffs: string[];
  try {
    diffs = compatDifferences(ours, theirs);
  } catch (err) {
    console.error(`cannot load the .proto files: ${(err as Error).message}`);
    return 2;
  }
  console.log(`ours:   ${summary(ours)}`);
  console.log(`theirs: ${summary(theirs)}`);
  if (diffs.length === 0) {
    console.log('No differences.');
    return 0;
  }
  for (const d of diffs) console.log(d);
  console.log(`${diffs.length} difference(s).`);
  return 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
