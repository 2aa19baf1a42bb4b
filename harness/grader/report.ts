/**
 * The grader's reports: the JSON report (for autograders; its schema is report-schema.json), JUnit XML
 * (what CI systems read), and the final table printed at the end. The HTML page is report-html.ts.
 */
import type { GradeState, TestState } from './grade.ts';
import { columns, duration } from './progress.ts';

export const REPORT_SCHEMA_ID = 'tinykv-ts/grade-report/v1';

export interface ReportTest {
  file: string;
  /** Describe blocks and the test's name, joined by " > ". */
  name: string;
  stage: string;
  points: number;
  /** The points if every run passed, else 0. */
  earned: number;
  runs: number;
  failures: number;
  failureRate: number;
  /** The test never read its seed: it ran once, more runs could not differ. */
  seedIndependent: boolean;
  meanWallSeconds: number;
  meanVirtualSeconds: number | null;
  maxVirtualSeconds: number | null;
  failingRuns: Array<{ seed: number; run: number; error: string; replay: string; log: string; trace: string | null; traceHash: string | null }>;
}

export interface GradeReport {
  schema: typeof REPORT_SCHEMA_ID;
  stage: string;
  stages: string[];
  impl: string;
  /** The implementation's git commit (and whether it had uncommitted changes), when it lies in a git work tree. */
  implCommit: string | null;
  implDirty: boolean | null;
  seedBase: number;
  swarm: boolean;
  runsPerTest: number | null;
  timeBudgetMinutes: number | null;
  untilFail: boolean;
  jobs: number;
  startedAt: string;
  finishedAt: string;
  wallSeconds: number;
  /** Stopped before every planned run was done (Ctrl-C, UNTIL_FAIL, time budget). */
  stoppedEarly: boolean;
  peakWorkerRssBytes: number;
  /** Simulation events per second of a worker's run time (passed simulated runs), or null if none ran. */
  simEventsPerSecond: number | null;
  score: { earned: number; possible: number };
  totals: { tests: number; runs: number; failures: number };
  tests: ReportTest[];
}

/** What the caller knows of a grading that the run itself does not: the report's header fields. */
export type ReportMeta = Pick<
  GradeReport,
  'stage' | 'impl' | 'implCommit' | 'implDirty' | 'seedBase' | 'swarm' | 'runsPerTest' | 'timeBudgetMinutes' | 'untilFail' | 'jobs'
>;

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function reportTest(t: TestState): ReportTest {
  const failures = t.failed.length;
  return {
    file: t.test.file,
    name: t.test.fullName,
    stage: t.test.stage.suiteDir,
    points: t.test.points,
    earned: failures === 0 && t.done > 0 ? t.test.points : 0,
    runs: t.done,
    failures,
    failureRate: t.done === 0 ? 0 : round(failures / t.done, 4),
    seedIndependent: t.seedIndependent,
    meanWallSeconds: round(mean(t.wallMs) / 1000),
    meanVirtualSeconds: t.virtualMs.length === 0 ? null : round(mean(t.virtualMs) / 1000),
    maxVirtualSeconds: t.virtualMs.length === 0 ? null : round(Math.max(...t.virtualMs) / 1000),
    failingRuns: t.failed.map((f) => ({ seed: f.seed, run: f.run, error: f.summary, replay: f.replay, log: f.log, trace: f.trace ?? null, traceHash: f.traceHash ?? null })),
  };
}

export function buildReport(state: GradeState, meta: ReportMeta, finishedAt: number): GradeReport {
  const tests = state.tests.map(reportTest);
  return {
    schema: REPORT_SCHEMA_ID,
    stage: meta.stage,
    stages: [...new Set(state.tests.map((t) => t.test.stage.id))],
    impl: meta.impl,
    implCommit: meta.implCommit,
    implDirty: meta.implDirty,
    seedBase: meta.seedBase,
    swarm: meta.swarm,
    runsPerTest: meta.runsPerTest,
    timeBudgetMinutes: meta.timeBudgetMinutes,
    untilFail: meta.untilFail,
    jobs: meta.jobs,
    startedAt: new Date(state.startedAt).toISOString(),
    finishedAt: new Date(finishedAt).toISOString(),
    wallSeconds: round((finishedAt - state.startedAt) / 1000, 1),
    stoppedEarly: state.stoppedEarly,
    peakWorkerRssBytes: state.peakRssBytes,
    simEventsPerSecond: state.simWallMs > 0 ? Math.round((state.simEvents / state.simWallMs) * 1000) : null,
    score: { earned: tests.reduce((a, t) => a + t.earned, 0), possible: tests.reduce((a, t) => a + t.points, 0) },
    totals: { tests: tests.length, runs: tests.reduce((a, t) => a + t.runs, 0), failures: tests.reduce((a, t) => a + t.failures, 0) },
    tests,
  };
}

