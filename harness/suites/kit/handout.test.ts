/**
 * Handouts (`make handout LAB=<lab> OUT=<dir>`, harness/handout/build.ts): a 2a handout built into a temporary
 * directory holds the student's copy, the suites of stages 1-2AC and what they need, and nothing from which a
 * solution of 2AA or later can be read; in it, `make project1` passes from the start, `make project2a` fails on
 * the stubs and passes once the reference's 2A blocks are put in; a planted solution is found. Upgraded to 2b
 * (`make upgrade LAB=2b KIT=<kit>`), a 2a handout keeps the student's blocks byte for byte, gains the 2B stubs
 * and suites, and still passes 2A; a block the new lab reshaped is reported, both versions kept.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { buildHandout, findSolutionLeaks, HandoutError } from '../../handout/build.ts';
import { listFiles } from '../../labs/closure.ts';
import { transformSource } from '../../labs/markers.ts';
import { getLab, stageIndex } from '../../labs/stages.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'handout-kit-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const handout = path.join(scratch, 'tinykv-2a');
buildHandout('2a', handout, ROOT);
// What `npm ci` would install, without the network.
fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(handout, 'node_modules'));

/** `make <args>` in a handout (default: the 2a one); the output without colours. */
function make(...args: string[]): { status: number | null; output: string } {
  return makeIn(handout, ...args);
}

function makeIn(dir: string, ...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('make', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, IMPL: '', FORCE_COLOR: '0' }, timeout: 240_000 });
  return { status: result.status, output: (result.stdout + result.stderr).replace(/\u001b\[[0-9;]*m/g, '') };
}

describe('a handout of lab 2a', () => {
  const files = listFiles(handout).filter((f) => !f.startsWith('node_modules'));

  it("holds the student's copy, the suites of stages 1 to 2AC, and no kit-only part", () => {
    for (const f of ['README.md', 'GUIDE.md', 'Makefile', 'package.json', 'package-lock.json', 'tsconfig.json', 'vitest.config.ts', 'impl/raft/raft.ts', 'proto/index.ts']) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => f.startsWith('harness/suites/1/')).length).toBeGreaterThan(0);
    expect(files.filter((f) => f.startsWith('harness/suites/2ac/')).length).toBeGreaterThan(0);
    const forbidden = files.filter(
      (f) => f.startsWith('reference/') || f.startsWith('labs/') || f.startsWith('harness/bugzoo/') || f.startsWith('harness/suites/kit/') || f.startsWith('harness/suites/2b/') || /\.kit-only\./.test(f),
    );
    expect(forbidden).toEqual([]);
    const guide = fs.readFileSync(path.join(handout, 'GUIDE.md'), 'utf8');
    expect(guide).toContain('### Project 2A');
    expect(guide).not.toContain('### Project 2B');
    expect(guide).not.toMatch(/^## (For instructors|Architecture)/m);
  });

  it('shows no code of a 2AA-or-later student block, and finds one planted in it', () => {
    expect(findSolutionLeaks(ROOT, getLab('2a'), handout)).toEqual([]);
    const planted = path.join(handout, 'harness/tools/notes.ts');
    fs.copyFileSync(path.join(ROOT, 'reference/raft/raft.ts'), planted);
    try {
      const leaks = findSolutionLeaks(ROOT, getLab('2a'), handout);
      expect(leaks.length).toBe(1);
      expect(leaks[0]).toMatch(/^harness\/tools\/notes\.ts: stage 2A[ABC] block at reference\/raft\/raft\.ts:\d+$/);
    } finally {
      fs.rmSync(planted);
    }
  });

  it('is refused into a directory that is not empty, and for a lab without a suite', () => {
    expect(() => buildHandout('2a', handout, ROOT)).toThrow(HandoutError);
    expect(() => buildHandout('2a', handout, ROOT)).toThrow(/not empty.*nothing was written/);
    // A kit whose 3C stage has no suite (an empty root: the check comes before anything is read or written).
    const bare = fs.mkdtempSync(path.join(scratch, 'bare-kit-'));
    expect(() => buildHandout('3c', path.join(scratch, 'x'), bare)).toThrow(/stage 3C has no suite yet/);
    expect(fs.existsSync(path.join(scratch, 'x'))).toBe(false);
    expect(() => buildHandout('9z', path.join(scratch, 'y'), ROOT)).toThrow(/unknown lab '9z'/);
  });

  it('runs on its own: stage 1 passes from the start, 2A fails on the stubs and passes with the reference blocks', () => {
    const first = make('project1');
    expect(first.output).toMatch(/Tests\s+\d+ passed/);
    expect(first.status).toBe(0);

    const stubs = make('project2a');
    expect(stubs.output).toMatch(/Not implemented \(stage 2A[ABC]\)/);
    expect(stubs.status).not.toBe(0);

    // Put the reference's 2A blocks in, as a student who solved the lab would have them.
    const firstLater = stageIndex('2AC') + 1;
    for (const rel of listFiles(path.join(ROOT, 'reference'))) {
      if (!rel.endsWith('.ts')) continue;
      const solved = transformSource(fs.readFileSync(path.join(ROOT, 'reference', rel), 'utf8'), rel, firstLater, { markBlocks: true });
      fs.writeFileSync(path.join(handout, 'impl', rel), solved);
    }
    const solved = make('project2a');
    expect(solved.output).toMatch(/Tests\s+\d+ passed/);
    expect(solved.output).not.toMatch(/failed/);
    expect(solved.status).toBe(0);
  }, 600_000);
});

