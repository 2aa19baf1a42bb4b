/**
 * The bug zoo runner: proves the suites catch the known student bugs.
 *
 *   npx tsx harness/bugzoo/run.ts [--bug N|SLUG[,...]] [--runs K] [--all-runs] [--timeout SECONDS]
 *                                 [--no-baseline] [--json FILE] [--keep]
 *
 * `--bug 9` selects every variant of known bug 9; a slug (09-messages-not-cleared) selects one patch.
 * For each bug of harness/bugzoo/bugs.json: copy reference/ to a temporary directory, apply the bug's patch,
 * run the bug's suites against the copy (IMPL=<copy>, vitest's JSON reporter) up to K times (SEED = 1..K; stop
 * at the first run that catches it unless --all-runs), and report whether it was caught and by which tests.
 * A baseline run on the unpatched reference comes first: a test that already fails there proves nothing and
 * is not counted. Exit code 1 when any bug escapes (or the baseline fails), 0 otherwise.
 *
 * A rare bug (its measured plain rate in bugs.json is below 1: one run of the suite usually passes) is
 * graded instead, as `make grade` would: its stage's tests on fresh seeds, up to the RUNS that catch it in
 * 99% of gradings (or --runs, if larger), stopping at the first failure.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gradeSuiteRuns, runsFor99 } from './power.ts';
import {
  type Bug, BugZooError, applyPatch, loadBugs, makeReferenceCopy, patchPath, plainRate, removeCopy, repoRoot,
} from './zoo.ts';

interface Options {
  /** Bug numbers (every variant of that bug) or patch slugs. */
  bugIds: string[] | undefined;
  runs: number;
  allRuns: boolean;
  timeoutSeconds: number;
  baseline: boolean;
  jsonOut: string | undefined;
  keep: boolean;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Options {
  const opts: Options = {
    bugIds: undefined, runs: 1, allRuns: false, timeoutSeconds: 600, baseline: true, jsonOut: undefined, keep: false,
  };
  const positiveInt = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} needs a positive integer, got ${v ?? 'nothing'}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    switch (arg) {
      case '--bug': {
        const v = argv[++i];
        if (v === undefined) throw new UsageError('--bug needs a bug number or slug (or a comma-separated list)');
        opts.bugIds = [...(opts.bugIds ?? []), ...v.split(',').filter((s) => s !== '')];
        break;
      }
      case '--runs': opts.runs = positiveInt('--runs', argv[++i]); break;
      case '--all-runs': opts.allRuns = true; break;
      case '--timeout': opts.timeoutSeconds = positiveInt('--timeout', argv[++i]); break;
      case '--no-baseline': opts.baseline = false; break;
      case '--json': {
        const v = argv[++i];
        if (v === undefined) throw new UsageError('--json needs a file name');
        opts.jsonOut = v;
        break;
      }
      case '--keep': opts.keep = true; break;
      case '--help': case '-h':
        throw new UsageError('');
      default:
        throw new UsageError(`unknown argument ${arg}`);
    }
  }
  return opts;
}

/** The outcome of one vitest run. Failed tests are named `file > describe > test`. */
interface SuiteRun {
  failed: string[];
  passedCount: number;
  /** The run hung and was stopped: the student would see a hung test, so this counts as caught. */
  hung?: string;
  /** The harness could not judge (no report, no test ran): never counts as caught. */
  error?: string;
}

interface VitestAssertion { fullName: string; status: string }
interface VitestFile { name: string; status: string; message?: string; assertionResults: VitestAssertion[] }
interface VitestReport { testResults: VitestFile[] }

/** Runs vitest on `suites` against the implementation in `implDir`, in its own process group. */
function runSuites(suites: string[], implDir: string, seed: number, timeoutSeconds: number, workDir: string): Promise<SuiteRun> {
  const reportFile = path.join(workDir, `vitest-${seed}.json`);
  fs.rmSync(reportFile, { force: true });
  const vitest = path.join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs');
  const args = [vitest, 'run', ...suites, '--reporter=json', `--outputFile=${reportFile}`];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd: repoRoot,
      env: { ...process.env, IMPL: implDir, SEED: String(seed) },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true, // its own process group, so a hung run can be stopped with all its workers
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4000); });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ }
    }, timeoutSeconds * 1000);
    child.on('close', () => {
      clearTimeout(timer);
      if (timedOut) {
        resolve({ failed: [], passedCount: 0, hung: `timed out after ${timeoutSeconds}s (a hang counts as caught)` });
        return;
      }
      if (!fs.existsSync(reportFile)) {
        resolve({ failed: [], passedCount: 0, error: `vitest wrote no report: ${stderr.trim().split('\n').slice(-5).join(' | ')}` });
        return;
      }
      resolve(readReport(reportFile));
    });
  });
}

