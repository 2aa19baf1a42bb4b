/**
 * Module resolution inside a grader worker (a Node module hook, registered by worker.ts):
 *   - `vitest`, imported by a test file, becomes the grader's runner (vitest-shim.ts): the test file registers
 *     its tests with the worker instead of with vitest, and the worker runs them one at a time, many times;
 *   - `@impl/<path>` resolves into the implementation under test (IMPL), as vitest.config.ts does;
 *   - an implementation outside the kit imports `#proto` and packages as the kit's root would
 *     (harness/tools/impl-resolution.ts).
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { resolveForImpl, type Resolve } from '../tools/impl-hooks.ts';

interface LoaderData {
  /** Absolute directory of the implementation under test. */
  impl: string;
  /** Absolute directory of the kit (the repository root). */
  root: string;
  /** File URL of vitest-shim.ts. */
  shim: string;
}

let data: LoaderData;

export function initialize(d: LoaderData): void {
  data = d;
}

export async function resolve(specifier: string, context: { parentURL?: string }, nextResolve: Resolve): Promise<{ url: string }> {
  if (specifier === 'vitest' && context.parentURL !== data.shim) return nextResolve(data.shim, context);
  if (specifier.startsWith('@impl/')) {
    return resolveForImpl(pathToFileURL(path.join(data.impl, specifier.slice('@impl/'.length))).href, context, nextResolve, data.root);
  }
  return resolveForImpl(specifier, context, nextResolve, data.root);
}
