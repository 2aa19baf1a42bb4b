// Generates proto/gen/*.ts from proto/*.proto (and proto/timestamps.ts).
//
//   npx tsx proto/codegen.ts          write the files
//   npx tsx proto/codegen.ts --check  write nothing; exit 1 and list the files that differ
//
// Output is deterministic: the same inputs give byte-identical files.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { emitPackage } from './codegen/emit-types.ts';
import { emitRegistry } from './codegen/emit-registry.ts';
import { emitWire } from './codegen/emit-wire.ts';
import { buildModel, loadProtoDir } from './codegen/schema.ts';
import { TIMESTAMP_FIELDS } from './timestamps.ts';

export const PROTO_DIR = path.dirname(fileURLToPath(import.meta.url));
export const GEN_DIR = path.join(PROTO_DIR, 'gen');

/** Every generated file: name inside proto/gen -> contents. */
export function generate(): Map<string, string> {
  const packages = buildModel(loadProtoDir(PROTO_DIR), PROTO_DIR, TIMESTAMP_FIELDS);
  const files = new Map<string, string>();
  for (const p of packages) files.set(`${p.name}.ts`, emitPackage(p));
  files.set('registry.ts', emitRegistry(packages));
  files.set('wire.ts', emitWire(packages));
  return files;
}

/** Names (inside proto/gen) of files that are missing, differ, or should not be there. */
export function staleFiles(files: Map<string, string> = generate()): string[] {
  const stale: string[] = [];
  for (const [name, text] of files) {
    const file = path.join(GEN_DIR, name);
    if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text) stale.push(name);
  }
  const present = fs.existsSync(GEN_DIR) ? fs.readdirSync(GEN_DIR).filter((n) => n.endsWith('.ts')) : [];
  for (const name of present) if (!files.has(name)) stale.push(name);
  return stale.sort();
}

function main(argv: string[]): number {
  const check = argv.includes('--check');
  const files = generate();
  const stale = staleFiles(files);
  if (check) {
    if (stale.length === 0) {
      console.log('proto/gen is up to date.');
      return 0;
    }
    console.log('proto/gen is out of date; run `npx tsx proto/codegen.ts`. Files that differ:');
    for (const name of stale) console.log(`  proto/gen/${name}`);
    return 1;
  }
  fs.mkdirSync(GEN_DIR, { recursive: true });
  for (const name of stale) {
    const file = path.join(GEN_DIR, name);
    const text = files.get(name);
    if (text === undefined) {
      fs.rmSync(file);
      console.log(`removed proto/gen/${name}`);
    } else {
      fs.writeFileSync(file, text);
      console.log(`wrote proto/gen/${name}`);
    }
  }
  if (stale.length === 0) console.log('proto/gen is already up to date.');
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