function readReport(file: string): SuiteRun {
  const report = JSON.parse(fs.readFileSync(file, 'utf8')) as VitestReport;
  const failed: string[] = [];
  let passedCount = 0;
  for (const f of report.testResults) {
    const rel = path.relative(repoRoot, f.name);
    for (const a of f.assertionResults) {
      if (a.status === 'failed') failed.push(`${rel} > ${a.fullName}`);
      else if (a.status === 'passed') passedCount++;
    }
    // A file that failed as a whole (import error, crash) names no test: count the file itself.
    if (f.status === 'failed' && !f.assertionResults.some((a) => a.status === 'failed')) {
      failed.push(`${rel} (file failed: ${(f.message ?? '').split('\n')[0]})`);
    }
  }
  if (failed.length === 0 && passedCount === 0) return { failed, passedCount, error: 'no test ran (check the suite paths)' };
  return { failed, passedCount };
}

interface BugResult {
  id: number;
  slug: string;
  stage: string;
  caught: boolean;
  /** The first run (1-based) that caught it. */
  firstCatchingRun?: number;
  runsDone: number;
  runsCatching: number;
  failedTests: string[];
  problem?: string;
}

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      if (err.message) console.error(`error: ${err.message}`);
      console.error('usage: npx tsx harness/bugzoo/run.ts [--bug N|SLUG[,...]] [--runs K] [--all-runs] [--timeout SECONDS] [--no-baseline] [--json FILE] [--keep]');
      return 2;
    }
    throw err;
  }

  const all = loadBugs();
  let bugs: Bug[] = all;
  if (opts.bugIds) {
    const selects = (b: Bug, sel: string): boolean => String(b.id) === sel || b.slug === sel;
    const unknown = opts.bugIds.filter((sel) => !all.some((b) => selects(b, sel)));
    if (unknown.length > 0) {
      console.error(`error: no bug ${unknown.join(', ')} in harness/bugzoo/bugs.json (known: ${all.map((b) => b.slug).join(', ')})`);
      return 2;
    }
    bugs = all.filter((b) => opts.bugIds!.some((sel) => selects(b, sel)));
  }

  // Baseline: which tests already fail on the unpatched reference.
  const baselineFailures = new Set<string>();
  if (opts.baseline) {
    const suites = [...new Set(bugs.flatMap((b) => b.suites))];
    const dir = makeReferenceCopy('baseline');
    try {
      console.log(`baseline: ${suites.join(' ')} on an unpatched copy of reference/ ...`);
      const run = await runSuites(suites, path.join(dir, 'reference'), 1, opts.timeoutSeconds, dir);
      if (run.error || run.hung) {
        console.error(`baseline run failed: ${run.error ?? run.hung}`);
        return 1;
      }
      run.failed.forEach((t) => baselineFailures.add(t));
      console.log(`baseline: ${run.passedCount} passed, ${run.failed.length} failed`);
      for (const t of run.failed) console.log(`  baseline failure (ignored for the bugs): ${t}`);
    } finally {
      if (!opts.keep) removeCopy(dir);
    }
  }

  const results: BugResult[] = [];
  for (const bug of bugs) {
    const dir = makeReferenceCopy(String(bug.id));
    const result: BugResult = {
      id: bug.id, slug: bug.slug, stage: bug.stage, caught: false, runsDone: 0, runsCatching: 0, failedTests: [],
    };
    try {
      applyPatch(patchPath(bug), dir);
      const rate = plainRate(bug);
      if (rate !== undefined && rate < 1) {
        await gradeRareBug(bug, rate, path.join(dir, 'reference'), opts, result);
        continue;
      }
      for (let k = 1; k <= opts.runs; k++) {
        const run = await runSuites(bug.suites, path.join(dir, 'reference'), k, opts.timeoutSeconds, dir);
        result.runsDone = k;
        if (run.error) {
          result.problem = run.error;
          break;
        }
        const failed = run.failed.filter((t) => !baselineFailures.has(t));
        const caughtNow = failed.length > 0 || run.hung !== undefined;
        if (caughtNow) {
          result.runsCatching++;
          if (!result.caught) {
            result.caught = true;
            result.firstCatchingRun = k;
          }
          for (const t of failed) if (!result.failedTests.includes(t)) result.failedTests.push(t);
          if (run.hung && !result.problem) result.problem = run.hung;
          if (!opts.allRuns) break;
        }
      }
    } catch (err) {
      if (!(err instanceof BugZooError)) throw err;
      result.problem = err.message;
    } finally {
      if (opts.keep) console.log(`  (kept ${dir})`);
      else removeCopy(dir);
      results.push(result);
      printBug(bug, result);
    }
  }

  printTable(results);
  if (opts.jsonOut) fs.writeFileSync(opts.jsonOut, JSON.stringify({ runs: opts.runs, results }, null, 2));
  const escaped = results.filter((r) => !r.caught);
  return escaped.length > 0 ? 1 : 0;
}

