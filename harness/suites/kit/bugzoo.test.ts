/**
 * Kit: every bug of the bug zoo (harness/bugzoo/bugs.json) still applies cleanly to the current reference/.
 * A refactor of reference/ that breaks a patch shows up here; regenerate the patch (see harness/bugzoo/run.ts).
 * The suites themselves are not run here (too slow for every run): `npx tsx harness/bugzoo/run.ts` does that.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyPatch, loadBugs, makeReferenceCopy, patchPath, patchedFiles, removeCopy, repoRoot,
} from '../../bugzoo/zoo.ts';

const bugs = loadBugs();

describe('kit: bug zoo', () => {
  let copy = '';
  beforeAll(() => {
    copy = makeReferenceCopy('kit-check');
  });
  afterAll(() => {
    if (copy) removeCopy(copy);
  });

  it('has a patch for each of the raft and raftstore bugs 1-25', () => {
    const ids = new Set(bugs.map((b) => b.id));
    for (let id = 1; id <= 25; id++) expect(ids.has(id), `known bug ${id} has no patch`).toBe(true);
  });

  for (const bug of bugs) {
    it(`patch ${bug.slug} applies cleanly to reference/ and changes only reference/`, () => {
      const file = patchPath(bug);
      expect(fs.existsSync(file), `${file} is missing`).toBe(true);
      const touched = patchedFiles(file);
      expect(touched.length).toBeGreaterThan(0);
      for (const f of touched) {
        expect(f.startsWith('reference/'), `${bug.slug} touches ${f}, outside reference/`).toBe(true);
        expect(fs.existsSync(path.join(repoRoot, f)), `${bug.slug} patches ${f}, which does not exist`).toBe(true);
      }
      applyPatch(file, copy, true);
    });
  }
});
