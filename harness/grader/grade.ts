/**
 * The grading loop: runs every selected test many times, each run with its own seed, on JOBS workers.
 *
 * Runs are interleaved across tests (round-robin: every test gets its first run before any test gets its
 * second), so each test is tried early and a stopped grading still covers every test. A test's first run
 * tells whether it reads its seed at all; one that does not cannot depend on it and runs only once.
 * With a time budget instead of a run count, rounds go on until the budget is spent; a run is not started
 * when its test's mean duration would end it past the budget.
 */
import fs from 'node:fs';
import path from 'node:path';
import { WorkerPool, type PoolOptions } from './pool.ts';
import { gradedTest, matchesRun, replayCommand, runSeed, testFilesOf, type GradedTest } from './plan.ts';
import type { RunResult } from './protocol.ts';
import type { Stage } from '../labs/stages.ts';

/** A trace written elsewhere (a sandbox's scratch directory) is copied into the grade directory up to this size. */
const MAX_COPIED_TRACE_BYTES = 50 * 1024 * 1024;

/** vitest's own limits (vitest.config.ts: test 120 s, hooks 60 s) plus room for the worker to notice them. */
const DEFAULT_RUN_BUDGET_MS = 120_000 + 2 * 60_000 + 30_000;

export interface GradeOptions {
  root: string;
  stages: readonly Stage[];
  /** The implementation as given (for replay commands), and its absolute directory. */
  implLabel: string;
  implDir: string;
  /** Runs per test; ignored with timeBudgetMs. */
  runs: number;
  /** Spend about this long instead of a fixed number of runs. */
  timeBudgetMs?: number;
  /** Wall-clock limit of one run (default: vitest's test and hook timeouts plus room); past it the run fails. */
  runBudgetMs?: number;
  jobs: number;
  run?: RegExp;
  baseSeed: number;
  swarm: boolean;
  untilFail: boolean;
  /**
   * Measuring a failure rate per run of the whole suite (harness/bugzoo/power.ts): once run r of one test has
   * failed, run r of the suite has failed, so run r of the other tests is skipped (it could not change that).
   */
  skipFailedSuiteRuns?: boolean;
  /** The grade directory: failed runs keep their log and trace here. */
  outDir: string;
  /**
   * Where the runs write their traces (TRACE_DIR), when not <outDir>/traces: a sandboxed worker can write only
   * to its scratch directory. A failed run's trace is copied into <outDir>/traces.
   */
  traceDir?: string;
  /** The tests, already discovered (the class grader collects them once, with the kit's own lab copy). */
  tests?: readonly GradedTest[];
  /**
   * Which runs of a test to do (run numbers from 0; each run's seed depends on its number only): a shard's
   * share. Default: 0 .. runs-1.
   */
  runsOf?: (test: GradedTest) => number[];
  /**
   * Do every planned run, even of a test whose first run did not read its seed (by default such a test runs
   * once). The class grader needs this: its shards must not depend on each other's results.
   */
  everyRun?: boolean;
  /** How workers start and their memory limit (pool.ts); the class grader starts them in a sandbox. */
  pool?: Pick<PoolOptions, 'launch' | 'memoryLimitBytes'>;
  /** Called after every finished run (progress display). */
  onRun?: (state: GradeState, test: TestState, result: RunResult) => void;
  /** Set to stop early (Ctrl-C): no new runs start, running ones are stopped. */
  stop?: { requested: boolean };
}

/** A failed run, as reports show it. */
export interface FailedRun {
  readonly seed: number;
  readonly run: number;
  /** The first line of the error. */
  readonly summary: string;
  readonly replay: string;
  /** Files kept for it, relative to the grade directory. */
  readonly log: string;
  readonly trace?: string;
  readonly traceHash?: string;
}

