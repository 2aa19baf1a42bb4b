/**
 * Taking in one submission for the class grader: only the student's blocks are taken.
 *
 * A submission is a directory: a student's handout repository (it has impl/ and .tinykv-handout.json) or
 * just the lab code (the files of impl/, at its top). The grader starts from a fresh copy of the kit's own
 * lab copy of the stage (labs/<lab>) and puts each of the student's blocks into it (handout/blocks.ts,
 * mergeBlocks: same stage, same guidance comment, same occurrence). Everything else of the submission is
 * ignored and listed: edits outside the blocks, files the kit does not have, files missing, and in a
 * handout repository every file outside impl/ that differs from the handout the kit builds (its harness,
 * suites, package.json...). The kit's own harness and suites grade every submission.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isStub, mergeBlocks, parseLabBlocks, type LabBlock, type ParsedLabFile } from '../handout/blocks.ts';
import { buildHandout } from '../handout/build.ts';
import { filesUnder, HANDOUT_INFO } from '../handout/upgrade.ts';
import { stageIndex, type Lab } from '../labs/stages.ts';

export interface Intake {
  /** The submission's directory name. */
  name: string;
  /** 'handout' (a handout repository), 'lab-code' (the lab's files at its top), or 'none' (nothing found). */
  layout: 'handout' | 'lab-code' | 'none';
  /** The student's blocks put into the kit's lab copy (not stubs). */
  blocksTaken: number;
  /** Blocks of the lab's stages still holding the stub. */
  blocksStubbed: number;
  /** What was ignored, one line each ("impl/raft/raft.ts:40: ..."). */
  ignored: string[];
  /** What went wrong taking a file in (its kit version was used instead). */
  problems: string[];
}

/** The lines of a parsed file outside its student blocks (what the student may not change). */
function givenLines(parsed: ParsedLabFile): string[] {
  return parsed.parts.filter((p): p is string => typeof p === 'string');
}

/** The first line (1-based, in `mine`) where the given code differs from the kit's, or undefined. */
function firstGivenDifference(mine: ParsedLabFile, kit: ParsedLabFile): number | undefined {
  const a = givenLines(mine);
  const b = givenLines(kit);
  if (a.length === b.length && a.every((line, i) => line === b[i])) return undefined;
  // Map the k-th given line back to its line number in `mine`.
  let line = 0;
  let given = 0;
  for (const part of mine.parts) {
    if (typeof part === 'string') {
      line++;
      if (a[given] !== b[given]) return line;
      given++;
    } else {
      line += part.endLine - part.beginLine + 1;
    }
  }
  return line; // the kit's file has more given lines after the end of the student's
}

/** Where the submission's lab code is: its impl/ (a handout) or its top (just the lab code). */
function findLabCode(submission: string, labFiles: readonly string[]): { dir: string; layout: Intake['layout'] } {
  const impl = path.join(submission, 'impl');
  if (fs.existsSync(path.join(submission, HANDOUT_INFO)) && fs.existsSync(impl)) return { dir: impl, layout: 'handout' };
  for (const [dir, layout] of [[impl, 'handout'], [submission, 'lab-code']] as const) {
    if (labFiles.some((rel) => fs.existsSync(path.join(dir, rel)))) return { dir, layout };
  }
  return { dir: submission, layout: 'none' };
}

/** Builds (once per grading) the kit's handout of a lab, to compare handout repositories against. */
export class HandoutReference {
  private dir: string | undefined;

  constructor(
    private readonly kitRoot: string,
    private readonly lab: Lab,
  ) {}

