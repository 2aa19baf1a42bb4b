/**
 * What a test file can load, found without running it: the static import closure, and the things a static
 * walk cannot see. The integrity matrix uses it to skip re-running a test file on a lab copy whose code it
 * loads is the code of reference/ (the result would be the same).
 *
 * The walk starts at the given files and follows, in every TypeScript file it reaches:
 *   - `import ... from '<spec>'`, `export ... from '<spec>'`, `import '<spec>'` (but not `import type` /
 *     `export type`, which are erased before the code runs; `types: true` follows them too);
 *   - `import('<literal>')`, and every other string literal that resolves like a module specifier
 *     (`vi.mock('@impl/x.ts')`, `new URL('./x.ts', import.meta.url)`): more files only means more runs.
 * Specifiers resolve as the project resolves them: relative paths, `@impl/<path>` (to the implementation
 * directory being walked), `#proto` (shared generated code outside every implementation: the walk stops
 * there); packages, `node:` built-ins and node_modules are outside the project and not followed.
 *
 * A file is *opaque* (whoever loads it may depend on anything of the implementation) when it
 *   - imports child_process, worker_threads, cluster or module, or calls `require` (it starts processes
 *     or loads modules by computed name);
 *   - calls `import()` (or vi.mock/vi.importActual/...) with a specifier that is not a literal;
 *   - reads the IMPL environment variable and hands a value derived from it (followed through the file's
 *     own variables, by name) to a path, URL or file-system function;
 *   - lies in the implementation directory and locates itself (import.meta.url, __dirname, ...), which is
 *     how code reads the files beside it;
 *   - has a `/// <reference path>` directive, or a module specifier that does not resolve to a file.
 * Known limit: an IMPL-derived value returned to another module is treated as plain text there; the
 * integrity matrix's --verify-reuse run checks every reuse decision against a real run.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { transformSource } from './markers.ts';
import { STAGES } from './stages.ts';

/** What one file's text says about its dependencies. */
export interface ModuleScan {
  /** Specifiers of runtime imports (import/export declarations that are not type-only, literal import()). */
  readonly imports: readonly string[];
  /** Specifiers of type-only import/export declarations and `import('x')` types. */
  readonly typeImports: readonly string[];
  /** Every other string literal that may name a module (resolved if it can be, ignored otherwise). */
  readonly literals: readonly string[];
  /** Why the file is opaque; [] if it is not. */
  readonly opaque: readonly string[];
}

const PROCESS_MODULES = new Set(['child_process', 'worker_threads', 'cluster', 'module']);
const PATH_MODULES = new Set(['fs', 'fs/promises', 'path', 'path/posix', 'path/win32', 'url']);
/** vitest helpers that load or replace a module named by their first argument. */
const VI_LOADERS = new Set(['mock', 'doMock', 'unmock', 'doUnmock', 'importActual', 'importMock']);
const SELF_LOCATORS = new Set(['__dirname', '__filename']);

function builtinName(spec: string): string {
  return spec.startsWith('node:') ? spec.slice('node:'.length) : spec;
}

function looksLikeModulePath(text: string): boolean {
  return text.startsWith('./') || text.startsWith('../') || text.startsWith('@impl/') || text === '#proto' || text.startsWith('#proto/');
}

/** Does this expression read the IMPL variable (`process.env.IMPL`, `env['IMPL']`, `env[name]`)? */
function readsImpl(node: ts.Node): boolean {
  if (ts.isPropertyAccessExpression(node) && node.name.text === 'IMPL') return true;
  if (ts.isElementAccessExpression(node)) {
    const arg = node.argumentExpression;
    if (ts.isStringLiteralLike(arg)) return arg.text === 'IMPL';
    // A computed key on the environment could be 'IMPL'.
    return /\benv$/.test(node.expression.getText());
  }
  if (ts.isBindingElement(node)) {
    const name = node.propertyName ?? node.name;
    return ts.isIdentifier(name) && name.text === 'IMPL';
  }
  return false;
}

