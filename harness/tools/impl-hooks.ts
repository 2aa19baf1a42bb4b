/**
 * A Node module hook for processes that run an implementation outside the kit (a server started from a
 * student's copy): `#proto` and packages resolve as from the kit's root (impl-resolution.ts). Registered by
 * impl-register.ts (`node --import tsx --import <kit>/harness/tools/impl-register.ts <impl>/bin/...`).
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isInside, kitResolution } from './impl-resolution.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface Resolved {
  url: string;
  format?: string | null;
}
export type Resolve = (specifier: string, context: { parentURL?: string }) => Promise<Resolved>;

export async function resolve(specifier: string, context: { parentURL?: string }, nextResolve: Resolve): Promise<Resolved> {
  return resolveForImpl(specifier, context, nextResolve, root);
}

/** The rule of this hook, for other hooks to end with (the grader's loader.ts). `kitRoot`: the kit's directory. */
export async function resolveForImpl(specifier: string, context: { parentURL?: string }, nextResolve: Resolve, kitRoot: string): Promise<Resolved> {
  const parent = context.parentURL;
  let resolved: Resolved;
  const instead = parent?.startsWith('file:') ? kitResolution(specifier, fileURLToPath(parent), kitRoot) : undefined;
  if (instead !== undefined) {
    const target = path.isAbsolute(instead.specifier) ? pathToFileURL(instead.specifier).href : instead.specifier;
    resolved = await nextResolve(target, { ...context, parentURL: pathToFileURL(instead.importer).href });
  } else {
    resolved = await nextResolve(specifier, context);
  }
  // The kit's TypeScript is ES modules ("type": "module" in its package.json); a copy outside the kit has no
  // package.json to say so, and would be loaded as CommonJS.
  // (tsx marks a file it takes for CommonJS with a query on its URL: drop it.)
  const file = resolved.url.startsWith('file:') ? resolved.url.replace(/(%3F|\?).*$/, '') : undefined;
  if (file !== undefined && file.endsWith('.ts') && !isInside(fileURLToPath(file), kitRoot)) return { url: file, format: 'module' };
  return resolved;
}

