/**
 * `npm test` (what CI runs): every check of the kit, one step after another, each with its own result.
 *   1. type-check: tsc --noEmit -p .
 *   2. tests: every test file vitest.config.ts includes (harness/**\/*.test.ts) against reference/; simulated
 *      stores keep their engines on the simulation's disk (in memory)
 *   3. crash scenarios on LevelDB: every 2B/2C/3B scenario with crashes and restarts again, with the stores'
 *      engines on LevelDB (SIM_DISK=level), so nothing acknowledged is lost on the real engine either
 *   4. labs-check: labs/ is what reference/ generates
 *   5. integrity: the integrity matrix of the lab copies (it reuses step 2's results for the earlier-stage test
 *      files that load no stubbed code on a lab, instead of running them again)
 *   6. leftover processes: no process started during the run (servers of the end-to-end tests, ...) is alive
 *      after it; each inherits a mark in its environment (RUN_MARK_VARIABLE), which is how they are found
 * The last line is `N passed, N failed`: the tests of steps 2 and 3, plus one for each other step.
 *
 * Seeds: the simulated suites draw a fresh seed per test unless SEED is set. `npm test` is the kit's own
 * check (CI), so it pins SEED (default CI_SEED) to make its verdict a function of the code alone; exploring
 * many seeds is the job of repeated `make projectX` runs and the bug zoo's `--runs`.
 *
 *   tsx harness/run-all.ts [--no-integrity]
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runGenerate } from './labs/generate.ts';
import { runIntegrity } from './labs/integrity.ts';
import { runVitest, type TestOutcome } from './labs/vitest-run.ts';

/** The seed `npm test` gives the simulated suites when SEED is not set. */
const CI_SEED = '1';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface StepResult {
  readonly name: string;
  readonly passed: number;
  readonly failed: number;
  /** One line for the summary. */
  readonly summary: string;
}

function header(index: number, total: number, title: string): void {
  console.log('');
  console.log(`=== [${index}/${total}] ${title}`);
}

function seconds(startMs: number): string {
  return `${((performance.now() - startMs) / 1000).toFixed(1)} s`;
}

function checkStep(name: string, ok: boolean, detail: string): StepResult {
  console.log(`--- ${name}: ${ok ? 'PASS' : 'FAIL'} (${detail})`);
  return { name, passed: ok ? 1 : 0, failed: ok ? 0 : 1, summary: `${ok ? 'PASS' : 'FAIL'}  ${detail}` };
}

function typecheckStep(): StepResult {
  const start = performance.now();
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '--noEmit', '-p', '.', '--pretty', 'false'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
  if (output !== '') console.log(output);
  const errors = output.split('\n').filter((l) => /error TS\d+/.test(l)).length;
  const ok = result.status === 0;
  return checkStep('type-check', ok, ok ? `no type errors, ${seconds(start)}` : `${errors} type error(s)`);
}

function printFailures(outcomes: readonly TestOutcome[]): void {
  const failed = outcomes.filter((o) => o.outcome === 'failed');
  if (failed.length === 0) return;
  console.log('');
  console.log(`Failing tests (${failed.length}):`);
  for (const o of failed) {
    console.log(`  FAIL ${o.file} > ${o.name}`);
    for (const line of o.errorLines) console.log(`       ${line}`);
  }
}

/** Step 2's outcomes, handed to the integrity step when the run was clean (no crash or unexplained exit). */
let referenceOutcomes: readonly TestOutcome[] | undefined;

function testsStep(): StepResult {
  const start = performance.now();
  const run = runVitest({
    root: ROOT,
    filters: [],
    impl: 'reference',
    outputFile: path.join(ROOT, '.tmp', 'run-all', 'vitest.json'),
    showProgress: true,
  });
  const passed = run.outcomes.filter((o) => o.outcome === 'passed').length;
  const skipped = run.outcomes.filter((o) => o.outcome === 'skipped').length;
  let failed = run.outcomes.filter((o) => o.outcome === 'failed').length;
  if (!run.runError) referenceOutcomes = run.outcomes;
  printFailures(run.outcomes);
  if (run.runError) {
    console.log('');
    console.log(`Test run error: ${run.runError}`);
    failed += 1;
  }
  const detail = `${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}, ${seconds(start)}`;
  console.log(`--- tests: ${failed === 0 ? 'PASS' : 'FAIL'} (${detail})`);
  return { name: 'tests', passed, failed, summary: `${failed === 0 ? 'PASS' : 'FAIL'}  ${detail}` };
}

/** The 2B, 2C and 3B scenarios that crash and restart stores (GenericTest with crash, and the power cuts). */
const CRASH_SCENARIO_FILES = [
  'harness/suites/2b/cluster-persist.test.ts',
  'harness/suites/2b/crash-points.test.ts',
  'harness/suites/2c/cluster.test.ts',
  'harness/suites/2c/cluster-unreliable.test.ts',
  'harness/suites/3b/cluster-confchange.test.ts',
  'harness/suites/3b/cluster-split.test.ts',
];
const CRASH_SCENARIO_NAMES = 'TestPersist|TestPowerCut|TestAckedEntryLost|TestStaleProposal|Recover';