/** Scans one TypeScript file. `fileName` only labels the reasons. */
export function scanModule(text: string, fileName: string): ModuleScan {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const imports: string[] = [];
  const typeImports: string[] = [];
  const literals: string[] = [];
  const opaque: string[] = [];
  const specifierNodes = new Set<ts.Node>();
  const where = (node: ts.Node): string => `${fileName}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}`;

  for (const ref of source.referencedFiles) opaque.push(`${fileName}: /// <reference path="${ref.fileName}"> (not followed)`);

  // Local names bound to path/fs/url functions: `path` (namespace or default) or `join` (named).
  const pathNamespaces = new Set<string>();
  const pathFunctions = new Set<string>(['URL']);
  const noteImport = (spec: string, clause: ts.ImportClause | undefined, node: ts.Node): void => {
    const name = builtinName(spec);
    if (PROCESS_MODULES.has(name)) opaque.push(`${where(node)}: imports '${spec}' (may start processes or load code by name)`);
    if (!PATH_MODULES.has(name) || !clause) return;
    if (clause.name) pathNamespaces.add(clause.name.text);
    const bindings = clause.namedBindings;
    if (bindings && ts.isNamespaceImport(bindings)) pathNamespaces.add(bindings.name.text);
    if (bindings && ts.isNamedImports(bindings)) for (const el of bindings.elements) pathFunctions.add(el.name.text);
  };

  // Names that hold an IMPL-derived value, found by a fixpoint over declarations and assignments (by name,
  // ignoring scopes: more tainted names only means more opaque files).
  const tainted = new Set<string>();
  const containsTaint = (node: ts.Node): boolean => {
    let found = false;
    const visit = (n: ts.Node): void => {
      if (found) return;
      if (readsImpl(n) || (ts.isIdentifier(n) && tainted.has(n.text))) found = true;
      else ts.forEachChild(n, visit);
    };
    visit(node);
    return found;
  };
  const assignments: { target: string; value: ts.Node }[] = [];
  const sinks: { call: ts.CallExpression | ts.NewExpression; label: string }[] = [];

  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      specifierNodes.add(node.moduleSpecifier);
      const typeOnly = node.importClause?.isTypeOnly === true;
      (typeOnly ? typeImports : imports).push(node.moduleSpecifier.text);
      noteImport(node.moduleSpecifier.text, node.importClause, node);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      specifierNodes.add(node.moduleSpecifier);
      (node.isTypeOnly ? typeImports : imports).push(node.moduleSpecifier.text);
      noteImport(node.moduleSpecifier.text, undefined, node);
    } else if (ts.isImportEqualsDeclaration(node)) {
      opaque.push(`${where(node)}: import = require (not followed)`);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      specifierNodes.add(node.argument.literal);
      typeImports.push(node.argument.literal.text);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const first = node.arguments[0];
      const literalFirst = first !== undefined && ts.isStringLiteralLike(first);
      if (callee.kind === ts.SyntaxKind.ImportKeyword) {
        if (literalFirst) {
          specifierNodes.add(first);
          imports.push(first.text);
          noteImport(first.text, undefined, node);
        } else opaque.push(`${where(node)}: import() of a computed specifier`);
      } else if (ts.isIdentifier(callee) && callee.text === 'require') {
        opaque.push(`${where(node)}: require()`);
      } else if (ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression) && callee.expression.text === 'vi' && VI_LOADERS.has(callee.name.text)) {
        if (!literalFirst) opaque.push(`${where(node)}: vi.${callee.name.text}() of a computed specifier`);
      } else if (ts.isPropertyAccessExpression(callee) && callee.name.text === 'resolve' && ts.isMetaProperty(callee.expression)) {
        if (!literalFirst) opaque.push(`${where(node)}: import.meta.resolve() of a computed specifier`);
      }
      if (ts.isIdentifier(callee) && pathFunctions.has(callee.text)) sinks.push({ call: node, label: callee.text });
      if (ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression) && pathNamespaces.has(callee.expression.text)) {
        sinks.push({ call: node, label: `${callee.expression.text}.${callee.name.text}` });
      }
    } else if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'URL') {
      sinks.push({ call: node, label: 'new URL' });
    } else if (ts.isStringLiteralLike(node) && !specifierNodes.has(node) && looksLikeModulePath(node.text)) {
      literals.push(node.text);
    } else if (ts.isVariableDeclaration(node) && node.initializer) {
      for (const name of boundNames(node.name)) assignments.push({ target: name, value: node.initializer });
      if (ts.isObjectBindingPattern(node.name) && node.name.elements.some(readsImpl)) {
        for (const name of boundNames(node.name)) tainted.add(name);
      }
    } else if (ts.isBinaryExpression(node) && node.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && node.operatorToken.kind <= ts.SyntaxKind.LastAssignment && ts.isIdentifier(node.left)) {
      assignments.push({ target: node.left.text, value: node.right });
    } else if ((ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node) || ts.isArrowFunction(node) || ts.isMethodDeclaration(node)) && node.body) {
      // A function whose result depends on IMPL taints the name it is bound to.
      const name = functionName(node);
      if (name !== undefined) assignments.push({ target: name, value: node.body });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);

  for (let changed = true; changed; ) {
    changed = false;
    for (const a of assignments) {
      if (!tainted.has(a.target) && containsTaint(a.value)) {
        tainted.add(a.target);
        changed = true;
      }
    }
  }
  for (const sink of sinks) {
    if ((sink.call.arguments ?? []).some(containsTaint)) {
      opaque.push(`${where(sink.call)}: builds a path from IMPL (${sink.label})`);
    }
  }
  return { imports, typeImports, literals, opaque };
}

