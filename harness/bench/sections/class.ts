/**
 * The class grader on 10 synthetic submissions of one stage (harness/class/synthetic.ts): the reference's
 * code, the stubs, and bug-zoo patches of the stage (one of them as a handout repository). Measures the
 * machine's CPU use while grading (every core should be busy), the CPU-seconds per scenario run (the cost
 * model in GUIDE.md), and checks that each submission's verdict equals `make grade` on the same code with
 * the same seed base (score and failing tests). Figures are printed, never asserted.
 *
 *   CLASS_STAGE=2b CLASS_RUNS=2 npx tsx harness/bench/run.ts class
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBugs } from '../../bugzoo/zoo.ts';
import { gradeClass } from '../../class/grade-class.ts';
import { asHandout, solvedLabCode, stubLabCode, zooLabCode } from '../../class/synthetic.ts';
import { grade } from '../../grader/grade.ts';
import { selectStages } from '../../grader/plan.ts';
import { buildReport } from '../../grader/report.ts';
import { resolveTarget } from '../../labs/stages.ts';
import type { BenchSection } from '../run.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const STAGE = (process.env.CLASS_STAGE ?? '2b').toLowerCase();
const RUNS = Number(process.env.CLASS_RUNS ?? 2);
const SEED = 2026;
const SUBMISSIONS = 10;

export const section: BenchSection = {
  name: 'class',
  description: `the class grader on ${SUBMISSIONS} synthetic submissions of stage ${STAGE}: CPU use, CPU-seconds per run, verdicts equal to make grade`,
  async run() {
    const target = resolveTarget(STAGE);
    if (target === undefined) throw new Error(`CLASS_STAGE=${STAGE}: no such stage`);
    const lab = target.lab;
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tinykv-bench-class-'));
    try {
      const subs = path.join(scratch, 'submissions');
      solvedLabCode(path.join(ROOT, 'reference'), lab, path.join(subs, 'reference'));
      stubLabCode(lab, path.join(subs, 'stubs'));
      const stageIds = new Set(target.stages.map((s) => s.id));
      const bugs = loadBugs().filter((b) => stageIds.has(b.stage.toUpperCase())).slice(0, SUBMISSIONS - 2);
      for (const bug of bugs) zooLabCode(bug.slug, lab, path.join(subs, bug.slug));
      if (bugs.length > 0) asHandout(path.join(subs, bugs[0]!.slug), lab);

      const jobs = os.availableParallelism();
      const out = path.join(scratch, 'class');
      const report = await gradeClass({
        root: ROOT,
        stage: STAGE,
        submissionsDir: subs,
        runs: RUNS,
        jobs,
        baseSeed: SEED,
        shard: { index: 0, count: 1 },
        outDir: out,
        runBudgetMs: 300_000,
        memoryLimitBytes: 2048 * 1024 * 1024,
      });
      const cpuPerRun = report.cpu === null ? null : report.cpu.busySeconds / Math.max(1, report.totals.runs);
      console.log(
        `class: ${report.totals.submissions} submissions of stage ${STAGE}, ${RUNS} runs per test, ${jobs} workers: ${report.wallSeconds} s, ${report.totals.runs} runs` +
          (report.cpu === null ? '' : `; CPU busy ${(report.cpu.utilisation * 100).toFixed(0)}% of ${report.cpu.cores} cores, ${cpuPerRun!.toFixed(2)} CPU-s per run`),
      );

      // The same code through `make grade`'s loop (no sandbox, same seed base): the verdicts must agree.
      let agree = 0;
      for (const row of report.submissions) {
        const impl = path.join(out, 'submissions', row.name, 'impl');
        const state = await grade({
          root: ROOT,
          stages: selectStages(ROOT, STAGE),
          implLabel: impl,
          implDir: impl,
          runs: RUNS,
          jobs,
          baseSeed: SEED,
          swarm: false,
          untilFail: false,
          outDir: path.join(scratch, 'grade', row.name),
        });
        const plain = buildReport(state, { stage: STAGE, impl, implCommit: null, implDirty: null, seedBase: SEED, swarm: false, runsPerTest: RUNS, timeBudgetMinutes: null, untilFail: false, jobs }, Date.now());
        const failingPlain = plain.tests.filter((t) => t.failures > 0).map((t) => t.name).sort();
        const failingClass = row.failingTests.map((t) => t.name).sort();
        const same = plain.score.earned === row.score.earned && JSON.stringify(failingPlain) === JSON.stringify(failingClass);
        if (same) agree++;
        console.log(`class:   ${row.name.padEnd(40)} class ${row.score.earned}/${row.score.possible}  make grade ${plain.score.earned}/${plain.score.possible}  ${same ? 'same' : `DIFFERENT (class failing: ${failingClass.join(', ')}; make grade failing: ${failingPlain.join(', ')})`}`);
      }
      console.log(`class: ${agree} of ${report.submissions.length} verdicts equal to make grade's`);
      return { stage: STAGE, runs: RUNS, wallSeconds: report.wallSeconds, cpu: report.cpu, cpuSecondsPerRun: cpuPerRun, agree, submissions: report.submissions.length };
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  },
};
