/**
 * The benchmark runner (`make bench`):
 *
 *   npx tsx harness/bench/run.ts              every section
 *   npx tsx harness/bench/run.ts raw raft     the named sections, in that order
 *   npx tsx harness/bench/run.ts --list       the section names
 *
 * A section is a file in harness/bench/sections/ that exports `section: { name, run }` (see BenchSection).
 * Dropping a file there is all it takes to add one. Sections print their own figures; benchmarks report
 * numbers, they never pass or fail on them.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface BenchSection {
  /** The name used on the command line. */
  name: string;
  /** One line saying what is measured (shown by --list). */
  description?: string;
  /** Measure, print the figures, and resolve with them (for tools that want the numbers). */
  run(): Promise<unknown>;
}

const SECTIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sections');

function isSection(value: unknown): value is BenchSection {
  const s = value as Partial<BenchSection> | undefined;
  return typeof s === 'object' && s !== null && typeof s.name === 'string' && typeof s.run === 'function';
}

/** Every section in harness/bench/sections/, sorted by name. */
async function loadSections(): Promise<BenchSection[]> {
  const files = readdirSync(SECTIONS_DIR).filter((f) => f.endsWith('.ts')).sort();
  const sections: BenchSection[] = [];
  for (const file of files) {
    let mod: { section?: unknown };
    try {
      mod = (await import(pathToFileURL(path.join(SECTIONS_DIR, file)).href)) as { section?: unknown };
    } catch (err) {
      // One broken section (say, code it measures is not written yet) must not stop the others.
      console.error(`bench: skipping harness/bench/sections/${file}: ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    if (!isSection(mod.section)) {
      throw new Error(`harness/bench/sections/${file} must export \`section: { name, run }\``);
    }
    sections.push(mod.section);
  }
  return sections.sort((a, b) => a.name.localeCompare(b.name));
}

async function main(argv: string[]): Promise<number> {
  const sections = await loadSections();
  const byName = new Map(sections.map((s) => [s.name, s]));
  if (argv.includes('--help') || argv.includes('-h') || argv.includes('--list')) {
    console.log('Usage: npx tsx harness/bench/run.ts [section...]\n\nSections:');
    for (const s of sections) console.log(`  ${s.name.padEnd(10)} ${s.description ?? ''}`);
    return 0;
  }
  const unknown = argv.filter((name) => !byName.has(name));
  if (unknown.length > 0) {
    console.error(`bench: unknown section(s) ${unknown.join(', ')}; known: ${sections.map((s) => s.name).join(', ')}`);
    return 2;
  }
  const chosen = argv.length === 0 ? sections : argv.map((name) => byName.get(name)!);
  for (const s of chosen) {
    console.log(`\n== ${s.name} ==`);
    await s.run();
  }
  return 0;
}

// Run only when executed, not when imported.
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exit(1);
    },
  );
}
