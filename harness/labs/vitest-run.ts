/**
 * Runs vitest as a child process with its JSON reporter and reads per-test results from the report.
 * Used by the integrity matrix and by `npm test` (harness/run-all.ts).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The parts of vitest's JSON report we read (it follows Jest's format). */
export interface VitestJsonReport {
  success: boolean;
  testResults: VitestJsonFile[];
}

export interface VitestJsonFile {
  /** Absolute path of the test file. */
  name: string;
  status: string;
  /** A file-level error (import failure, failing hook), or ''. */
  message: string;
  assertionResults: VitestJsonTest[];
}

export interface VitestJsonTest {
  fullName: string;
  title: string;
  ancestorTitles: string[];
  status: string;
  failureMessages: string[];
}

export type Outcome = 'passed' | 'failed' | 'skipped';

/** One test's result, or a file-level error (fileError: true), which counts as a failure. */
export interface TestOutcome {
  /** Test file, relative to the repository root, with '/' separators. */
  readonly file: string;
  /** The test's full name (describe titles and test title). */
  readonly name: string;
  readonly outcome: Outcome;
  /** First lines of the failure, or [] if it passed. */
  readonly errorLines: readonly string[];
  readonly fileError: boolean;
}

export interface VitestRun {
  /** Exit status of vitest (null if it was killed). */
  readonly status: number | null;
  readonly outcomes: TestOutcome[];
  /**
   * Set when the run failed in a way no test outcome explains: no report written, or a non-zero exit with
   * no failed test (an unhandled error, a crash). Holds the reason and the tail of vitest's output.
   */
  readonly runError: string | undefined;
}

/** The first `max` meaningful lines of a failure message (stack frames inside node_modules left out). */
export function firstErrorLines(message: string, max = 3): string[] {
  const lines = message
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '' && !/^\s*at .*(node_modules|node:internal|<anonymous>)/.test(l));
  return lines.slice(0, max);
}

function toOutcome(status: string): Outcome {
  if (status === 'passed') return 'passed';
  if (status === 'failed') return 'failed';
  return 'skipped';
}

/** Flattens a JSON report into one outcome per test plus one failed outcome per file-level error. */
export function outcomesFromReport(report: VitestJsonReport, root: string): TestOutcome[] {
  const outcomes: TestOutcome[] = [];
  const files = [...report.testResults].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const file of files) {
    const rel = path.relative(root, file.name).split(path.sep).join('/');
    for (const test of file.assertionResults) {
      const outcome = toOutcome(test.status);
      outcomes.push({
        file: rel,
        name: test.fullName || [...test.ancestorTitles, test.title].join(' '),
        outcome,
        errorLines: outcome === 'failed' ? firstErrorLines(test.failureMessages.join('\n')) : [],
        fileError: false,
      });
    }
    if (file.message && file.message.trim() !== '') {
      outcomes.push({ file: rel, name: '(file-level error)', outcome: 'failed', errorLines: firstErrorLines(file.message), fileError: true });
    }
  }
  return outcomes;
}

function tail(text: string, lines: number): string {
  return text.split('\n').filter((l) => l.trim() !== '').slice(-lines).join('\n');
}

export interface RunVitestOptions {
  readonly root: string;
  /** Test files or filters, relative to root; [] runs everything vitest.config.ts includes. */
  readonly filters: readonly string[];
  /** Where the JSON report goes (its directory is created). */
  readonly outputFile: string;
  /** The implementation under test, relative to root ('reference', 'labs/2a'). */
  readonly impl: string;
  /** Also print vitest's default reporter output to this process's stdout. */
  readonly showProgress?: boolean;
  /** Extra environment variables (SEED, ...). */
  readonly env?: Record<string, string>;
  /** Only tests whose name matches (vitest -t). */
  readonly namePattern?: string;
}

/** Runs vitest once and returns its per-test outcomes. */
export function runVitest(options: RunVitestOptions): VitestRun {
  const vitestBin = path.join(options.root, 'node_modules', 'vitest', 'vitest.mjs');
  fs.mkdirSync(path.dirname(options.outputFile), { recursive: true });
  fs.rmSync(options.outputFile, { force: true });
  const reporters = options.showProgress ? ['--reporter=default', '--reporter=json', `--outputFile.json=${options.outputFile}`] : ['--reporter=json', `--outputFile=${options.outputFile}`];
  const args = [vitestBin, 'run', ...reporters, '--passWithNoTests', ...options.filters];
  if (options.namePattern !== undefined) args.push('-t', options.namePattern);
  const result = spawnSync(process.execPath, args, {
    cwd: options.root,
    env: { ...process.env, ...options.env, IMPL: options.impl, FORCE_COLOR: '0', NO_COLOR: '1' },
    encoding: 'utf8',
    stdio: options.showProgress ? ['ignore', 'inherit', 'pipe'] : ['ignore', 'pipe', 'pipe'],
    maxBuffer: 256 * 1024 * 1024,
  });
  if (options.showProgress && result.stderr) process.stderr.write(result.stderr);
  const output = `${result.stdout ?? ''}\n${result.stderr ?? ''}`;
  if (!fs.existsSync(options.outputFile)) {
    const reason = result.error ? String(result.error) : `vitest exited with status ${result.status} without writing a report`;
    return { status: result.status, outcomes: [], runError: `${reason}\n${tail(output, 15)}` };
  }
  const report = JSON.parse(fs.readFileSync(options.outputFile, 'utf8')) as VitestJsonReport;
  const outcomes = outcomesFromReport(report, options.root);
  const anyFailed = outcomes.some((o) => o.outcome === 'failed');
  const runError = result.status !== 0 && !anyFailed ? `vitest exited with status ${result.status} although no test failed (unhandled error?)\n${tail(output, 15)}` : undefined;
  return { status: result.status, outcomes, runError };
}

/** Test files (relative to root, sorted) under a directory, recursively. */
export function listTestFiles(root: string, dir: string): string[] {
  const abs = path.join(root, dir);
  if (!fs.existsSync(abs)) return [];
  const out: string[] = [];
  const visit = (rel: string): void => {
    const entries = fs.readdirSync(path.join(abs, rel), { withFileTypes: true }).map((e) => e.name).sort();
    for (const name of entries) {
      const child = rel === '' ? name : `${rel}/${name}`;
      const stat = fs.statSync(path.join(abs, child));
      if (stat.isDirectory()) visit(child);
      else if (name.endsWith('.test.ts')) out.push(`${dir}/${child}`);
    }
  };
  visit('');
  return out;
}
