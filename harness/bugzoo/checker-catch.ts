/**
 * Which zoo patches the cluster tests' invariant checks (harness/cluster/invariant-checks.ts) catch, and how
 * much earlier than the tests' own checks: each patch's stage suite is graded once with the checks on and
 * once with SIM_CHECKS=off, same seeds, and the failing tests of the two gradings are compared.
 *
 *   npx tsx harness/bugzoo/checker-catch.ts [--bug <id or slug>[,...]] [--stage 2B,2C,3B] [--seed 1] [--jobs <cores>]
 *
 * Default: every 2B, 2C and 3B patch that fails every run of its suite (the rare ones need many runs; see
 * power.ts). For each patch it prints: the tests failing with the checks on, how many of them a checker
 * stopped (and which checkers), the tests failing without the checks, and for the tests failing both ways
 * the median virtual time the checks gained. A markdown table at the end goes into GUIDE.md by hand.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { grade, type GradeState } from '../grader/grade.ts';
import { selectStages } from '../grader/plan.ts';
import { applyPatch, loadBugs, makeReferenceCopy, patchPath, plainRate, removeCopy, repoRoot, type Bug } from './zoo.ts';

/** One failing test of one grading. */
interface Failure {
  test: string;
  /** "raft safety", "store writes", "answers", or undefined when the test's own check failed. */
  checker: string | undefined;
  /** When the run stopped, in virtual ms (undefined when the log does not say). */
  virtualMs: number | undefined;
}

interface Comparison {
  bug: Bug;
  withChecks: Failure[];
  withoutChecks: Failure[];
}

const CHECKER = /Invariant violated \(([^)]+)\)/;
const VIRTUAL_TIME = /\(at virtual time (\d+) ms\)/;

async function failures(bug: Bug, implDir: string, seed: number, jobs: number, checks: boolean): Promise<Failure[]> {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bugzoo-checkers-'));
  const before = process.env.SIM_CHECKS;
  // The grader's workers inherit the environment: this is how the checks are turned off for them.
  if (checks) delete process.env.SIM_CHECKS;
  else process.env.SIM_CHECKS = 'off';
  try {
    const state: GradeState = await grade({
      root: repoRoot,
      stages: selectStages(repoRoot, bug.stage),
      implLabel: implDir,
      implDir,
      runs: 1,
      jobs,
      baseSeed: seed,
      swarm: false,
      untilFail: false,
      outDir,
    });
    const found: Failure[] = [];
    for (const t of state.tests) {
      for (const f of t.failed) {
        const log = fs.readFileSync(path.join(outDir, f.log), 'utf8');
        const checker = CHECKER.exec(f.summary)?.[1] ?? CHECKER.exec(log)?.[1];
        const time = VIRTUAL_TIME.exec(log)?.[1];
        found.push({ test: t.test.fullName, checker, virtualMs: time === undefined ? undefined : Number(time) });
      }
    }
    return found;
  } finally {
    if (before === undefined) delete process.env.SIM_CHECKS;
    else process.env.SIM_CHECKS = before;
    fs.rmSync(outDir, { recursive: true, force: true });
  }
}

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function summarize(c: Comparison): { byChecker: string; gain: string } {
  const byChecker = c.withChecks.filter((f) => f.checker !== undefined);
  const checkers = [...new Set(byChecker.map((f) => f.checker))].join(', ');
  const gains: number[] = [];
  for (const on of byChecker) {
    const off = c.withoutChecks.find((f) => f.test === on.test);
    if (off?.virtualMs !== undefined && on.virtualMs !== undefined) gains.push(off.virtualMs - on.virtualMs);
  }
  const m = median(gains);
  return {
    byChecker: byChecker.length === 0 ? 'none' : `${byChecker.length} (${checkers})`,
    gain: m === undefined ? '-' : `${(m / 1000).toFixed(1)} s (${gains.length} tests)`,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      bug: { type: 'string' },
      stage: { type: 'string', default: '2B,2C,3B' },
      seed: { type: 'string', default: '1' },
      jobs: { type: 'string', default: String(Math.max(1, os.availableParallelism())) },
    },
  });
  const stages = new Set(values.stage!.split(',').map((s) => s.trim().toUpperCase()));
  const wanted = values.bug?.split(',').map((s) => s.trim());
  const bugs = loadBugs().filter((b) =>
    wanted !== undefined
      ? wanted.some((w) => b.slug === w || String(b.id) === w)
      : stages.has(b.stage) && (plainRate(b) === undefined || plainRate(b) === 1),
  );
  const seed = Number(values.seed);
  const jobs = Number(values.jobs);
  const rows: string[] = [];
  for (const bug of bugs) {
    const copy = makeReferenceCopy(`checkers-${bug.slug}`);
    try {
      applyPatch(patchPath(bug), copy);
      const impl = path.join(copy, 'reference');
      const c: Comparison = {
        bug,
        withChecks: await failures(bug, impl, seed, jobs, true),
        withoutChecks: await failures(bug, impl, seed, jobs, false),
      };
      const s = summarize(c);
      console.log(
        `${bug.slug} [${bug.stage}]: ${c.withChecks.length} tests fail with the checks (stopped by a checker: ${s.byChecker}); ` +
          `${c.withoutChecks.length} without; median virtual time gained: ${s.gain}`,
      );
      rows.push(`| ${bug.slug} | ${bug.stage} | ${c.withChecks.length} | ${s.byChecker} | ${c.withoutChecks.length} | ${s.gain} |`);
    } finally {
      removeCopy(copy);
    }
  }
  console.log('\n| patch | stage | tests failing (checks on) | stopped by a checker | tests failing (checks off) | median time gained |');
  console.log('|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
}

await main();
