/**
 * The class grader's reports: one row per submission (score, failing tests, first failing seeds with their
 * replay commands, what the intake ignored) as JSON, CSV and one HTML page; and the merging of shards, both
 * of each submission's grade report (the `make grade` report.json) and of the class table.
 */
import type { GradeReport, ReportTest } from '../grader/report.ts';
import { escapeHtml as esc } from '../tools/escape-html.ts';
import type { Intake } from './intake.ts';

export const CLASS_SCHEMA_ID = 'tinykv-ts/class-report/v1';

/** Failing seeds shown per failing test in the class table (the submission's report has them all). */
const SEEDS_SHOWN = 3;

export interface ClassRow {
  name: string;
  layout: Intake['layout'];
  score: { earned: number; possible: number };
  runs: number;
  failures: number;
  failingTests: Array<{ name: string; runs: number; failures: number; seeds: Array<{ seed: number; replay: string }> }>;
  ignored: string[];
  problems: string[];
  /** The submission's grade report, relative to the class directory. */
  report: string;
}

export interface ClassReport {
  schema: typeof CLASS_SCHEMA_ID;
  stage: string;
  seedBase: number;
  runsPerTest: number;
  /** RUN, when only some tests were graded. */
  run: string | null;
  /** This report's share of the work; null for a whole grading or a merge of shards. */
  shard: { index: number; count: number } | null;
  /** How many shard reports a merged report came from (1: not sharded). */
  shardsMerged: number;
  startedAt: string;
  finishedAt: string;
  wallSeconds: number;
  jobs: number;
  /** The machine's CPU while grading (busy core-seconds over all cores), null when unknown or merged. */
  cpu: { cores: number; busySeconds: number; utilisation: number } | null;
  totals: { submissions: number; runs: number; failures: number };
  submissions: ClassRow[];
}

export function classRow(intake: Intake, report: GradeReport, reportPath: string): ClassRow {
  const failing = report.tests.filter((t) => t.failures > 0);
  return {
    name: intake.name,
    layout: intake.layout,
    score: { ...report.score },
    runs: report.totals.runs,
    failures: report.totals.failures,
    failingTests: failing.map((t) => ({
      name: t.name,
      runs: t.runs,
      failures: t.failures,
      seeds: [...t.failingRuns].sort((a, b) => a.run - b.run).slice(0, SEEDS_SHOWN).map((r) => ({ seed: r.seed, replay: r.replay })),
    })),
    ignored: intake.ignored,
    problems: intake.problems,
    report: reportPath,
  };
}

function mean(pairs: Array<[value: number | null, weight: number]>): number | null {
  const known = pairs.filter(([v, w]) => v !== null && w > 0) as Array<[number, number]>;
  const weight = known.reduce((a, [, w]) => a + w, 0);
  return weight === 0 ? null : Math.round((known.reduce((a, [v, w]) => a + v * w, 0) / weight) * 1000) / 1000;
}

/** One test's results over several shards (each ran some of its runs). */
function mergeTest(parts: ReportTest[]): ReportTest {
  const first = parts[0]!;
  const runs = parts.reduce((a, t) => a + t.runs, 0);
  const failingRuns = parts.flatMap((t) => t.failingRuns).sort((a, b) => a.run - b.run);
  const maxes = parts.map((t) => t.maxVirtualSeconds).filter((x): x is number => x !== null);
  return {
    ...first,
    runs,
    failures: failingRuns.length,
    earned: failingRuns.length === 0 && runs > 0 ? first.points : 0,
    failureRate: runs === 0 ? 0 : Math.round((failingRuns.length / runs) * 10_000) / 10_000,
    seedIndependent: parts.every((t) => t.seedIndependent),
    meanWallSeconds: mean(parts.map((t) => [t.meanWallSeconds, t.runs])) ?? 0,
    meanVirtualSeconds: mean(parts.map((t) => [t.meanVirtualSeconds, t.runs])),
    maxVirtualSeconds: maxes.length === 0 ? null : Math.max(...maxes),
    failingRuns,
  };
}

/**
 * A submission's grade reports from several shards as one: every test's runs added up, its failing runs
 * together (in run order), points and totals counted again. Shards run in parallel: the wall time is the
 * longest shard's.
 */