export interface TestState {
  readonly test: GradedTest;
  /** The run numbers to do, when not 0 .. planned-1 (a shard's share). */
  readonly runNumbers?: readonly number[];
  /** Runs wanted (Infinity with a time budget). */
  planned: number;
  started: number;
  done: number;
  /** Runs not started because their run of the suite had already failed (skipFailedSuiteRuns). */
  skipped: number;
  passed: number;
  failed: FailedRun[];
  /** The first run showed the test never reads its seed: it runs once. */
  seedIndependent: boolean;
  wallMs: number[];
  virtualMs: number[];
}

export interface GradeState {
  readonly tests: TestState[];
  readonly startedAt: number;
  inFlight: number;
  stoppedEarly: boolean;
  peakRssBytes: number;
  /** Simulation events of the passed simulated runs, and the wall time those runs took (ms). */
  simEvents: number;
  simWallMs: number;
}

/** The tests of the stages (a worker loads each file), RUN applied. */
export async function discoverTests(pool: WorkerPool, o: Pick<GradeOptions, 'root' | 'stages' | 'run'>): Promise<GradedTest[]> {
  const tests: GradedTest[] = [];
  for (const stage of o.stages) {
    for (const file of testFilesOf(o.root, stage)) {
      for (const t of await pool.collect(file)) {
        if (t.mode === 'skip' || t.mode === 'todo') continue;
        const test = gradedTest(file, t.names, stage.id);
        if (matchesRun(test, o.run)) tests.push(test);
      }
    }
  }
  return tests;
}

function testState(test: GradedTest, o: GradeOptions): TestState {
  const fresh = { test, started: 0, done: 0, skipped: 0, passed: 0, failed: [], seedIndependent: false, wallMs: [], virtualMs: [] };
  if (o.runsOf !== undefined) {
    const runNumbers = o.runsOf(test);
    return { ...fresh, runNumbers, planned: runNumbers.length };
  }
  return { ...fresh, planned: o.timeBudgetMs === undefined ? o.runs : Infinity };
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** A file-name-safe form of a test's name. */
function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 100) || 'test';
}