function boundNames(name: ts.BindingName): string[] {
  if (ts.isIdentifier(name)) return [name.text];
  return name.elements.flatMap((el) => (ts.isOmittedExpression(el) ? [] : boundNames(el.name)));
}

function functionName(node: ts.FunctionLikeDeclaration): string | undefined {
  if (node.name && ts.isIdentifier(node.name)) return node.name.text;
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  return undefined;
}

/** Does this file locate itself (the way code reads the files beside it)? */
function locatesItself(text: string): boolean {
  return /\bimport\.meta\.(url|dirname|filename)\b/.test(text) || [...SELF_LOCATORS].some((n) => new RegExp(`\\b${n}\\b`).test(text));
}

export interface WalkContext {
  /** Repository root (absolute). */
  readonly root: string;
  /** Implementation directory `@impl/` points at, relative to root ('reference', 'labs/2a'). */
  readonly impl: string;
  /** Also follow type-only imports (for type-checking). */
  readonly types: boolean;
}

export interface Closure {
  /** Every project file reached (relative to root, '/' separators), the start files included. */
  readonly files: ReadonlySet<string>;
  /** Why the start files may depend on more than `files`; [] if the closure is complete. */
  readonly opaque: readonly string[];
}

const TS_EXTENSIONS = ['.ts', '.mts', '.cts', '.tsx'];

function isFile(abs: string): boolean {
  try {
    return fs.statSync(abs).isFile();
  } catch {
    return false;
  }
}

/**
 * Resolves a specifier from a file (both relative to root). Returns the resolved file, 'outside' for
 * something the walk does not follow (packages, built-ins, #proto, node_modules), or undefined.
 */
function resolveSpecifier(spec: string, from: string, ctx: WalkContext): string | 'outside' | undefined {
  if (spec === '#proto' || spec.startsWith('#proto/')) return 'outside';
  let base: string;
  if (spec.startsWith('@impl/')) base = path.join(ctx.root, ctx.impl, spec.slice('@impl/'.length));
  else if (spec.startsWith('./') || spec.startsWith('../') || spec === '.' || spec === '..') base = path.resolve(ctx.root, path.dirname(from), spec);
  else if (path.isAbsolute(spec)) base = spec;
  else return 'outside';
  const candidates = [base, ...TS_EXTENSIONS.map((e) => base + e), ...TS_EXTENSIONS.map((e) => path.join(base, `index${e}`))];
  if (base.endsWith('.js')) candidates.push(base.slice(0, -3) + '.ts');
  for (const candidate of candidates) {
    if (!isFile(candidate)) continue;
    const rel = path.relative(ctx.root, candidate);
    if (rel.startsWith('..') || path.isAbsolute(rel)) return 'outside';
    const norm = rel.split(path.sep).join('/');
    return norm.split('/').includes('node_modules') ? 'outside' : norm;
  }
  return undefined;
}

/** Caches scans by absolute path and content, so one integrity run parses each file once. */
export class ScanCache {
  private readonly scans = new Map<string, { text: string; scan: ModuleScan }>();

  scan(abs: string, rel: string): { text: string; scan: ModuleScan } {
    const text = fs.readFileSync(abs, 'utf8');
    const hit = this.scans.get(abs);
    if (hit && hit.text === text) return hit;
    const entry = { text, scan: scanModule(text, rel) };
    this.scans.set(abs, entry);
    return entry;
  }
}

