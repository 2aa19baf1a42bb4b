/**
 * Kit: the grader's power table. The arithmetic that turns a measured failure rate into runs (median runs to
 * the first failure, RUNS for 99%), the checks on measurements in bugs.json, and GUIDE.md's table being the
 * one `power.ts --guide` would write from bugs.json today (so a new measurement cannot be forgotten there).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { medianRunsToFailure, powerTable, runsFor99 } from '../../bugzoo/power.ts';
import { BugZooError, loadBugs, repoRoot } from '../../bugzoo/zoo.ts';

describe('kit: bug zoo power', () => {
  it('turns a rate per run into runs: a geometric law', () => {
    expect(runsFor99(1)).toBe(1);
    expect(medianRunsToFailure(1)).toBe(1);
    // (1 - 0.21)^20 = 0.0090 <= 1%, (1 - 0.2)^20 = 0.0115 > 1%: GUIDE's "every bug of 21% or more at RUNS=20".
    expect(runsFor99(0.21)).toBe(20);
    expect(runsFor99(0.2)).toBe(21);
    expect(runsFor99(0.05)).toBe(90);
    // Half of all gradings have failed by the median: (1 - 0.05)^14 = 0.488, (1 - 0.05)^13 = 0.513.
    expect(medianRunsToFailure(0.05)).toBe(14);
    expect(medianRunsToFailure(0.5)).toBe(1);
    expect(runsFor99(0)).toBeUndefined();
    expect(medianRunsToFailure(0)).toBeUndefined();
  });

  it('refuses a measurement whose rate does not match its counts', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'zoo-')), 'bugs.json');
    const bug = { id: 99, slug: '99-x', title: 't', stage: '2B', suites: ['harness/suites/2b'], patch: 'bugs/x.patch' };
    const measured = { swarm: false, suiteRuns: 100, failingRuns: 7, seedBase: 1, date: '2026-12-02', firstFailure: 3 };
    fs.writeFileSync(file, JSON.stringify([{ ...bug, measured: [{ ...measured, rate: 0.07 }] }]));
    expect(loadBugs(file)[0]!.measured![0]!.rate).toBe(0.07);
    fs.writeFileSync(file, JSON.stringify([{ ...bug, measured: [{ ...measured, rate: 0.5 }] }]));
    expect(() => loadBugs(file)).toThrow(BugZooError);
    fs.writeFileSync(file, JSON.stringify([{ ...bug, measured: [{ ...measured, failingRuns: 101, rate: 1.01 }] }]));
    expect(() => loadBugs(file)).toThrow(/failingRuns/);
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });

  it("GUIDE.md's power table is the one bugs.json gives (regenerate: npx tsx harness/bugzoo/power.ts --guide)", () => {
    const guide = fs.readFileSync(path.join(repoRoot, 'GUIDE.md'), 'utf8');
    const start = guide.indexOf('<!-- power-table:start');
    const end = guide.indexOf('<!-- power-table:end -->');
    expect(start, 'GUIDE.md has the power-table markers').toBeGreaterThanOrEqual(0);
    const inGuide = guide.slice(guide.indexOf('\n', start) + 1, end).trim();
    expect(inGuide).toBe(powerTable(loadBugs()).trim());
  });

  it('every rare bug (measured plain rate below 1) is a bug of a stage with seeded cluster scenarios (2B, 2C, 3B, 3C) measured on at least 100 suite runs', () => {
    for (const bug of loadBugs()) {
      const plain = bug.measured?.find((m) => !m.swarm);
      if (plain === undefined || plain.rate >= 1) continue;
      expect(['2B', '2C', '3B', '3C'], bug.slug).toContain(bug.stage);
      expect(plain.suiteRuns, bug.slug).toBeGreaterThanOrEqual(100);
      expect(plain.rate, `${bug.slug} never failed: it is not a catchable bug`).toBeGreaterThan(0);
    }
  });
});
