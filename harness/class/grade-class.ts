/**
 * Grading a class: every submission of a folder, each taken in (intake.ts: only the student's blocks, into
 * the kit's own lab copy) and graded by the kit's own suites with the grader's loop (grader/grade.ts), its
 * workers inside a sandbox of their own (sandbox.ts) with a time limit per run and a memory limit.
 *
 * Every core is kept busy: submissions are graded side by side in `jobs` lanes (a lane is a worker pool of
 * its own, since a worker serves one submission's code), each lane taking the next submission when it is
 * done; with fewer submissions than jobs, the lanes get more workers each.
 *
 * The output directory holds class.json, class.csv and class.html, and per submission
 * submissions/<name>/intake.json, impl/ (the code graded) and grade/ (report.json, junit.xml, report.html,
 * failed runs' logs and traces, as `make grade` writes).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { discoverTests, grade } from '../grader/grade.ts';
import { selectStages, type GradedTest } from '../grader/plan.ts';
import { WorkerPool } from '../grader/pool.ts';
import { reportHtml } from '../grader/report-html.ts';
import { buildReport, junitXml, type GradeReport } from '../grader/report.ts';
import { resolveTarget, type Stage } from '../labs/stages.ts';
import { CLASS_SCHEMA_ID, classCsv, classHtml, classRow, type ClassReport, type ClassRow } from './class-report.ts';
import { HandoutReference, takeIn, type Intake } from './intake.ts';
import { checkSandbox, sandboxLauncher } from './sandbox.ts';
import { shardRuns, type Shard } from './shard.ts';

export interface ClassOptions {
  /** The kit's root. */
  root: string;
  /** A stage (2b) or a lab (2a). */
  stage: string;
  /** The folder of submissions: each subdirectory is one. */
  submissionsDir: string;
  runs: number;
  jobs: number;
  baseSeed: number;
  run?: RegExp;
  shard: Shard;
  outDir: string;
  /** Wall-clock limit of one run. */
  runBudgetMs: number;
  /** Memory limit of a worker and all it starts. */
  memoryLimitBytes: number;
  /** Told about each submission as it finishes. */
  onSubmission?: (row: ClassRow, done: number, total: number) => void;
}

export class ClassUsageError extends Error {}

/** The submissions: the folder's subdirectories (hidden ones left out), by name. */
export function listSubmissions(dir: string): string[] {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new ClassUsageError(`SUBMISSIONS=${dir}: no such directory`);
  const names = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  if (names.length === 0) throw new ClassUsageError(`SUBMISSIONS=${dir} holds no submission (one subdirectory per submission)`);
  return names;
}

