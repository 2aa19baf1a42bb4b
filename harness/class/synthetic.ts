/**
 * Submissions made from the kit itself, to try the class grader on a known class (kit tests, the utilisation
 * measurement, instructors checking their setup):
 *   - solved: the reference's code in the lab's blocks (what a perfect student hands in);
 *   - stubs: the lab copy as given (nothing done);
 *   - zoo:<slug>: the reference with a bug-zoo patch, in the lab's blocks (a student with that bug);
 *   - hostile: a solved submission whose block runs some code first (the sandbox tests).
 * Each is written as "lab code" (the files of impl/ at the top), or as a handout repository (impl/ plus the
 * handout marker) with `asHandout`.
 *
 *   npx tsx harness/class/synthetic.ts <lab> <out dir> [solved] [stubs] [zoo:<slug>...]
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyPatch, loadBugs, makeReferenceCopy, patchPath, removeCopy } from '../bugzoo/zoo.ts';
import { walkFiles } from '../labs/generate.ts';
import { parseMarkers, renderParsed } from '../labs/markers.ts';
import { getLab, stageIndex, type Lab } from '../labs/stages.ts';
import { HANDOUT_INFO } from '../handout/upgrade.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The lab's files with every block up to the lab's last stage holding `referenceDir`'s code. */
export function solvedLabCode(referenceDir: string, lab: Lab, outDir: string): void {
  const firstStubbed = stageIndex(lab.stages[lab.stages.length - 1]!) + 1;
  const kitLab = path.join(ROOT, 'labs', lab.id);
  for (const rel of walkFiles(kitLab)) {
    const source = path.join(referenceDir, rel);
    const target = path.join(outDir, rel);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    if (rel.endsWith('.ts') && fs.existsSync(source)) {
      fs.writeFileSync(target, renderParsed(parseMarkers(fs.readFileSync(source, 'utf8'), rel), firstStubbed, { markBlocks: true }));
    } else {
      fs.copyFileSync(path.join(kitLab, rel), target);
    }
  }
}

/** The lab copy as the kit gives it: every block of the lab still a stub. */
export function stubLabCode(lab: Lab, outDir: string): void {
  fs.cpSync(path.join(ROOT, 'labs', lab.id), outDir, { recursive: true });
}

/** The reference with a bug-zoo patch (by its slug), in the lab's blocks. */
export function zooLabCode(slug: string, lab: Lab, outDir: string): void {
  const bug = loadBugs().find((b) => b.slug === slug);
  if (bug === undefined) throw new Error(`no bug-zoo patch with slug ${slug}`);
  const copy = makeReferenceCopy(`class-${slug}`);
  try {
    applyPatch(patchPath(bug), copy);
    solvedLabCode(path.join(copy, 'reference'), lab, outDir);
  } finally {
    removeCopy(copy);
  }
}

/** Turns lab code in `dir` into a handout repository's layout (impl/ and the handout marker), in place. */
export function asHandout(dir: string, lab: Lab): void {
  const impl = path.join(dir, 'impl');
  const entries = fs.readdirSync(dir);
  fs.mkdirSync(impl);
  for (const e of entries) fs.renameSync(path.join(dir, e), path.join(impl, e));
  fs.writeFileSync(path.join(dir, HANDOUT_INFO), `${JSON.stringify({ lab: lab.id }, null, 2)}\n`);
}

/**
 * A solved submission whose block with `heading` (a substring of its guidance comment) in `file` runs
 * `code` first. The code is a student's: whatever it does happens inside the grader's sandbox.
 */
export function hostileLabCode(lab: Lab, outDir: string, file: string, heading: string, code: string): void {
  solvedLabCode(path.join(ROOT, 'reference'), lab, outDir);
  const target = path.join(outDir, file);
  const lines = fs.readFileSync(target, 'utf8').split('\n');
  const at = lines.findIndex((l) => l.includes('// Your code here') && l.includes(heading));
  if (at < 0) throw new Error(`${file} has no block whose guidance mentions "${heading}"`);
  const indent = /^\s*/.exec(lines[at]!)![0];
  lines.splice(at + 1, 0, ...code.split('\n').map((l) => `${indent}${l}`));
  fs.writeFileSync(target, lines.join('\n'));
}

function main(argv: string[]): number {
  const [labId, out, ...kinds] = argv;
  if (labId === undefined || out === undefined || kinds.length === 0) {
    console.error('usage: npx tsx harness/class/synthetic.ts <lab> <out dir> [solved] [stubs] [zoo:<slug>...]');
    return 2;
  }
  const lab = getLab(labId);
  for (const kind of kinds) {
    const dir = path.join(out, kind.replace(/[^A-Za-z0-9_.-]+/g, '-'));
    fs.rmSync(dir, { recursive: true, force: true });
    if (kind === 'solved') solvedLabCode(path.join(ROOT, 'reference'), lab, dir);
    else if (kind === 'stubs') stubLabCode(lab, dir);
    else if (kind.startsWith('zoo:')) zooLabCode(kind.slice(4), lab, dir);
    else throw new Error(`unknown kind ${kind}: solved, stubs or zoo:<slug>`);
    console.log(`${dir}: ${kind}`);
  }
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));
