// Loads .proto files with protobufjs and turns them into a small, plain model that the emitters walk.
// Only the generator uses this (at build time); the runtime codec never touches reflection.

import fs from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';

/** Proto scalar types we support (no maps, no groups). */
export type ScalarType =
  | 'double' | 'float'
  | 'int32' | 'uint32' | 'sint32' | 'fixed32' | 'sfixed32'
  | 'int64' | 'uint64' | 'sint64' | 'fixed64' | 'sfixed64'
  | 'bool' | 'string' | 'bytes';

const SCALARS = new Set<string>([
  'double', 'float', 'int32', 'uint32', 'sint32', 'fixed32', 'sfixed32',
  'int64', 'uint64', 'sint64', 'fixed64', 'sfixed64', 'bool', 'string', 'bytes',
]);

export const LONG_SCALARS = new Set<ScalarType>(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

/** A named type as generated code refers to it. */
export interface TypeRef {
  /** 'kvrpcpb.Context' (nested types: 'pkg.Outer_Inner'). */
  wireName: string;
  /** Package (module) it lives in. */
  pkg: string;
  /** Name inside its module: 'Context', 'Outer_Inner'. */
  tsName: string;
}

export type FieldKind =
  | { kind: 'scalar'; scalar: ScalarType; bigint: boolean }
  | { kind: 'enum'; ref: TypeRef; zeroMember: string }
  | { kind: 'message'; ref: TypeRef };

export interface FieldModel {
  /** The .proto name: 'start_version'. */
  protoName: string;
  /** The TypeScript property: 'startVersion'. */
  jsName: string;
  number: number;
  repeated: boolean;
  type: FieldKind;
  comment: string | null;
}

export interface MessageModel {
  ref: TypeRef;
  fields: FieldModel[];
  comment: string | null;
}

export interface EnumModel {
  ref: TypeRef;
  values: { name: string; number: number; comment: string | null }[];
  comment: string | null;
}

export interface MethodModel {
  name: string;
  requestType: string;
  responseType: string;
  requestStream: boolean;
  responseStream: boolean;
  comment: string | null;
}

export interface ServiceModel {
  pkg: string;
  name: string;
  methods: MethodModel[];
  comment: string | null;
}

/** Everything declared in one package, in declaration order. */
export interface PackageModel {
  name: string;
  /** The .proto file name, relative to the proto directory. */
  file: string;
  /** Enums and messages interleaved as declared (nested ones follow their parent). */
  decls: ({ what: 'enum'; enum: EnumModel } | { what: 'message'; message: MessageModel })[];
  services: ServiceModel[];
  /** Other packages whose types this one uses. */
  imports: string[];
}

export class SchemaError extends Error {
  override name = 'SchemaError';
}

/** protoc's JSON-name rule: drop each underscore and upper-case the letter after it. */
export function camelCase(protoName: string): string {
  return protoName.replace(/_+([a-zA-Z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * Loads every .proto in `dir`. Imports are looked up in `dir`, then in `extraDirs` (for stubs such as
 * gogoproto/gogo.proto). Comments written with // are kept so they can be carried into generated code.
 */
export function loadProtoDir(dir: string, extraDirs: string[] = []): protobuf.Root {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.proto')).sort();
  if (files.length === 0) throw new SchemaError(`no .proto files in ${dir}`);
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    if (path.isAbsolute(target)) return target;
    for (const base of [dir, ...extraDirs]) {
      const candidate = path.join(base, target);
      if (fs.existsSync(candidate)) return candidate;
    }
    return path.join(dir, target);
  };
  root.loadSync(files, { keepCase: true, alternateCommentMode: true });
  root.resolveAll();
  return root;
}

/** Walks up to the first enclosing plain namespace: the package. */
function packageOf(obj: protobuf.ReflectionObject): string {
  let p = obj.parent;
  while (p && (p instanceof protobuf.Type)) p = p.parent;
  if (!p || p instanceof protobuf.Root) throw new SchemaError(`${obj.fullName} is not inside a package`);
  return p.fullName.replace(/^\./, '');
}

/** Name inside its package, nested names joined with '_'. */
function flatName(obj: protobuf.ReflectionObject): string {
  const parts = [obj.name];
  let p = obj.parent;
  while (p instanceof protobuf.Type) {
    parts.unshift(p.name);
    p = p.parent;
  }
  return parts.join('_');
}

function refOf(obj: protobuf.ReflectionObject): TypeRef {
  const pkg = packageOf(obj);
  const tsName = flatName(obj);
  return { wireName: `${pkg}.${tsName}`, pkg, tsName };
}

function cleanComment(c: string | null | undefined): string | null {
  if (!c) return null;
  const text = c.trim();
  return text === '' ? null : text;
}

/** Builds the model of every package under `root`. `timestampFields` lists 'pkg.Msg.field' names carried as bigint. */
export function buildModel(root: protobuf.Root, protoDir: string, timestampFields: readonly string[]): PackageModel[] {
  const packages = new Map<string, PackageModel>();
  const unusedTimestamps = new Set(timestampFields);

  const pkgModel = (pkg: string, filename: string | null): PackageModel => {
    let m = packages.get(pkg);
    const file = filename ? path.relative(protoDir, filename) : '';
    if (!m) {
      m = { name: pkg, file, decls: [], services: [], imports: [] };
      packages.set(pkg, m);
    } else if (file && m.file && m.file !== file) {
      throw new SchemaError(`package ${pkg} is spread over ${m.file} and ${file}; keep one file per package`);
    }
    if (!m.file) m.file = file;
    return m;
  };
  const noteImport = (from: PackageModel, ref: TypeRef): void => {
    if (ref.pkg !== from.name && !from.imports.includes(ref.pkg)) from.imports.push(ref.pkg);
  };

  const visitEnum = (e: protobuf.Enum): void => {
    const ref = refOf(e);
    const pkg = pkgModel(ref.pkg, e.filename);
    const values = Object.entries(e.values).map(([name, number]) => ({
      name, number, comment: cleanComment(e.comments[name]),
    }));
    if (!values.some((v) => v.number === 0)) throw new SchemaError(`enum ${ref.wireName} has no zero value`);
    pkg.decls.push({ what: 'enum', enum: { ref, values, comment: cleanComment(e.comment) } });
  };

  const visitType = (t: protobuf.Type): void => {
    const ref = refOf(t);
    const pkg = pkgModel(ref.pkg, t.filename);
    const fields: FieldModel[] = [];
    for (const f of t.fieldsArray) {
      const where = `${ref.wireName}.${f.name}`;
      if (f.map) throw new SchemaError(`${where}: map fields are not supported`);
      if (f.partOf && !f.partOf.name.startsWith('_')) throw new SchemaError(`${where}: oneof is not supported`);
      if (f.required) throw new SchemaError(`${where}: required fields are not supported (proto3 only)`);
      let type: FieldKind;
      const resolved = f.resolvedType;
      if (resolved instanceof protobuf.Type) {
        type = { kind: 'message', ref: refOf(resolved) };
        noteImport(pkg, type.ref);
      } else if (resolved instanceof protobuf.Enum) {
        const eref = refOf(resolved);
        const zero = Object.entries(resolved.values).find(([, n]) => n === 0);
        if (!zero) throw new SchemaError(`${where}: enum ${eref.wireName} has no zero value`);
        type = { kind: 'enum', ref: eref, zeroMember: zero[0] };
        noteImport(pkg, eref);
      } else if (SCALARS.has(f.type)) {
        const scalar = f.type as ScalarType;
        const isTimestamp = unusedTimestamps.delete(where);
        if (isTimestamp && !LONG_SCALARS.has(scalar)) {
          throw new SchemaError(`${where} is listed in proto/timestamps.ts but is ${scalar}, not a 64-bit integer`);
        }
        type = { kind: 'scalar', scalar, bigint: isTimestamp };
      } else {
        throw new SchemaError(`${where}: cannot resolve type ${f.type}`);
      }
      fields.push({
        protoName: f.name,
        jsName: camelCase(f.name),
        number: f.id,
        repeated: f.repeated,
        type,
        comment: cleanComment(f.comment),
      });
    }
    const seen = new Set<string>();
    for (const f of fields) {
      if (seen.has(f.jsName)) throw new SchemaError(`${ref.wireName}: two fields map to the property ${f.jsName}`);
      seen.add(f.jsName);
    }
    pkg.decls.push({ what: 'message', message: { ref, fields, comment: cleanComment(t.comment) } });
    for (const nested of t.nestedArray) visit(nested);
  };

  const visitService = (s: protobuf.Service): void => {
    const pkgName = packageOf(s);
    const pkg = pkgModel(pkgName, s.filename);
    const methods: MethodModel[] = s.methodsArray.map((m) => {
      const req = m.resolvedRequestType;
      const res = m.resolvedResponseType;
      if (!req || !res) throw new SchemaError(`${s.fullName}.${m.name}: unresolved request or response type`);
      return {
        name: m.name,
        requestType: refOf(req).wireName,
        responseType: refOf(res).wireName,
        requestStream: Boolean(m.requestStream),
        responseStream: Boolean(m.responseStream),
        comment: cleanComment(m.comment),
      };
    });
    pkg.services.push({ pkg: pkgName, name: s.name, methods, comment: cleanComment(s.comment) });
  };

  const visit = (obj: protobuf.ReflectionObject): void => {
    if (obj instanceof protobuf.Type) visitType(obj);
    else if (obj instanceof protobuf.Enum) visitEnum(obj);
    else if (obj instanceof protobuf.Service) visitService(obj);
    else if (obj instanceof protobuf.Namespace) for (const n of obj.nestedArray) visit(n);
  };
  for (const n of root.nestedArray) visit(n);

  if (unusedTimestamps.size > 0) {
    throw new SchemaError(`proto/timestamps.ts names fields that do not exist: ${[...unusedTimestamps].join(', ')}`);
  }
  const result = [...packages.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const p of result) p.imports.sort();
  return result;
}
