/**
 * `make grade STAGE=<stage|lab|all> [RUNS=20] [JOBS=<cores>] [IMPL=<dir>] [RUN=<regex>] [SEED=<base>]
 *             [TIME=<minutes>] [SWARM=1] [UNTIL_FAIL=1]`
 *
 *   npx tsx harness/grader/cli.ts --stage 3b [--runs 20] [--jobs 2] [--impl labs/3b] [--run <regex>]
 *                                 [--seed <base>] [--time <minutes>] [--swarm] [--until-fail] [--out <dir>]
 *
 * Runs every test of the stage's suites RUNS times (or for about TIME minutes), each run with its own seed
 * derived from the base seed, on JOBS worker processes; prints a live table, then the final table with the
 * failing seeds and their replay commands, and writes report.json, junit.xml and report.html into a grade
 * directory under .tmp/grades/. Exit status 0 only when every run passed.
 */
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RETENTION, prune } from '../retention.ts';
import { grade, type GradeState } from './grade.ts';
import { defaultImpl, GradeUsageError, selectStages } from './plan.ts';
import { liveTable, plainProgress } from './progress.ts';
import { reportHtml } from './report-html.ts';
import { buildReport, finalTable, junitXml } from './report.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const GRADES_DIR = path.join('.tmp', 'grades');

function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined || text === '') return fallback;
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) throw new GradeUsageError(`${name} must be a whole number >= 1, got "${text}"`);
  return Number(text);
}

function flag(text: string | boolean | undefined): boolean {
  if (typeof text === 'boolean') return text;
  return text !== undefined && text !== '' && text !== '0' && text.toLowerCase() !== 'false';
}