  get(): string {
    if (this.dir === undefined) {
      this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `tinykv-class-handout-${this.lab.id}-`));
      fs.rmSync(this.dir, { recursive: true });
      buildHandout(this.lab.id, this.dir, this.kitRoot);
    }
    return this.dir;
  }

  dispose(): void {
    if (this.dir !== undefined) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Puts the student's blocks of `submission` into a copy of the kit's lab copy at `outImplDir`, and says what
 * was taken and what was ignored.
 */
export function takeIn(submission: string, kitLabDir: string, lab: Lab, outImplDir: string, handout: HandoutReference): Intake {
  const name = path.basename(submission);
  const kitFiles = filesUnder(kitLabDir);
  fs.rmSync(outImplDir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(outImplDir), { recursive: true });
  fs.cpSync(kitLabDir, outImplDir, { recursive: true });
  const { dir, layout } = findLabCode(submission, kitFiles.filter((f) => f.endsWith('.ts')));
  const intake: Intake = { name, layout, blocksTaken: 0, blocksStubbed: 0, ignored: [], problems: [] };
  const reached = stageIndex(lab.stages[lab.stages.length - 1]!);
  const isLabStage = (b: LabBlock): boolean => stageIndex(b.stage) >= stageIndex(lab.stages[0]!) && stageIndex(b.stage) <= reached;
  const shown = (rel: string) => (layout === 'handout' ? `impl/${rel}` : rel);
  if (layout === 'none') {
    intake.problems.push(`no lab code found (neither impl/ nor the lab's files at the top): the lab's stubs are graded`);
    return intake;
  }

  for (const rel of kitFiles) {
    const kitText = fs.readFileSync(path.join(kitLabDir, rel), 'utf8');
    const mineFile = path.join(dir, rel);
    if (!fs.existsSync(mineFile)) {
      if (rel.endsWith('.ts')) intake.ignored.push(`${shown(rel)}: missing; the kit's version is used`);
      continue;
    }
    const mine = fs.readFileSync(mineFile, 'utf8');
    const kitParsed = parseLabBlocks(kitText);
    if (mine === kitText) {
      intake.blocksStubbed += kitParsed.blocks.filter((b) => isLabStage(b) && isStub(b)).length;
      continue;
    }
    if (kitParsed.blocks.length === 0) {
      intake.ignored.push(`${shown(rel)}: given code edited (no student block in this file); the kit's version is used`);
      continue;
    }
    const merged = mergeBlocks(mine, kitText);
    if (merged.problems.length > 0) {
      intake.problems.push(...merged.problems.map((p) => `${shown(rel)}: ${p}; the kit's version (stubs) is used`));
      continue;
    }
    fs.writeFileSync(path.join(outImplDir, rel), merged.text);
    for (const b of merged.carried) {
      if (isStub(b)) intake.blocksStubbed += isLabStage(b) ? 1 : 0;
      else intake.blocksTaken++;
    }
    for (const b of merged.orphans) intake.ignored.push(`${shown(rel)}:${b.beginLine}: a ${b.stage} block "${b.heading}" the lab does not have; ignored`);
    const differs = firstGivenDifference(parseLabBlocks(mine), kitParsed);
    if (differs !== undefined) intake.ignored.push(`${shown(rel)}:${differs}: edits outside the student blocks; ignored (the kit's given code is used)`);
  }
  const known = new Set(kitFiles);
  for (const rel of filesUnder(dir)) {
    if (!known.has(rel)) intake.ignored.push(`${shown(rel)}: a file the lab does not have; ignored`);
  }
  if (layout === 'handout') intake.ignored.push(...handoutDifferences(submission, handout.get()));
  return intake;
}

/** Files outside impl/ of a handout repository that differ from the kit's handout (or that it lacks). */
function handoutDifferences(submission: string, kitHandout: string): string[] {
  const out: string[] = [];
  const theirs = filesUnder(submission).filter((rel) => !rel.startsWith('impl/'));
  const ours = new Set(filesUnder(kitHandout).filter((rel) => !rel.startsWith('impl/')));
  for (const rel of theirs) {
    if (!ours.has(rel)) {
      out.push(`${rel}: not in the kit's handout; ignored`);
      continue;
    }
    ours.delete(rel);
    const a = fs.readFileSync(path.join(submission, rel));
    const b = fs.readFileSync(path.join(kitHandout, rel));
    if (!a.equals(b)) out.push(`${rel}: differs from the kit's handout; ignored (the kit's own harness, suites and settings grade)`);
  }
  for (const rel of ours) out.push(`${rel}: missing from the handout repository; ignored`);
  return out;
}
