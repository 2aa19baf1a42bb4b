/**
 * How the implementation under test (IMPL) finds what it imports when it lies outside the kit: a student's
 * copy in another directory has no package.json (so `#proto`, the kit's "imports" entry, means nothing there)
 * and no node_modules (so `@grpc/grpc-js`, `classic-level`... are not found). Such imports are resolved as
 * if the kit's root had made them. One rule, used by vitest.config.ts (a resolver plugin) and by the grader's
 * module hook (harness/grader/loader.ts).
 */
import path from 'node:path';

/** Is `specifier` a bare package name (`protobufjs`, `@grpc/grpc-js/build/x`), not a path, URL or builtin? */
export function isBarePackage(specifier: string): boolean {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('#') || specifier.startsWith('@impl/')) return false;
  if (/^[a-z][a-z0-9+.-]*:/i.test(specifier)) return false; // node:fs, file:///..., data:...
  return true;
}

/** Is `file` inside `dir` (both absolute paths)? */
export function isInside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Where an import made by `importer` (an absolute file path) should be resolved from, when that file belongs
 * to an implementation outside the kit at `root`: `#proto[/...]` becomes the kit's proto file, and a bare
 * package is resolved from the kit's root. Undefined: resolve it normally.
 */
export function kitResolution(specifier: string, importer: string, root: string): { specifier: string; importer: string } | undefined {
  if (isInside(importer, root)) return undefined;
  if (specifier === '#proto') return { specifier: path.join(root, 'proto', 'index.ts'), importer };
  if (specifier.startsWith('#proto/')) return { specifier: path.join(root, 'proto', specifier.slice('#proto/'.length)), importer };
  if (isBarePackage(specifier)) return { specifier, importer: path.join(root, 'package.json') };
  return undefined;
}