function levelDiskStep(): StepResult {
  const start = performance.now();
  const run = runVitest({
    root: ROOT,
    filters: CRASH_SCENARIO_FILES,
    namePattern: CRASH_SCENARIO_NAMES,
    impl: 'reference',
    env: { SIM_DISK: 'level' },
    outputFile: path.join(ROOT, '.tmp', 'run-all', 'vitest-level.json'),
    showProgress: false,
  });
  const ran = run.outcomes.filter((o) => o.outcome !== 'skipped');
  const passed = ran.filter((o) => o.outcome === 'passed').length;
  let failed = ran.filter((o) => o.outcome === 'failed').length;
  printFailures(run.outcomes);
  if (run.runError) {
    console.log(`Test run error: ${run.runError}`);
    failed += 1;
  }
  if (ran.length === 0) failed += 1; // the selection matched nothing: the step would prove nothing
  const detail = `${passed} passed, ${failed} failed on LevelDB, ${seconds(start)}`;
  console.log(`--- crash scenarios on LevelDB: ${failed === 0 ? 'PASS' : 'FAIL'} (${detail})`);
  return { name: 'crash scenarios on LevelDB', passed, failed, summary: `${failed === 0 ? 'PASS' : 'FAIL'}  ${detail}` };
}

function labsCheckStep(): StepResult {
  const start = performance.now();
  let ok: boolean;
  try {
    const result = runGenerate({ check: true, root: ROOT });
    for (const line of result.lines) console.log(line);
    ok = result.ok;
  } catch (err) {
    console.log(`labs-check crashed: ${(err as Error).stack ?? String(err)}`);
    ok = false;
  }
  return checkStep('labs-check', ok, ok ? `labs/ up to date, ${seconds(start)}` : 'labs/ differs from what reference/ generates (run `make labs`)');
}

function integrityStep(): StepResult {
  const start = performance.now();
  let ok: boolean;
  let detail: string;
  try {
    const reference = referenceOutcomes ? { outcomes: referenceOutcomes, source: 'the tests step' } : undefined;
    const result = runIntegrity({ root: ROOT, reference });
    console.log('');
    for (const line of result.lines) console.log(line);
    ok = result.ok;
    const bad = result.reports.filter((r) => !r.ok).map((r) => r.lab.id);
    detail = ok ? `${result.reports.length} labs, ${seconds(start)}` : `violations in lab(s) ${bad.join(', ')}`;
  } catch (err) {
    console.log(`integrity crashed: ${(err as Error).stack ?? String(err)}`);
    ok = false;
    detail = 'crashed';
  }
  return checkStep('integrity', ok, detail);
}

/** Every process started during this run carries this variable in its environment. */
const RUN_MARK_VARIABLE = 'TINYKV_TEST_RUN';

/** Processes (other than this one) whose environment holds `mark`: started during the run and still alive. */
function processesWithMark(mark: string): { pid: number; command: string }[] {
  const found: { pid: number; command: string }[] = [];
  const needle = `${RUN_MARK_VARIABLE}=${mark}`;
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const environ = fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
      if (!environ.includes(needle)) continue;
      const command = fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
      found.push({ pid, command });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

function leftoverProcessesStep(mark: string): StepResult {
  if (!fs.existsSync('/proc')) return checkStep('leftover processes', true, 'not checked: no /proc on this system');
  // A process that is stopping may need a moment.
  let left = processesWithMark(mark);
  for (let i = 0; i < 20 && left.length > 0; i++) {
    spawnSync('sleep', ['0.25']);
    left = processesWithMark(mark);
  }
  for (const p of left) {
    console.log(`  still alive: pid ${p.pid}: ${p.command}`);
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  return checkStep('leftover processes', left.length === 0, left.length === 0 ? 'none alive after the run' : `${left.length} process(es) outlived the run (killed now)`);
}

function main(argv: readonly string[]): number {
  const unknown = argv.filter((a) => a !== '--no-integrity');
  if (unknown.length > 0) {
    console.error(`usage: tsx harness/run-all.ts [--no-integrity]   (unknown argument: ${unknown.join(' ')})`);
    return 2;
  }
  if (process.env.SEED === undefined || process.env.SEED === '') process.env.SEED = CI_SEED;
  console.log(`Simulated suites run with SEED=${process.env.SEED} (set SEED to choose another).`);
  const steps: { title: string; run: () => StepResult }[] = [
    { title: 'Type-check (tsc --noEmit -p .)', run: typecheckStep },
    { title: 'Tests against reference/ (vitest: harness/**/*.test.ts)', run: testsStep },
    { title: 'Crash scenarios again with LevelDB engines (SIM_DISK=level)', run: levelDiskStep },
    { title: 'labs-check (labs/ matches what reference/ generates)', run: labsCheckStep },
  ];
  if (!argv.includes('--no-integrity')) steps.push({ title: 'Integrity matrix of the lab copies', run: integrityStep });
  const mark = randomUUID();
  process.env[RUN_MARK_VARIABLE] = mark;
  steps.push({ title: 'No process started by the run is left', run: () => leftoverProcessesStep(mark) });

  const results: StepResult[] = [];
  steps.forEach((step, i) => {
    header(i + 1, steps.length, step.title);
    results.push(step.run());
  });

  const passed = results.reduce((n, r) => n + r.passed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  console.log('');
  console.log('=== Summary');
  const width = Math.max(...results.map((r) => r.name.length));
  for (const r of results) console.log(`  ${r.name.padEnd(width)}  ${r.summary}`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
