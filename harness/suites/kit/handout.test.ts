/**
 * Handouts (`make handout LAB=<lab> OUT=<dir>`, harness/handout/build.ts): a 2a handout built into a temporary
 * directory holds the student's copy, the suites of stages 1-2AC and what they need, and nothing from which a
 * solution of 2AA or later can be read; in it, `make project1` passes from the start, `make project2a` fails on
 * the stubs and passes once the reference's 2A blocks are put in; a planted solution is found.
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

/** `make <args>` in the handout; the output without colours. */
function make(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('make', args, { cwd: handout, encoding: 'utf8', env: { ...process.env, IMPL: '', FORCE_COLOR: '0' }, timeout: 240_000 });
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
    expect(() => buildHandout('3c', path.join(scratch, 'x'), ROOT)).toThrow(/stage 3C has no suite yet/);
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
