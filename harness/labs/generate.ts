/**
 * `make labs`: writes labs/<lab>/ for every lab as a full copy of reference/, with the student blocks of the
 * lab's stages and every later stage replaced by their stubs (see markers.ts), plus a generated README.md.
 * `make labs-check` (`--check`): regenerates in memory and lists every file under labs/ that differs.
 *
 * The output depends only on the contents of reference/: files are walked in sorted order and nothing
 * records a time, so CI can compare the committed labs/ byte for byte.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MarkerError, MarkerErrors, parseMarkers, renderParsed, type ParsedFile } from './markers.ts';
import { LABS, STAGES, labFirstStageIndex, ownStages, stagesBefore, stubbedStages, type Lab } from './stages.ts';

/** One file of a lab copy. */
export interface LabFile {
  readonly content: Buffer;
  readonly executable: boolean;
}

/** A lab copy in memory: relative path (with '/') to file, in sorted order. */
export type LabTree = Map<string, LabFile>;

export interface GeneratedLabs {
  /** Lab id to its files. */
  readonly labs: Map<string, LabTree>;
  /** Number of student blocks per stage id, over all of reference/. */
  readonly blocksPerStage: Map<string, number>;
  /** Number of files reference/ holds. */
  readonly fileCount: number;
}

export interface LabDifference {
  /** Path relative to the labs directory, e.g. '2a/raft/raft.ts'. */
  readonly path: string;
  readonly kind: 'differs' | 'missing' | 'extra' | 'mode';
}

const README_NAME = 'README.md';
/**
 * labs/.generated.sha256: the hash of every file `make labs` wrote (sha256sum's format). `make labs` compares
 * labs/ with it before writing, and refuses to overwrite a file changed since (FORCE=1 overrides).
 */
export const MANIFEST_NAME = '.generated.sha256';
const TSCONFIG_NAME = 'tsconfig.json';

/**
 * The tsconfig.json written into a lab copy, so that an editor opened on labs/<lab>/ resolves its imports
 * like the root project does, and `npx tsc -p labs/<lab>` type-checks the copy on its own.
 */
function labTsconfig(lab: Lab): string {
  const config = {
    extends: '../../tsconfig.json',
    compilerOptions: { paths: { '@impl/*': [`labs/${lab.id}/*`] } },
    include: ['.'],
    exclude: [],
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** Sorted by code unit, so the order is the same in every locale. */
function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Every file under `dir`, as sorted relative paths with '/' separators. Symbolic links are refused. */
export function walkFiles(dir: string): string[] {
  const out: string[] = [];
  const visit = (rel: string): void => {
    const abs = rel === '' ? dir : path.join(dir, rel);
    const entries = fs.readdirSync(abs, { withFileTypes: true }).sort((a, b) => byName(a.name, b.name));
    for (const entry of entries) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isSymbolicLink()) throw new Error(`${path.join(dir, child)}: symbolic links are not supported in a lab tree`);
      if (entry.isDirectory()) visit(child);
      else if (entry.isFile()) out.push(child);
    }
  };
  if (fs.existsSync(dir)) visit('');
  return out;
}

function isExecutable(file: string): boolean {
  return (fs.statSync(file).mode & 0o111) !== 0;
}

// Import specifiers that are relative paths: `from './x.ts'`, `import('./x.ts')`, `import './x.ts'`.
const RELATIVE_IMPORT = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]*)\1/g;

/**
 * Lab copies live one directory deeper than reference/ (labs/2a/ against reference/), so a relative import
 * that leaves reference/ would point at the wrong place in every lab. Reports each as a MarkerError.
 */
export function findEscapingImports(text: string, relFile: string, displayFile: string): MarkerError[] {
  const errors: MarkerError[] = [];
  const fileDir = path.posix.dirname(relFile);
  text.split('\n').forEach((line, i) => {
    for (const m of line.matchAll(RELATIVE_IMPORT)) {
      const target = path.posix.normalize(path.posix.join(fileDir, m[2]!));
      if (target === '..' || target.startsWith('../')) {
        errors.push(
          new MarkerError(displayFile, i + 1, `import '${m[2]}' leaves reference/; lab copies sit one level deeper, so use a package import ('#proto') or keep the code inside reference/`),
        );
      }
    }
  });
  return errors;
}

function stageList(ids: readonly string[]): string {
  return ids.join(', ');
}

