/**
 * The numbers behind the cost model in GUIDE.md ("Grading a class"): for each stage, a class of one
 * submission (the reference's code in the lab's blocks) graded RUNS times per test on this machine, and the
 * CPU-seconds the machine spent per scenario run (busy CPU time while grading, from /proc/stat, over the
 * runs). Prints a table and, for a class of N students and R runs per test, machine-hours and the wall time
 * on k machines of this kind.
 *
 *   npx tsx harness/class/cost.ts [--runs 2] [--stages 1,2b,3b] [--students 200] [--class-runs 50]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { STAGES, resolveTarget } from '../labs/stages.ts';
import { gradeClass } from './grade-class.ts';
import { solvedLabCode } from './synthetic.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Machine-hours and wall hours on `machines` machines of `cores` cores for a class. */
export function classCost(cpuSecondsPerRun: number, tests: number, students: number, runsPerTest: number, machines: number, cores: number): { cpuHours: number; wallHours: number } {
  const cpuHours = (cpuSecondsPerRun * tests * students * runsPerTest) / 3600;
  return { cpuHours, wallHours: cpuHours / (machines * cores) };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '2' },
      stages: { type: 'string', default: STAGES.map((s) => s.suiteDir).join(',') },
      students: { type: 'string', default: '200' },
      'class-runs': { type: 'string', default: '50' },
    },
  });
  const runs = Number(values.runs);
  const students = Number(values.students);
  const classRuns = Number(values['class-runs']);
  const cores = os.availableParallelism();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tinykv-class-cost-'));
  const rows: Array<{ stage: string; tests: number; runs: number; cpuPerRun: number; wall: number; utilisation: number }> = [];
  try {
    for (const stage of values.stages!.split(',').map((s) => s.trim().toLowerCase())) {
      const target = resolveTarget(stage);
      if (target === undefined) throw new Error(`unknown stage ${stage}`);
      const subs = path.join(scratch, stage, 'submissions');
      solvedLabCode(path.join(ROOT, 'reference'), target.lab, path.join(subs, 'reference'));
      const report = await gradeClass({
        root: ROOT,
        stage,
        submissionsDir: subs,
        runs,
        jobs: cores,
        baseSeed: 77,
        shard: { index: 0, count: 1 },
        outDir: path.join(scratch, stage, 'out'),
        runBudgetMs: 300_000,
        memoryLimitBytes: 2048 * 1024 * 1024,
      });
      const cpu = report.cpu;
      if (cpu === null) throw new Error('no CPU figures on this machine (/proc/stat)');
      const tests = report.totals.runs / runs;
      rows.push({ stage, tests, runs: report.totals.runs, cpuPerRun: cpu.busySeconds / report.totals.runs, wall: report.wallSeconds, utilisation: cpu.utilisation });
      console.log(`${stage}: ${tests} tests, ${report.totals.runs} runs (${report.totals.failures} failed) in ${report.wallSeconds} s; CPU busy ${(cpu.utilisation * 100).toFixed(0)}%, ${(cpu.busySeconds / report.totals.runs).toFixed(2)} CPU-s per run`);
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  console.log('');
  console.log(`| stage | tests | CPU-s per run | CPU-h for ${students} students x ${classRuns} runs | wall on 1 / 10 / 50 machines of ${cores} cores |`);
  console.log('|---|---|---|---|---|');
  for (const r of rows) {
    const one = classCost(r.cpuPerRun, r.tests, students, classRuns, 1, cores);
    const ten = classCost(r.cpuPerRun, r.tests, students, classRuns, 10, cores);
    const fifty = classCost(r.cpuPerRun, r.tests, students, classRuns, 50, cores);
    console.log(`| ${r.stage} | ${r.tests} | ${r.cpuPerRun.toFixed(2)} | ${one.cpuHours.toFixed(1)} | ${one.wallHours.toFixed(1)} h / ${ten.wallHours.toFixed(1)} h / ${fifty.wallHours.toFixed(2)} h |`);
  }
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