/** Busy and total CPU ticks of the machine so far (/proc/stat), or undefined off Linux. */
function cpuTicks(): { busy: number; total: number } | undefined {
  try {
    const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = fields[3]! + fields[4]!;
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

const CLOCK_TICKS_PER_SECOND = 100;

/** The tests of the stage, listed once by loading the suites against the kit's own lab copy (trusted code). */
async function collectTests(o: ClassOptions, stages: Stage[], kitLabDir: string): Promise<GradedTest[]> {
  const pool = new WorkerPool({ jobs: 1, impl: kitLabDir, root: o.root });
  try {
    return await discoverTests(pool, { root: o.root, stages, run: o.run });
  } finally {
    pool.close();
  }
}

/** A path as replay commands show it: relative to the kit when inside it. */
function label(root: string, dir: string): string {
  const rel = path.relative(root, dir);
  return rel.startsWith('..') || path.isAbsolute(rel) ? dir : rel;
}

/** Grades one submission's share of the work; returns its row (undefined when the shard has none of it). */
async function gradeSubmission(o: ClassOptions, stages: Stage[], name: string, tests: GradedTest[], runsOf: Map<string, number[]>, jobs: number, intake: Intake, dir: string): Promise<ClassRow | undefined> {
  if (![...runsOf.values()].some((runs) => runs.length > 0)) return undefined;
  const impl = path.join(dir, 'impl');
  const gradeDir = path.join(dir, 'grade');
  const scratch = path.join(dir, 'sandbox');
  fs.mkdirSync(scratch, { recursive: true });
  const implLabel = label(o.root, impl);
  try {
    const state = await grade({
      root: o.root,
      stages,
      implLabel,
      implDir: impl,
      runs: o.runs,
      jobs,
      run: o.run,
      baseSeed: o.baseSeed,
      swarm: false,
      untilFail: false,
      outDir: gradeDir,
      traceDir: path.join(scratch, 'traces'),
      runBudgetMs: o.runBudgetMs,
      tests,
      runsOf: (t) => runsOf.get(t.key) ?? [],
      everyRun: true,
      pool: { launch: sandboxLauncher({ kitRoot: o.root, implDir: impl, scratchDir: scratch }), memoryLimitBytes: o.memoryLimitBytes },
    });
    const report: GradeReport = buildReport(
      state,
      { stage: o.stage.toLowerCase(), impl: implLabel, implCommit: null, implDirty: null, seedBase: o.baseSeed, swarm: false, runsPerTest: o.runs, timeBudgetMinutes: null, untilFail: false, jobs },
      Date.now(),
    );
    writeGradeReport(gradeDir, report);
    return classRow(intake, report, path.join('submissions', name, 'grade', 'report.json'));
  } finally {
    // What the sandbox wrote is not kept (a failed run's trace was copied into grade/traces).
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

export function writeGradeReport(gradeDir: string, report: GradeReport): void {
  fs.mkdirSync(gradeDir, { recursive: true });
  fs.writeFileSync(path.join(gradeDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(path.join(gradeDir, 'junit.xml'), junitXml(report));
  fs.writeFileSync(path.join(gradeDir, 'report.html'), reportHtml(report));
}

export function writeClassReport(outDir: string, report: ClassReport): void {
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'class.json'), `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(path.join(outDir, 'class.csv'), classCsv(report));
  fs.writeFileSync(path.join(outDir, 'class.html'), classHtml(report));
}

export async function gradeClass(o: ClassOptions): Promise<ClassReport> {
  const target = resolveTarget(o.stage.trim().toLowerCase());
  if (target === undefined) throw new ClassUsageError(`unknown stage '${o.stage}'`);
  const stages = selectStages(o.root, o.stage); // also a clear error for a stage without a suite
  const kitLabDir = path.join(o.root, 'labs', target.lab.id);
  if (!fs.existsSync(kitLabDir)) throw new ClassUsageError(`labs/${target.lab.id} is missing: run \`make labs\` first`);
  const names = listSubmissions(o.submissionsDir);
  const trialDir = path.join(o.outDir, 'sandbox-check');
  try {
    checkSandbox({ kitRoot: o.root, implDir: kitLabDir, scratchDir: trialDir });
  } catch (err) {
    throw new ClassUsageError((err as Error).message);
  } finally {
    fs.rmSync(trialDir, { recursive: true, force: true });
  }
  const startedAt = Date.now();
  const cpuBefore = cpuTicks();

  const tests = await collectTests(o, stages, kitLabDir);
  if (tests.length === 0) throw new ClassUsageError(`no test matches${o.run ? ` RUN=${o.run.source}` : ''} in stage ${o.stage}`);
  const assignment = shardRuns(o.shard, names, tests, o.runs);
  const handout = new HandoutReference(o.root, target.lab);
  const rows: ClassRow[] = [];
  try {
    // Intake first, for every submission (cheap, and every shard lists the same intake).
    const intakes = new Map<string, Intake>();
    for (const name of names) {
      const dir = path.join(o.outDir, 'submissions', name);
      const intake = takeIn(path.join(o.submissionsDir, name), kitLabDir, target.lab, path.join(dir, 'impl'), handout);
      fs.writeFileSync(path.join(dir, 'intake.json'), `${JSON.stringify(intake, null, 2)}\n`);
      intakes.set(name, intake);
    }
    const work = names.filter((n) => [...assignment.get(n)!.values()].some((r) => r.length > 0));
    const lanes = Math.max(1, Math.min(o.jobs, work.length));
    const jobsPerLane = Math.max(1, Math.floor(o.jobs / lanes));
    let next = 0;
    let done = 0;
    const lane = async (): Promise<void> => {
      for (let i = next++; i < work.length; i = next++) {
        const name = work[i]!;
        const row = await gradeSubmission(o, stages, name, tests, assignment.get(name)!, jobsPerLane, intakes.get(name)!, path.join(o.outDir, 'submissions', name));
        done++;
        if (row !== undefined) {
          rows.push(row);
          o.onSubmission?.(row, done, work.length);
        }
      }
    };
    await Promise.all(Array.from({ length: lanes }, lane));
  } finally {
    handout.dispose();
  }
  rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const finishedAt = Date.now();
  const cpuAfter = cpuTicks();
  const cores = os.availableParallelism();
  const cpu =
    cpuBefore === undefined || cpuAfter === undefined || cpuAfter.total === cpuBefore.total
      ? null
      : {
          cores,
          busySeconds: Math.round((cpuAfter.busy - cpuBefore.busy) / CLOCK_TICKS_PER_SECOND),
          utilisation: Math.round(((cpuAfter.busy - cpuBefore.busy) / (cpuAfter.total - cpuBefore.total)) * 1000) / 1000,
        };
  const report: ClassReport = {
    schema: CLASS_SCHEMA_ID,
    stage: o.stage.toLowerCase(),
    seedBase: o.baseSeed,
    runsPerTest: o.runs,
    run: o.run?.source ?? null,
    shard: o.shard.count === 1 ? null : { ...o.shard },
    shardsMerged: 1,
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date(finishedAt).toISOString(),
    wallSeconds: Math.round((finishedAt - startedAt) / 100) / 10,
    jobs: o.jobs,
    cpu,
    totals: { submissions: rows.length, runs: rows.reduce((a, r) => a + r.runs, 0), failures: rows.reduce((a, r) => a + r.failures, 0) },
    submissions: rows,
  };
  writeClassReport(o.outDir, report);
  return report;
}