/** The README.md written into a lab copy. */
function labReadme(lab: Lab, parsedFiles: readonly ParsedFile[]): string {
  const own = ownStages(lab);
  const before = stagesBefore(lab);
  const stubbed = stubbedStages(lab);
  const later = stubbed.slice(own.length);
  const title = own.length === 1 ? `stage ${own[0]!.id}` : `stages ${stageList(own.map((s) => s.id))}`;
  const lines: string[] = [];
  lines.push(`# TinyKV-TS lab ${lab.id}: ${title}`);
  lines.push('');
  lines.push(`This directory is the lab copy for ${title}:`);
  lines.push('');
  for (const s of own) lines.push(`- ${s.id}: ${s.title}`);
  lines.push('');
  lines.push('It is a full copy of `reference/` generated by `make labs`. In the TinyKV-TS source repository it is');
  lines.push('overwritten by every `make labs`: instructors change `reference/` (and its stage markers), never this copy.');
  lines.push('Students write their code here, where a comment says `// Your code here (<stage>)`.');
  lines.push('');
  lines.push('## What is stubbed');
  lines.push('');
  if (before.length === 0) {
    lines.push('No earlier stage: every student block of every stage is stubbed.');
  } else {
    lines.push(`Stages before this lab (${stageList(before.map((s) => s.id))}) keep the reference code.`);
  }
  lines.push(`Stubbed: ${stageList(own.map((s) => s.id))} (this lab)` + (later.length > 0 ? ` and the later stages ${stageList(later.map((s) => s.id))}.` : '.'));
  lines.push('The later stages are stubbed so that their code does not give away this one; their stubs keep the');
  lines.push("earlier stages' tests passing.");
  lines.push('');
  lines.push('| stage | what | stubs (file: blocks) |');
  lines.push('|---|---|---|');
  for (const s of stubbed) {
    const where: string[] = [];
    for (const parsed of parsedFiles) {
      const count = parsed.blocks.filter((b) => b.stage === s.id).length;
      if (count > 0) where.push(`${parsed.file} (${count})`);
    }
    lines.push(`| ${s.id} | ${s.title} | ${where.length > 0 ? where.join(', ') : 'no stubs yet'} |`);
  }
  lines.push('');
  lines.push('## Running the tests');
  lines.push('');
  lines.push('```sh');
  lines.push(`make ${lab.makeTarget}${own.length > 1 ? `        # ${stageList(own.map((s) => s.id))} against this copy` : '        # this stage\'s suite against this copy'}`);
  if (own.length > 1) {
    for (const s of own) lines.push(`make project${s.suiteDir}       # stage ${s.id} only`);
  }
  lines.push(`make ${lab.makeTarget} IMPL=reference        # the same suite against the reference implementation`);
  lines.push(`make ${lab.makeTarget} RUN=<test name pattern>   # only the matching tests`);
  lines.push(`make ui STAGE=${own[0]!.suiteDir}        # the Vitest UI (http://127.0.0.1:51204/__vitest__/)`);
  lines.push(`npx tsc -p labs/${lab.id}        # type-check this copy (its tsconfig.json is generated too)`);
  lines.push('```');
  lines.push('');
  return lines.join('\n');
}

/**
 * Builds every lab copy of `referenceDir` in memory. Throws MarkerErrors listing every marker problem of
 * every file (file names are shown as `displayPrefix/<relative path>`).
 */
export function buildLabs(referenceDir: string, displayPrefix = 'reference'): GeneratedLabs {
  const relFiles = walkFiles(referenceDir);
  for (const generatedName of [README_NAME, TSCONFIG_NAME]) {
    if (relFiles.includes(generatedName)) {
      throw new Error(`${displayPrefix}/${generatedName} would clash with the ${generatedName} generated for each lab; rename it`);
    }
  }
  const errors: MarkerError[] = [];
  const sources: { rel: string; raw: Buffer; executable: boolean; parsed: ParsedFile | undefined }[] = [];
  for (const rel of relFiles) {
    const abs = path.join(referenceDir, rel);
    const raw = fs.readFileSync(abs);
    let parsed: ParsedFile | undefined;
    if (rel.endsWith('.ts')) {
      const display = `${displayPrefix}/${rel}`;
      const text = raw.toString('utf8');
      errors.push(...findEscapingImports(text, rel, display));
      try {
        parsed = parseMarkers(text, rel);
      } catch (err) {
        if (!(err instanceof MarkerErrors)) throw err;
        for (const e of err.errors) errors.push(new MarkerError(display, e.line, e.problem));
      }
    }
    sources.push({ rel, raw, executable: isExecutable(abs), parsed });
  }
  if (errors.length > 0) throw new MarkerErrors(errors);

  const parsedFiles = sources.flatMap((s) => (s.parsed ? [s.parsed] : []));
  const blocksPerStage = new Map<string, number>(STAGES.map((s) => [s.id, 0]));
  for (const parsed of parsedFiles) {
    for (const block of parsed.blocks) blocksPerStage.set(block.stage, (blocksPerStage.get(block.stage) ?? 0) + 1);
  }

  const labs = new Map<string, LabTree>();
  for (const lab of LABS) {
    const tree: LabTree = new Map();
    const firstStubbed = labFirstStageIndex(lab);
    const entries: [string, LabFile][] = sources.map((s) => [
      s.rel,
      {
        content: s.parsed ? Buffer.from(renderParsed(s.parsed, firstStubbed, { markBlocks: true }), 'utf8') : s.raw,
        executable: s.executable,
      },
    ]);
    entries.push([README_NAME, { content: Buffer.from(labReadme(lab, parsedFiles), 'utf8'), executable: false }]);
    entries.push([TSCONFIG_NAME, { content: Buffer.from(labTsconfig(lab), 'utf8'), executable: false }]);
    entries.sort((a, b) => byName(a[0], b[0]));
    for (const [rel, file] of entries) tree.set(rel, file);
    labs.set(lab.id, tree);
  }
  return { labs, blocksPerStage, fileCount: relFiles.length };
}

function writeTree(dir: string, tree: LabTree): void {
  for (const [rel, file] of tree) {
    const abs = path.join(dir, rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, file.content, { mode: file.executable ? 0o755 : 0o644 });
    // writeFileSync's mode is filtered by the umask; set it exactly.
    fs.chmodSync(abs, file.executable ? 0o755 : 0o644);
  }
}

/**
 * Writes the generated labs into `labsDir`, replacing each lab directory as a whole: everything is first
 * written under `tmpDir`, then each old copy is swapped out. Entries of `labsDir` that are not labs are removed.
 */
export function writeLabs(generated: GeneratedLabs, labsDir: string, tmpDir: string): void {
  fs.rmSync(tmpDir, { recursive: true, force: true });
  fs.mkdirSync(tmpDir, { recursive: true });
  for (const [labId, tree] of generated.labs) writeTree(path.join(tmpDir, labId), tree);
  fs.mkdirSync(labsDir, { recursive: true });
  fs.writeFileSync(path.join(labsDir, MANIFEST_NAME), expectedFiles(generated).get(MANIFEST_NAME)!.content);
  for (const labId of generated.labs.keys()) {
    const target = path.join(labsDir, labId);
    const old = path.join(tmpDir, `${labId}.old`);
    if (fs.existsSync(target)) fs.renameSync(target, old);
    fs.renameSync(path.join(tmpDir, labId), target);
  }
  for (const name of fs.readdirSync(labsDir)) {
    if (!generated.labs.has(name) && name !== MANIFEST_NAME) fs.rmSync(path.join(labsDir, name), { recursive: true, force: true });
  }
  fs.rmSync(tmpDir, { recursive: true, force: true });
}

function sha256(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** Every file the generated labs hold, as labs/-relative path to file, the manifest included. */
function expectedFiles(generated: GeneratedLabs): Map<string, LabFile> {
  const expected = new Map<string, LabFile>();
  for (const [labId, tree] of generated.labs) {
    for (const [rel, file] of tree) expected.set(`${labId}/${rel}`, file);
  }
  const manifest = [...expected].map(([rel, file]) => `${sha256(file.content)}  ${rel}\n`).join('');
  expected.set(MANIFEST_NAME, { content: Buffer.from(manifest, 'utf8'), executable: false });
  return expected;
}

/**
 * Files under `labsDir` that `make labs` would overwrite or delete although they changed since it last wrote
 * them (per the manifest; without one, every file that differs from the new output), sorted.
 */
export function changedSinceGenerated(generated: GeneratedLabs, labsDir: string): string[] {
  if (!fs.existsSync(labsDir)) return [];
  const expected = expectedFiles(generated);
  const manifestFile = path.join(labsDir, MANIFEST_NAME);
  const written = new Map<string, string>();
  const hasManifest = fs.existsSync(manifestFile);
  if (hasManifest) {
    for (const line of fs.readFileSync(manifestFile, 'utf8').split('\n')) {
      const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
      if (m) written.set(m[2]!, m[1]!);
    }
  }
  const changed: string[] = [];
  for (const rel of walkFiles(labsDir)) {
    if (rel === MANIFEST_NAME) continue;
    const content = fs.readFileSync(path.join(labsDir, rel));
    const next = expected.get(rel);
    if (next !== undefined && next.content.equals(content)) continue; // nothing would change
    const hash = sha256(content);
    if (hasManifest ? written.get(rel) !== hash : true) changed.push(rel);
  }
  return changed.sort(byName);
}

/** Compares the generated labs with what `labsDir` holds; returns every difference, sorted by path. */
export function checkLabs(generated: GeneratedLabs, labsDir: string): LabDifference[] {
  const diffs: LabDifference[] = [];
  const expected = expectedFiles(generated);
  const actual = new Set(walkFiles(labsDir));
  for (const [rel, file] of expected) {
    const abs = path.join(labsDir, rel);
    if (!actual.has(rel)) {
      diffs.push({ path: rel, kind: 'missing' });
    } else if (!fs.readFileSync(abs).equals(file.content)) {
      diffs.push({ path: rel, kind: 'differs' });
    } else if (isExecutable(abs) !== file.executable) {
      diffs.push({ path: rel, kind: 'mode' });
    }
  }
  for (const rel of actual) {
    if (!expected.has(rel)) diffs.push({ path: rel, kind: 'extra' });
  }
  return diffs.sort((a, b) => byName(a.path, b.path));
}

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface RunResult {
  readonly ok: boolean;
  /** Human-readable report lines. */
  readonly lines: string[];
}

function describeMarkers(generated: GeneratedLabs): string {
  const counts = STAGES.map((s) => `${s.id}:${generated.blocksPerStage.get(s.id) ?? 0}`);
  return `student blocks per stage: ${counts.join(' ')}`;
}

/** Builds from reference/ and either writes labs/ or checks it. Marker problems come back as failed results. */
export function runGenerate(options: { check: boolean; force?: boolean; root?: string }): RunResult {
  const root = options.root ?? REPO_ROOT;
  const referenceDir = path.join(root, 'reference');
  const labsDir = path.join(root, 'labs');
  let generated: GeneratedLabs;
  try {
    generated = buildLabs(referenceDir);
  } catch (err) {
    if (err instanceof MarkerErrors) {
      return { ok: false, lines: ['labs: reference/ has marker errors, no lab generated:', ...err.errors.map((e) => `  ${e.message}`)] };
    }
    throw err;
  }
  if (!options.check) {
    const changed = options.force ? [] : changedSinceGenerated(generated, labsDir);
    if (changed.length > 0) {
      return {
        ok: false,
        lines: [
          `labs: ${changed.length} file(s) under labs/ changed since \`make labs\` wrote them; regenerating would overwrite or delete them:`,
          ...changed.map((rel) => `  labs/${rel}`),
          'labs: nothing was written. If this is a student\'s work, keep it: students work in a handout of their lab',
          '  (`make handout LAB=<lab> OUT=<dir>`, see GUIDE.md "Handouts"), not in labs/. To discard the changes: make labs FORCE=1.',
        ],
      };
    }
    writeLabs(generated, labsDir, path.join(root, '.tmp', 'labs-gen'));
    return {
      ok: true,
      lines: [`labs: wrote ${generated.labs.size} lab copies of reference/ (${generated.fileCount} files each, plus README.md and tsconfig.json) under labs/`, `labs: ${describeMarkers(generated)}`],
    };
  }
  const diffs = checkLabs(generated, labsDir);
  if (diffs.length === 0) {
    return { ok: true, lines: [`labs-check: labs/ matches reference/ (${generated.labs.size} labs; ${describeMarkers(generated)})`] };
  }
  const explain: Record<LabDifference['kind'], string> = {
    differs: 'differs from what reference/ generates',
    missing: 'missing',
    extra: 'extra (reference/ does not generate it)',
    mode: 'executable bit differs',
  };
  return {
    ok: false,
    lines: [
      `labs-check: labs/ is out of date with reference/ (${diffs.length} file(s)):`,
      ...diffs.map((d) => `  labs/${d.path}: ${explain[d.kind]}`),
      'labs-check: after a change to reference/, run `make labs` and commit labs/. If you are a student and these are',
      '  your edits: labs/ is generated, not for your work; ask for a handout of your lab (`make handout LAB=<lab> OUT=<dir>`,',
      '  see GUIDE.md "Handouts") and move your code into its impl/.',
    ],
  };
}

function main(argv: readonly string[]): number {
  const unknown = argv.filter((a) => a !== '--check' && a !== '--force');
  if (unknown.length > 0) {
    console.error(`usage: tsx harness/labs/generate.ts [--check | --force]   (unknown argument: ${unknown.join(' ')})`);
    return 2;
  }
  const result = runGenerate({ check: argv.includes('--check'), force: argv.includes('--force') });
  for (const line of result.lines) (result.ok ? console.log : console.error)(line);
  return result.ok ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