function isTypeScript(rel: string): boolean {
  return TS_EXTENSIONS.some((e) => rel.endsWith(e)) && !rel.endsWith('.d.ts');
}

/** The closure of `starts` (files relative to root) under `ctx`. */
export function importClosure(starts: readonly string[], ctx: WalkContext, cache = new ScanCache()): Closure {
  const files = new Set<string>();
  const opaque: string[] = [];
  const queue = [...starts];
  const implPrefix = `${ctx.impl.replace(/\/+$/, '')}/`;
  while (queue.length > 0) {
    const rel = queue.shift()!;
    if (files.has(rel)) continue;
    files.add(rel);
    if (!isTypeScript(rel)) continue;
    const { text, scan } = cache.scan(path.join(ctx.root, rel), rel);
    opaque.push(...scan.opaque);
    if (rel.startsWith(implPrefix) && locatesItself(text)) opaque.push(`${rel}: implementation code that locates itself (may read the files beside it)`);
    const follow = (spec: string, strict: boolean): void => {
      const target = resolveSpecifier(spec, rel, ctx);
      if (target === undefined) {
        if (strict) opaque.push(`${rel}: cannot resolve '${spec}'`);
      } else if (target !== 'outside') {
        // A relative import that leaves the implementation directory lands elsewhere in a lab copy (one level deeper).
        if (rel.startsWith(implPrefix) && !spec.startsWith('@impl/') && !target.startsWith(implPrefix)) {
          opaque.push(`${rel}: '${spec}' leaves the implementation directory`);
        }
        if (!files.has(target)) queue.push(target);
      }
    };
    for (const spec of scan.imports) follow(spec, true);
    if (ctx.types) for (const spec of scan.typeImports) follow(spec, true);
    for (const spec of scan.literals) follow(spec, false);
  }
  return { files, opaque: [...new Set(opaque)] };
}

/** Every file under a directory (relative to it, '/' separators, sorted). */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const visit = (rel: string): void => {
    const entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).map((e) => ({ name: e.name, dir: e.isDirectory() }));
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const child = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.dir) visit(child);
      else out.push(child);
    }
  };
  if (fs.existsSync(dir)) visit('');
  return out;
}

/**
 * What reference/<rel> becomes in a lab copy that stubs nothing: .ts files lose their marker lines (comments
 * only, so the code behaves exactly as reference/ does); other files are copied as they are. A file whose
 * markers do not parse has no such form (undefined) and counts as differing.
 */
function unstubbedReference(raw: Buffer, rel: string): Buffer | undefined {
  if (!rel.endsWith('.ts')) return raw;
  try {
    return Buffer.from(transformSource(raw.toString('utf8'), rel, STAGES.length, { markBlocks: true }), 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Files of labs/<lab> that differ from reference/ other than by the marker lines every copy drops (paths
 * relative to the copy): the stubbed files, plus files present on one side only.
 */
export function differingFiles(root: string, labDir: string, referenceDir = 'reference'): Set<string> {
  const labAbs = path.join(root, labDir);
  const refAbs = path.join(root, referenceDir);
  const labFiles = listFiles(labAbs);
  const labSet = new Set(labFiles);
  const refFiles = new Set(listFiles(refAbs));
  const differing = new Set<string>();
  for (const rel of labFiles) {
    if (!refFiles.has(rel)) {
      differing.add(rel);
      continue;
    }
    const expected = unstubbedReference(fs.readFileSync(path.join(refAbs, rel)), rel);
    if (expected === undefined || !fs.readFileSync(path.join(labAbs, rel)).equals(expected)) differing.add(rel);
  }
  for (const rel of refFiles) if (!labSet.has(rel)) differing.add(rel);
  return differing;
}

/**
 * The files of a closure computed with `@impl/` at reference/ that lie in reference/, relative to it. Since
 * a lab file that equals its reference file imports the same files, a closure that reaches no differing file
 * in reference/ terms is, in the lab copy, the same set of identical files.
 */
export function implFilesOf(closure: Closure, implDir: string): string[] {
  const prefix = `${implDir.replace(/\/+$/, '')}/`;
  return [...closure.files].filter((f) => f.startsWith(prefix)).map((f) => f.slice(prefix.length));
}