/**
 * Grades a rare bug's patched copy with fresh seeds until a run fails, up to the runs that catch it in 99% of
 * gradings. A hung run is a failure here too (the grader stops it at its time budget).
 */
async function gradeRareBug(bug: Bug, rate: number, implDir: string, opts: Options, result: BugResult): Promise<void> {
  const runs = Math.max(opts.runs, runsFor99(rate) ?? 1);
  console.log(`bug ${bug.slug}: rare (measured rate ${(rate * 100).toFixed(1)}% per run): grading up to ${runs} runs of stage ${bug.stage}`);
  const { state, failing } = await gradeSuiteRuns(bug, implDir, {
    runs, jobs: os.availableParallelism(), seedBase: 1, swarm: false, untilFail: !opts.allRuns,
  });
  result.runsDone = Math.max(...state.tests.map((t) => t.done + t.skipped));
  result.runsCatching = failing.size;
  result.caught = failing.size > 0;
  if (result.caught) result.firstCatchingRun = Math.min(...failing) + 1;
  for (const t of state.tests) {
    for (const f of t.failed.slice(0, 1)) result.failedTests.push(`${t.test.key} (seed ${f.seed}: ${f.summary})`);
  }
}

function printBug(bug: Bug, r: BugResult): void {
  const verdict = r.caught ? `CAUGHT (run ${r.firstCatchingRun}, ${r.runsCatching}/${r.runsDone} runs)` : `ESCAPED (${r.runsDone} runs)`;
  console.log(`\nbug ${bug.id} ${bug.slug} [${bug.stage}]: ${verdict}`);
  console.log(`  ${bug.title}`);
  if (r.problem) console.log(`  note: ${r.problem}`);
  const shown = r.failedTests.slice(0, 12);
  for (const t of shown) console.log(`  - ${t}`);
  if (r.failedTests.length > shown.length) console.log(`  ... and ${r.failedTests.length - shown.length} more`);
}

function printTable(results: BugResult[]): void {
  console.log('\n id  stage  caught  runs  failing tests  slug');
  for (const r of results) {
    const caught = r.caught ? 'yes' : 'NO';
    const runs = r.caught ? `${r.firstCatchingRun}/${r.runsDone}` : `-/${r.runsDone}`;
    console.log(
      `${String(r.id).padStart(3)}  ${r.stage.padEnd(5)}  ${caught.padEnd(6)}  ${runs.padEnd(4)}  ${String(r.failedTests.length).padStart(13)}  ${r.slug}`,
    );
  }
  const caught = results.filter((r) => r.caught).length;
  const escaped = results.filter((r) => !r.caught).map((r) => r.slug);
  console.log(`\n${caught}/${results.length} bugs caught${escaped.length > 0 ? `; escaped: ${escaped.join(', ')}` : ''}`);
}

main().then(
  (code) => { process.exitCode = code; },
  (err: unknown) => { console.error(err); process.exitCode = 1; },
);
