/**
 * Kit: the harness reaches the product only through the `@impl/...` alias, never by a relative path into
 * reference/. A student handout has a lab copy and no reference/ beside it; vitest maps `@impl/*` to
 * $IMPL (and tsconfig to reference/ for type-checking and tsx), so only the alias keeps the harness working
 * there and keeps it testing the implementation IMPL names.
 *
 * Every .ts file under harness/ is parsed with TypeScript's own parser; each import, export-from, dynamic
 * import, import type and require whose specifier is a relative path into reference/ is a finding, unless
 * the allow-list below names it with its reason.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const REFERENCE_DIR = path.join(REPO_ROOT, 'reference');

/** One import of a module by a file: where it is and what it names. */
interface ModuleReference {
  /** 1-based line of the specifier. */
  line: number;
  specifier: string;
}

/**
 * Files allowed to import from reference/ by a relative path, each with its reason. Tools that read
 * reference/ as source files (the labs generator, the bug zoo, kit tests that scan sources) do so by
 * reading files, not by importing product modules, so none of them needs an entry.
 */
const ALLOWED: ReadonlyArray<{ file: string; reason: string }> = [];

/** Every module specifier in `source`: static imports and exports, import types, dynamic imports, require. */
function moduleReferences(fileName: string, source: string): ModuleReference[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: ModuleReference[] = [];
  const add = (literal: ts.Node | undefined) => {
    if (literal === undefined || !ts.isStringLiteralLike(literal)) return;
    const { line } = file.getLineAndCharacterOfPosition(literal.getStart(file));
    found.push({ line: line + 1, specifier: literal.text });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal);
    } else if (ts.isCallExpression(node)) {
      const isDynamicImport = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === 'require';
      if (isDynamicImport || isRequire) add(node.arguments[0]);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** True when `specifier`, written in `fromFile`, is a relative path that lands in reference/. */
function reachesIntoReference(fromFile: string, specifier: string): boolean {
  if (!specifier.startsWith('.')) return false;
  const target = path.resolve(path.dirname(fromFile), specifier);
  return target === REFERENCE_DIR || target.startsWith(REFERENCE_DIR + path.sep);
}

/** Every .ts file under `dir`, as absolute paths. */
function typeScriptFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...typeScriptFiles(full));
    else if (entry.isFile() && entry.name.endsWith('.ts')) files.push(full);
  }
  return files;
}

/** "file:line imports 'specifier'" for each import into reference/ by a relative path in `file`. */
function findings(file: string, source: string): string[] {
  const relative = path.relative(REPO_ROOT, file);
  return moduleReferences(file, source)
    .filter((ref) => reachesIntoReference(file, ref.specifier))
    .map((ref) => `${relative}:${ref.line} imports '${ref.specifier}'; use '@impl/...' instead`);
}

describe('the harness imports the product only through @impl/', () => {
  test('no file under harness/ imports reference/ by a relative path (outside the allow-list)', () => {
    const allowed = new Set(ALLOWED.map((entry) => path.join(REPO_ROOT, entry.file)));
    const problems: string[] = [];
    for (const file of typeScriptFiles(path.join(REPO_ROOT, 'harness'))) {
      if (allowed.has(file)) continue;
      problems.push(...findings(file, fs.readFileSync(file, 'utf8')));
    }
    expect(problems).toEqual([]);
  });

  test('every allow-list entry names a file that exists, with a reason', () => {
    for (const entry of ALLOWED) {
      expect(fs.existsSync(path.join(REPO_ROOT, entry.file)), entry.file).toBe(true);
      expect(entry.reason.length, entry.file).toBeGreaterThan(0);
    }
  });

  test('the check sees every kind of import, and only relative paths into reference/', () => {
    const file = path.join(REPO_ROOT, 'harness', 'sim', 'example.ts');
    const source = [
      "import { a } from '../../reference/util/prng.ts';",
      "import type { B } from '../../reference/runtime/runtime.ts';",
      "export { c } from '../../reference/kv/x.ts';",
      "export * from '../../reference/kv/y.ts';",
      "const d = await import('../../reference/kv/z.ts');",
      "type E = typeof import('../../reference/kv/w.ts');",
      "import { ok1 } from '@impl/util/prng.ts';",
      "import { ok2 } from './network.ts';",
      "import { ok3 } from '../../proto/index.ts';",
      "// import { notCode } from '../../reference/in-a-comment.ts';",
      "const notAnImport = '../../reference/in-a-string.ts';",
    ].join('\n');
    expect(findings(file, source)).toEqual([
      "harness/sim/example.ts:1 imports '../../reference/util/prng.ts'; use '@impl/...' instead",
      "harness/sim/example.ts:2 imports '../../reference/runtime/runtime.ts'; use '@impl/...' instead",
      "harness/sim/example.ts:3 imports '../../reference/kv/x.ts'; use '@impl/...' instead",
      "harness/sim/example.ts:4 imports '../../reference/kv/y.ts'; use '@impl/...' instead",
      "harness/sim/example.ts:5 imports '../../reference/kv/z.ts'; use '@impl/...' instead",
      "harness/sim/example.ts:6 imports '../../reference/kv/w.ts'; use '@impl/...' instead",
    ]);
  });
});