function xml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
}

/** JUnit XML: one testcase per test (failed if any run failed), the failing seeds and replays in the message. */
export function junitXml(report: GradeReport): string {
  const lines = [`<?xml version="1.0" encoding="UTF-8"?>`];
  const byFile = new Map<string, ReportTest[]>();
  for (const t of report.tests) byFile.set(t.file, [...(byFile.get(t.file) ?? []), t]);
  const failures = report.tests.filter((t) => t.failures > 0).length;
  lines.push(`<testsuites name="grade ${xml(report.stage)}" tests="${report.tests.length}" failures="${failures}" time="${report.wallSeconds}">`);
  for (const [file, tests] of byFile) {
    const f = tests.filter((t) => t.failures > 0).length;
    const time = tests.reduce((a, t) => a + t.meanWallSeconds * t.runs, 0);
    lines.push(`  <testsuite name="${xml(file)}" tests="${tests.length}" failures="${f}" time="${time.toFixed(3)}">`);
    for (const t of tests) {
      lines.push(`    <testcase classname="${xml(file)}" name="${xml(t.name)}" time="${(t.meanWallSeconds * t.runs).toFixed(3)}">`);
      if (t.failures > 0) {
        const message = `${t.failures} of ${t.runs} runs failed (${(t.failureRate * 100).toFixed(1)}%)`;
        const body = t.failingRuns.slice(0, 10).map((r) => `seed ${r.seed}: ${r.error}\n  replay: ${r.replay}\n  log: ${r.log}`).join('\n');
        lines.push(`      <failure message="${xml(message)}">${xml(body)}</failure>`);
      }
      lines.push(`      <system-out>${xml(`${t.runs} runs${t.seedIndependent ? ' (seed-independent: one run decides)' : ''}, ${t.points} points, earned ${t.earned}`)}</system-out>`);
      lines.push('    </testcase>');
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}

/** The final table (plain text) and the failing runs with their replay commands. */
export function finalTable(report: GradeReport): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const sec = (x: number | null) => (x === null ? '' : `${x.toFixed(1)}s`);
  const rows = report.tests.map((t) => [
    t.name,
    t.seedIndependent ? `${t.runs}*` : String(t.runs),
    String(t.failures),
    pct(t.failureRate),
    sec(t.meanVirtualSeconds),
    sec(t.maxVirtualSeconds),
    sec(t.meanWallSeconds),
    `${t.earned}/${t.points}`,
  ]);
  const out = columns([['test', 'runs', 'fail', 'rate', 'virt mean', 'virt max', 'wall mean', 'points'], ...rows], 80);
  if (report.tests.some((t) => t.seedIndependent)) out.push('* never read its seed: one run decides');
  const failing = report.tests.filter((t) => t.failures > 0);
  if (failing.length > 0) {
    out.push('', 'Failing runs (first 3 per test):');
    for (const t of failing) {
      out.push(`  ${t.name}  (${t.file})`);
      for (const r of t.failingRuns.slice(0, 3)) {
        out.push(`    seed ${r.seed}: ${r.error}`);
        out.push(`      replay: ${r.replay}`);
      }
    }
  }
  out.push(
    '',
    `Score: ${report.score.earned}/${report.score.possible} points  (${report.totals.failures} failed of ${report.totals.runs} runs; ` +
      `${report.tests.filter((t) => t.failures === 0).length}/${report.tests.length} tests passed every run; ${duration(report.wallSeconds * 1000)}; ` +
      `seed base ${report.seedBase}${report.swarm ? ', swarm' : ''}${report.stoppedEarly ? '; stopped early' : ''})`,
  );
  return `${out.join('\n')}\n`;
}