/** Puts the reference's blocks of every stage up to `lastStage` into the handout's impl/, delimited as in a lab. */
function solveUpTo(dir: string, lastStage: string): void {
  const firstLater = stageIndex(lastStage) + 1;
  for (const rel of listFiles(path.join(ROOT, 'reference'))) {
    if (!rel.endsWith('.ts')) continue;
    const solved = transformSource(fs.readFileSync(path.join(ROOT, 'reference', rel), 'utf8'), rel, firstLater, { markBlocks: true });
    fs.writeFileSync(path.join(dir, 'impl', rel), solved);
  }
}

describe('upgrading a handout to the next lab', () => {
  const student = path.join(scratch, 'student');
  buildHandout('2a', student, ROOT);
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(student, 'node_modules'));
  const raft = path.join(student, 'impl/raft/raft.ts');
  const EDIT = '    // my own note: keep me (42)';

  it('keeps every block the student wrote, byte for byte, gains the 2B stubs and suites, and passes 2A', () => {
    solveUpTo(student, '2AC');
    // A recognisable edit inside the first 2AA block.
    const text = fs.readFileSync(raft, 'utf8');
    const at = text.indexOf('\n', text.indexOf('// Your code here (2AA)'));
    fs.writeFileSync(raft, `${text.slice(0, at + 1)}${EDIT}\n${text.slice(at + 1)}`);
    const before = fs.readFileSync(path.join(student, 'impl/raft/log.ts'), 'utf8');

    const upgrade = makeIn(student, 'upgrade', 'LAB=2b', `KIT=${ROOT}`);
    expect(upgrade.output).toMatch(/upgrade: lab 2a -> 2b; \d+ of your blocks carried over/);
    expect(upgrade.status).toBe(0);
    expect(fs.readFileSync(raft, 'utf8')).toContain(EDIT);
    expect(fs.readFileSync(path.join(student, 'impl/raft/log.ts'), 'utf8')).toBe(before);
    expect(fs.readFileSync(path.join(student, 'impl/kv/raftstore/apply.ts'), 'utf8')).toContain("new NotImplemented('2B'");
    expect(fs.existsSync(path.join(student, 'harness/suites/2b'))).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(student, '.tinykv-handout.json'), 'utf8'))).toEqual({ lab: '2b' });

    const earlier = makeIn(student, 'project2a');
    expect(earlier.output).toMatch(/Progress: 2AA (\d+)\/\1 tests pass, 2AB (\d+)\/\2 tests pass, 2AC (\d+)\/\3 tests pass/);
    expect(earlier.status).toBe(0);
  }, 300_000);

  it('reports a block the new version reshaped by file and line, and keeps both versions', () => {
    // As if the kit had reworded the block the student edited (its stage's signature changed).
    const text = fs.readFileSync(raft, 'utf8');
    const reworded = text.replace(/\/\/ Your code here \(2AA\): [^\n]*/, '// Your code here (2AA): an older wording of this block');
    const line = reworded.slice(0, reworded.indexOf('an older wording')).split('\n').length;
    fs.writeFileSync(raft, reworded);

    const refresh = makeIn(student, 'upgrade', `KIT=${ROOT}`);
    expect(refresh.status).not.toBe(0); // make's own status (2) for the tool's 1
    expect(refresh.output).toContain(`impl/raft/raft.ts:${line}: your 2AA block "// Your code here (2AA): an older wording of this block" has no place in the new version`);
    expect(fs.readFileSync(`${raft}.mine`, 'utf8')).toBe(reworded);
    const merged = fs.readFileSync(raft, 'utf8');
    expect(merged).not.toContain('an older wording');
    expect(merged).not.toContain(EDIT);
  }, 300_000);
});