export function mergeGradeReports(reports: readonly GradeReport[]): GradeReport {
  if (reports.length === 0) throw new Error('mergeGradeReports: no reports');
  const first = reports[0]!;
  const byKey = new Map<string, ReportTest[]>();
  const order: string[] = [];
  for (const r of reports) {
    for (const t of r.tests) {
      const key = `${t.file} > ${t.name}`;
      if (!byKey.has(key)) {
        byKey.set(key, []);
        order.push(key);
      }
      byKey.get(key)!.push(t);
    }
  }
  const tests = order.map((k) => mergeTest(byKey.get(k)!));
  const startedAt = reports.map((r) => r.startedAt).sort()[0]!;
  const finishedAt = reports.map((r) => r.finishedAt).sort().reverse()[0]!;
  const rates = reports.map((r) => r.simEventsPerSecond).filter((x): x is number => x !== null);
  return {
    ...first,
    startedAt,
    finishedAt,
    wallSeconds: Math.max(...reports.map((r) => r.wallSeconds)),
    stoppedEarly: reports.some((r) => r.stoppedEarly),
    peakWorkerRssBytes: Math.max(...reports.map((r) => r.peakWorkerRssBytes)),
    simEventsPerSecond: rates.length === 0 ? null : Math.round(rates.reduce((a, b) => a + b, 0) / rates.length),
    score: { earned: tests.reduce((a, t) => a + t.earned, 0), possible: tests.reduce((a, t) => a + t.points, 0) },
    totals: { tests: tests.length, runs: tests.reduce((a, t) => a + t.runs, 0), failures: tests.reduce((a, t) => a + t.failures, 0) },
    tests,
  };
}

export function classCsv(report: ClassReport): string {
  const cell = (text: string | number) => {
    const s = String(text);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [['submission', 'earned', 'possible', 'runs', 'failed_runs', 'failing_tests', 'first_failing_seed', 'replay', 'ignored', 'problems'].join(',')];
  for (const s of report.submissions) {
    const first = s.failingTests[0]?.seeds[0];
    lines.push(
      [s.name, s.score.earned, s.score.possible, s.runs, s.failures, s.failingTests.map((t) => t.name).join('; '), first?.seed ?? '', first?.replay ?? '', s.ignored.length, s.problems.length]
        .map(cell)
        .join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

function row(s: ClassRow): string {
  const failing =
    s.failingTests.length === 0
      ? '<span class="ok">none</span>'
      : `<ul>${s.failingTests
          .map(
            (t) =>
              `<li><span class="test">${esc(t.name)}</span> <span class="rate">${t.failures}/${t.runs} runs</span>` +
              t.seeds.map((x) => `<div class="replay"><code>${esc(x.replay)}</code> <button type="button" data-copy="${esc(x.replay)}">copy</button></div>`).join('') +
              '</li>',
          )
          .join('')}</ul>`;
  const notes = [...s.problems.map((p) => `<li class="problem">${esc(p)}</li>`), ...s.ignored.map((i) => `<li>${esc(i)}</li>`)];
  const ignored = notes.length === 0 ? '' : `<details><summary>${s.problems.length > 0 ? `${s.problems.length} problem(s), ` : ''}${s.ignored.length} ignored</summary><ul>${notes.join('')}</ul></details>`;
  const full = s.score.possible > 0 && s.score.earned === s.score.possible;
  return (
    `<tr class="${full ? 'full' : 'partial'}" data-submission="${esc(s.name)}"><td class="name"><a href="${esc(s.report.replace(/report\.json$/, 'report.html'))}">${esc(s.name)}</a></td>` +
    `<td class="score">${s.score.earned}/${s.score.possible}</td><td class="runs">${s.failures}/${s.runs}</td><td>${failing}</td><td>${ignored}</td></tr>`
  );
}

/** The class table as one self-contained page. */
export function classHtml(report: ClassReport): string {
  const scope = report.shard === null ? (report.shardsMerged > 1 ? `merged from ${report.shardsMerged} shards` : 'whole class') : `shard ${report.shard.index}/${report.shard.count}`;
  const cpu = report.cpu === null ? '' : ` · CPU ${(report.cpu.utilisation * 100).toFixed(0)}% of ${report.cpu.cores} cores`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Class grade ${esc(report.stage)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:.4em;text-align:left;vertical-align:top}
tr.full .score{color:#17702f;font-weight:600}tr.partial .score{color:#b3261e;font-weight:600}
code{background:#f4f4f4;padding:0 .2em}ul{margin:0;padding-left:1.2em}.problem{color:#b3261e}.ok{color:#17702f}.rate{color:#666}
</style></head><body>
<h1>Class grade: stage ${esc(report.stage)}</h1>
<p id="summary">${report.totals.submissions} submissions · ${report.runsPerTest} runs per test · seed base ${report.seedBase} · ${esc(scope)} · ${report.totals.failures} failed of ${report.totals.runs} runs · ${report.wallSeconds.toFixed(0)} s${cpu}</p>
<table id="class"><thead><tr><th>Submission</th><th>Score</th><th>Failed runs</th><th>Failing tests (first seeds, replay)</th><th>Intake</th></tr></thead>
<tbody>
${report.submissions.map(row).join('\n')}
</tbody></table>
<script>
for (const b of document.querySelectorAll('button[data-copy]')) b.addEventListener('click', () => navigator.clipboard?.writeText(b.dataset.copy));
</script>
</body></html>
`;
}