/** The git commit of the implementation directory, if it lies in a git work tree. */
function gitCommit(dir: string): { commit: string | null; dirty: boolean | null } {
  try {
    const commit = execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const status = execFileSync('git', ['-C', dir, 'status', '--porcelain', '--', '.'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return { commit, dirty: status.trim() !== '' };
  } catch {
    return { commit: null, dirty: null };
  }
}

function stamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      stage: { type: 'string', default: process.env.STAGE },
      runs: { type: 'string', default: process.env.RUNS },
      jobs: { type: 'string', default: process.env.JOBS },
      impl: { type: 'string', default: process.env.IMPL },
      run: { type: 'string', default: process.env.RUN },
      seed: { type: 'string', default: process.env.SEED },
      time: { type: 'string', default: process.env.TIME },
      swarm: { type: 'boolean', default: flag(process.env.SWARM) },
      'until-fail': { type: 'boolean', default: flag(process.env.UNTIL_FAIL) },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || values.stage === undefined || values.stage === '') {
    console.log('usage: make grade STAGE=<stage|lab|all> [RUNS=20] [JOBS=<cores>] [IMPL=<dir>] [RUN=<regex>] [SEED=<base>] [TIME=<minutes>] [SWARM=1] [UNTIL_FAIL=1]');
    console.log('   or: npx tsx harness/grader/cli.ts --stage 3b [--runs 20] [--jobs 2] [--impl labs/3b] [--run <regex>] [--seed <n>] [--time <min>] [--swarm] [--until-fail]');
    return values.help ? 0 : 2;
  }
  const stageName = values.stage.trim();
  const stages = selectStages(ROOT, stageName);
  const runs = positiveInt('RUNS', values.runs, 20);
  const jobs = positiveInt('JOBS', values.jobs, os.availableParallelism());
  let timeBudgetMs: number | undefined;
  if (values.time !== undefined && values.time !== '') {
    const minutes = Number(values.time);
    if (!Number.isFinite(minutes) || minutes <= 0) throw new GradeUsageError(`TIME must be a number of minutes > 0, got "${values.time}"`);
    timeBudgetMs = minutes * 60_000;
  }
  let pattern: RegExp | undefined;
  if (values.run !== undefined && values.run !== '') {
    try {
      pattern = new RegExp(values.run);
    } catch (err) {
      throw new GradeUsageError(`RUN is not a regular expression: ${(err as Error).message}`);
    }
  }
  let baseSeed: number;
  if (values.seed !== undefined && values.seed !== '') {
    if (!/^\d+$/.test(values.seed.trim()) || Number(values.seed) > 0xffff_ffff) throw new GradeUsageError(`SEED must be an integer in [0, 4294967295], got "${values.seed}"`);
    baseSeed = Number(values.seed);
  } else {
    baseSeed = randomInt(0, 0x1_0000_0000);
  }
  const implLabel = values.impl !== undefined && values.impl.trim() !== '' ? values.impl.trim() : defaultImpl(stageName, ROOT);
  const implDir = path.resolve(ROOT, implLabel);
  if (!fs.existsSync(implDir) || !fs.statSync(implDir).isDirectory()) {
    throw new GradeUsageError(`IMPL=${implLabel}: no such directory${implLabel.startsWith('labs/') ? ' (run `make labs` to generate the lab copies)' : ''}`);
  }

  const grades = path.join(ROOT, GRADES_DIR);
  const outDir = values.out !== undefined ? path.resolve(values.out) : path.join(grades, `${stamp(new Date())}-${stageName.toLowerCase()}`);
  fs.mkdirSync(outDir, { recursive: true });
  if (values.out === undefined) prune(grades, RETENTION.grades, [path.basename(outDir)]);

  const what = timeBudgetMs === undefined ? `${runs} runs per test` : `about ${values.time} minutes`;
  console.log(
    `Grading ${stages.map((s) => s.id).join(', ')} (${stages.map((s) => `harness/suites/${s.suiteDir}`).join(' ')}) against IMPL=${implLabel}: ` +
      `${what}, ${jobs} workers${values.swarm ? ', swarm' : ''}${values['until-fail'] ? ', until the first failure' : ''}`,
  );
  console.log(`Seed base ${baseSeed} (SEED=${baseSeed} repeats this grading run for run)`);

  const stop = { requested: false };
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    stop.requested = true;
    console.log('\nStopping: the workers are stopped, the table so far follows (Ctrl-C again to quit at once).');
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);

  const deadline = timeBudgetMs === undefined ? Infinity : Date.now() + timeBudgetMs;
  const tty = process.stdout.isTTY === true && process.env.CI === undefined;
  const header = `grade ${stageName} (${implLabel})`;
  const view = tty ? liveTable(process.stdout, jobs, deadline, header) : plainProgress(process.stdout, jobs, deadline);
  let state: GradeState;
  try {
    state = await grade({
      root: ROOT,
      stages,
      implLabel,
      implDir,
      runs,
      timeBudgetMs,
      jobs,
      run: pattern,
      baseSeed,
      swarm: values.swarm!,
      untilFail: values['until-fail']!,
      outDir,
      stop,
      onRun: (s, t, result) => {
        if (result.status === 'failed') view.failure(t, `FAIL ${t.test.fullName} seed ${t.failed[t.failed.length - 1]?.seed}: ${(result.error ?? '').split('\n')[0]!.slice(0, 160)}`);
        view.update(s);
      },
    });
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
  view.finish(state);
  if (state.tests.length === 0) throw new GradeUsageError(`no test matches${pattern ? ` RUN=${values.run}` : ''} in ${stages.map((s) => s.suiteDir).join(', ')}`);

  const { commit, dirty } = gitCommit(implDir);
  const report = buildReport(
    state,
    {
      stage: stageName.toLowerCase(),
      impl: implLabel,
      implCommit: commit,
      implDirty: dirty,
      seedBase: baseSeed,
      swarm: values.swarm!,
      runsPerTest: timeBudgetMs === undefined ? runs : null,
      timeBudgetMinutes: timeBudgetMs === undefined ? null : timeBudgetMs / 60_000,
      untilFail: values['until-fail']!,
      jobs,
    },
    Date.now(),
  );
  fs.writeFileSync(path.join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(path.join(outDir, 'junit.xml'), junitXml(report));
  fs.writeFileSync(path.join(outDir, 'report.html'), reportHtml(report));
  console.log('');
  process.stdout.write(finalTable(report));
  console.log(
    `Peak memory of a worker: ${(report.peakWorkerRssBytes / 1024 / 1024).toFixed(0)} MB` +
      (report.simEventsPerSecond === null ? '' : `; simulation speed: ${report.simEventsPerSecond} events/s per worker`),
  );
  const rel = path.relative(process.cwd(), outDir) || '.';
  console.log(`Reports: ${rel}/report.html  ${rel}/report.json  ${rel}/junit.xml${report.totals.failures > 0 ? `  (failed runs: ${rel}/failures/)` : ''}`);
  if (stop.requested && interrupts > 0) return 130;
  return report.totals.failures === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof GradeUsageError) {
      console.error(`grade: ${err.message}`);
      process.exit(2);
    }
    console.error(err);
    process.exit(1);
  },
);