export async function grade(o: GradeOptions): Promise<GradeState> {
  const pool = new WorkerPool({ jobs: o.jobs, impl: o.implDir, root: o.root, ...o.pool });
  const startedAt = Date.now();
  const deadline = o.timeBudgetMs === undefined ? Infinity : startedAt + o.timeBudgetMs;
  const stop = o.stop ?? { requested: false };
  try {
    const tests = (o.tests ?? (await discoverTests(pool, o))).map((t) => testState(t, o));
    const state: GradeState = { tests, startedAt, inFlight: 0, stoppedEarly: false, peakRssBytes: 0, simEvents: 0, simWallMs: 0 };
    fs.mkdirSync(path.join(o.outDir, 'failures'), { recursive: true });
    const traceDir = o.traceDir ?? path.join(o.outDir, 'traces');

    /** The next run to start, in round-robin order, or undefined if none may start now. */
    const failedSuiteRuns = new Set<number>();
    const skipDecidedRuns = (): void => {
      if (!o.skipFailedSuiteRuns) return;
      for (const t of tests) {
        while (t.started < t.planned && failedSuiteRuns.has(t.started) && !(t.seedIndependent || (t.started === 0 && t.done === 0))) {
          t.started++;
          t.skipped++;
        }
      }
    };
    const nextRun = (): TestState | undefined => {
      if (stop.requested || (o.untilFail && tests.some((t) => t.failed.length > 0))) return undefined;
      skipDecidedRuns();
      // The round: the fewest runs started among the tests that may still run.
      const open = tests.filter((t) => t.started < t.planned && !(t.seedIndependent && t.started >= 1));
      const round = Math.min(...open.map((t) => t.started));
      for (const t of open) {
        if (t.started !== round) continue;
        // A test's later runs wait for its first: it may turn out not to read its seed.
        if (!o.everyRun && t.started >= 1 && t.done === 0) continue;
        if (Date.now() + mean(t.wallMs) > deadline) continue;
        return t;
      }
      return undefined;
    };

    const runOne = async (t: TestState): Promise<void> => {
      const run = t.runNumbers?.[t.started] ?? t.started;
      t.started++;
      state.inFlight++;
      const seed = runSeed(o.baseSeed, t.test, run);
      const env: Record<string, string> = { TRACE_DIR: traceDir };
      if (o.swarm) env.SWARM = '1';
      const result = await pool.run(
        { type: 'run', id: run, file: t.test.file, names: t.test.names, seed, env, testTimeoutMs: 120_000, hookTimeoutMs: 60_000 },
        o.runBudgetMs ?? DEFAULT_RUN_BUDGET_MS,
      );
      state.inFlight--;
      state.peakRssBytes = Math.max(state.peakRssBytes, pool.peakRssBytes);
      if (stop.requested && result.status === 'failed' && result.output === '') return; // stopped by us, not a failure
      t.done++;
      t.wallMs.push(result.durationMs);
      if (result.virtualMs !== undefined) t.virtualMs.push(result.virtualMs);
      if (result.events !== undefined) {
        state.simEvents += result.events;
        state.simWallMs += result.durationMs;
      }
      if (!o.everyRun && run === 0 && !result.readSeed && result.status !== 'failed') t.seedIndependent = true;
      if (result.status === 'passed' || result.status === 'skipped') t.passed++;
      else {
        t.failed.push(recordFailure(o, t.test, run, seed, result, traceDir));
        failedSuiteRuns.add(run);
      }
      o.onRun?.(state, t, result);
    };

    await new Promise<void>((resolve) => {
      let tick: NodeJS.Timeout | undefined;
      const finish = (): void => {
        clearInterval(tick);
        resolve();
      };
      const pump = (): void => {
        if (o.untilFail && tests.some((t) => t.failed.length > 0)) stop.requested = true;
        while (pool.idle() > 0) {
          const t = nextRun();
          if (t === undefined) break;
          void runOne(t).then(pump, (err: unknown) => {
            console.error(`grader: ${String(err)}`);
            stop.requested = true;
            pump();
          });
        }
        if (state.inFlight === 0 && nextRun() === undefined) finish();
      };
      // A stop (Ctrl-C, UNTIL_FAIL) stops the running tests too: their workers are killed.
      tick = setInterval(() => {
        if (stop.requested && state.inFlight > 0) pool.close();
        pump();
      }, 200);
      pump();
    });
    state.stoppedEarly = stop.requested || tests.some((t) => t.done + t.skipped < t.planned && t.planned !== Infinity && !t.seedIndependent);
    return state;
  } finally {
    pool.close();
  }
}

/** Keeps a failed run's output (and its trace, written by the simulation) under the grade directory. */
function recordFailure(o: GradeOptions, test: GradedTest, run: number, seed: number, result: RunResult, traceDir: string): FailedRun {
  const base = `${slug(test.fullName)}-${seed}`;
  const log = path.join('failures', `${base}.log`);
  const replay = replayCommand(test, o.implLabel, seed, o.swarm);
  const text = [`${test.file} > ${test.fullName}`, `seed ${seed} (run ${run + 1})`, `replay: ${replay}`, '', result.error ?? '', '', '--- output ---', result.output ?? ''].join('\n');
  fs.writeFileSync(path.join(o.outDir, log), text);
  // The simulation names its trace after the test and the seed (harness/sim/report.ts, tracePath).
  const traceName = `${slug(test.fullName)}-${seed}.jsonl`;
  const written = path.join(traceDir, traceName);
  const kept = path.join(o.outDir, 'traces', traceName);
  let trace: string | undefined;
  if (fs.existsSync(written)) {
    if (path.resolve(written) !== path.resolve(kept) && fs.statSync(written).size <= MAX_COPIED_TRACE_BYTES) {
      fs.mkdirSync(path.dirname(kept), { recursive: true });
      fs.copyFileSync(written, kept);
    }
    if (fs.existsSync(kept)) trace = path.join('traces', traceName);
  }
  const summary = (result.error ?? 'failed').split('\n')[0]!.slice(0, 300);
  return { seed, run, summary, replay, log, trace, traceHash: result.traceHash };
}
