/**
 * The determinism rule of reference/: outside reference/runtime/, no code reads the clock, starts a timer or
 * draws an unseeded random number (Date.now, setTimeout, setInterval, setImmediate, Math.random). Time and
 * randomness come from the injected runtime, so a seed replays a run exactly.
 *
 * The check parses each file with the TypeScript compiler, so comments and strings that mention these names
 * are not flagged, while calls, references (`const now = Date.now`) and imports (`node:timers`) are.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export interface Violation {
  /** Path as given to the scanner (relative to the repository for the real check). */
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
  /** What was found, e.g. 'Date.now'. */
  readonly what: string;
}

const TIMERS = new Set(['setTimeout', 'setInterval', 'setImmediate']);
const GLOBAL_OBJECTS = new Set(['globalThis', 'global', 'window']);

/** `Date.now` / `Math.random`, or a timer reached through the global object (`globalThis.setTimeout`). */
function forbiddenMember(node: ts.PropertyAccessExpression): string | undefined {
  if (!ts.isIdentifier(node.expression)) return undefined;
  const object = node.expression.text;
  const member = node.name.text;
  if (object === 'Date' && member === 'now') return 'Date.now';
  if (object === 'Math' && member === 'random') return 'Math.random';
  if (GLOBAL_OBJECTS.has(object) && TIMERS.has(member)) return `${object}.${member}`;
  return undefined;
}

/** Is this identifier the global timer function, rather than a property or member of the same name? */
function isFreeTimerReference(node: ts.Identifier): boolean {
  if (!TIMERS.has(node.text)) return false;
  const parent = node.parent;
  // `x.setTimeout`: a member of something else (the injected runtime, for one); the global object case is handled above.
  if (ts.isPropertyAccessExpression(parent) && parent.name === node) return false;
  // Declarations and keys that merely share the name: methods, properties, object keys.
  if ((ts.isMethodDeclaration(parent) || ts.isMethodSignature(parent) || ts.isPropertyDeclaration(parent) || ts.isPropertySignature(parent) || ts.isPropertyAssignment(parent)) && parent.name === node) {
    return false;
  }
  // `import { setTimeout } from 'node:timers'` is flagged through its import specifier below, once.
  if (ts.isImportSpecifier(parent)) return false;
  return true;
}

/** Scans one file's text; `file` is only used to label the violations. */
export function scanSource(text: string, file: string): Violation[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const found: Violation[] = [];
  const report = (node: ts.Node, what: string): void => {
    const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
    found.push({ file, line: line + 1, what });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAccessExpression(node)) {
      const what = forbiddenMember(node);
      if (what) report(node, what);
    } else if (ts.isIdentifier(node) && isFreeTimerReference(node)) {
      report(node, node.text);
    } else if (ts.isImportSpecifier(node)) {
      const imported = (node.propertyName ?? node.name).text;
      if (TIMERS.has(imported)) report(node, `import of ${imported}`);
    } else if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const from = node.moduleSpecifier.text;
      if (from === 'timers' || from === 'node:timers' || from === 'timers/promises' || from === 'node:timers/promises') {
        report(node, `import from '${from}'`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Every .ts file under `dir` (sorted), skipping the directory `exempt` (relative to dir). */
function tsFiles(dir: string, exempt: string): string[] {
  const out: string[] = [];
  const visit = (rel: string): void => {
    const entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (child !== exempt) visit(child);
      } else if (entry.isFile() && entry.name.endsWith('.ts')) out.push(child);
    }
  };
  if (fs.existsSync(dir)) visit('');
  return out;
}

/** Scans `<root>/reference/**\/*.ts` outside reference/runtime/. Violations carry repository-relative paths. */
export function scanReference(root: string): Violation[] {
  const referenceDir = path.join(root, 'reference');
  return tsFiles(referenceDir, 'runtime').flatMap((rel) => scanSource(fs.readFileSync(path.join(referenceDir, rel), 'utf8'), `reference/${rel}`));
}

export function formatViolation(v: Violation): string {
  return `${v.file}:${v.line}: ${v.what}`;
}
