/**
 * `make grade-merge SHARDS=<dir> [OUT=<dir>]`: the class report of a sharded grading, from its shards'
 * output directories (each holds a class.json; they may lie anywhere under SHARDS, as CI artifacts do).
 *
 * The shards must be of one grading (same stage, seed base, runs per test, RUN and shard count) and cover it
 * exactly (indices 0 .. n-1, each once). Each submission's grade reports are merged (class-report.ts); its
 * code, intake, failed runs' logs and traces are copied into OUT, and replay commands point at OUT's copy.
 */
import fs from 'node:fs';
import path from 'node:path';
import { shellQuote } from '../grader/plan.ts';
import type { GradeReport } from '../grader/report.ts';
import { CLASS_SCHEMA_ID, classRow, mergeGradeReports, type ClassReport, type ClassRow } from './class-report.ts';
import { writeClassReport, writeGradeReport } from './grade-class.ts';
import type { Intake } from './intake.ts';

export class MergeError extends Error {}

/** Every directory under `inputs` holding a class.json (the inputs themselves included). */
export function findShardDirs(inputs: readonly string[]): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number): void => {
    if (fs.existsSync(path.join(dir, 'class.json'))) {
      found.push(dir);
      return;
    }
    if (depth > 4) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(dir, e.name), depth + 1);
  };
  for (const input of inputs) {
    if (!fs.existsSync(input)) throw new MergeError(`${input}: no such directory`);
    walk(input, 0);
  }
  return found.sort();
}

function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/** Checks that the shards are of one grading and cover it exactly; returns them in index order. */
function checkShards(dirs: readonly string[]): Array<{ dir: string; report: ClassReport }> {
  if (dirs.length === 0) throw new MergeError('no shard found (no class.json under the given directories)');
  const shards = dirs.map((dir) => ({ dir, report: readJson<ClassReport>(path.join(dir, 'class.json')) }));
  for (const s of shards) if (s.report.schema !== CLASS_SCHEMA_ID) throw new MergeError(`${s.dir}/class.json is not a class report (${String(s.report.schema)})`);
  const first = shards[0]!.report;
  const count = first.shard?.count ?? 1;
  for (const { dir, report } of shards) {
    const same = report.stage === first.stage && report.seedBase === first.seedBase && report.runsPerTest === first.runsPerTest && report.run === first.run && (report.shard?.count ?? 1) === count;
    if (!same) {
      throw new MergeError(
        `${dir} is of another grading: stage ${report.stage}, seed base ${report.seedBase}, ${report.runsPerTest} runs, RUN ${report.run ?? '-'}, ${report.shard?.count ?? 1} shard(s); ` +
          `${shards[0]!.dir} has stage ${first.stage}, seed base ${first.seedBase}, ${first.runsPerTest} runs, RUN ${first.run ?? '-'}, ${count} shard(s)`,
      );
    }
  }
  const byIndex = new Map<number, (typeof shards)[number]>();
  for (const s of shards) {
    const index = s.report.shard?.index ?? 0;
    const twin = byIndex.get(index);
    if (twin !== undefined) throw new MergeError(`shard ${index}/${count} is given twice: ${twin.dir} and ${s.dir}`);
    byIndex.set(index, s);
  }
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length > 0) throw new MergeError(`shard(s) ${missing.map((i) => `${i}/${count}`).join(', ')} missing: the class report would be incomplete`);
  return [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, s]) => s);
}

function copyIfExists(from: string, to: string): void {
  if (fs.existsSync(from)) fs.cpSync(from, to, { recursive: true });
}

/** Merges the shards found under `inputs` into `outDir`; returns the class report written there. */
export function mergeShards(inputs: readonly string[], outDir: string, root: string): ClassReport {
  const shards = checkShards(findShardDirs(inputs));
  const names = [...new Set(shards.flatMap((s) => s.report.submissions.map((r) => r.name)))].sort();
  const rows: ClassRow[] = [];
  for (const name of names) {
    const target = path.join(outDir, 'submissions', name);
    const parts: GradeReport[] = [];
    for (const { dir } of shards) {
      const sub = path.join(dir, 'submissions', name);
      const reportFile = path.join(sub, 'grade', 'report.json');
      if (!fs.existsSync(reportFile)) continue;
      const report = readJson<GradeReport>(reportFile);
      // Replay commands name the code graded: point them at this merge's copy.
      const newImpl = path.relative(root, path.join(target, 'impl'));
      const shown = newImpl.startsWith('..') ? path.join(target, 'impl') : newImpl;
      for (const t of report.tests) for (const r of t.failingRuns) r.replay = r.replay.replace(`IMPL=${shellQuote(report.impl)}`, `IMPL=${shellQuote(shown)}`);
      report.impl = shown;
      parts.push(report);
      if (!fs.existsSync(path.join(target, 'impl'))) {
        copyIfExists(path.join(sub, 'impl'), path.join(target, 'impl'));
        copyIfExists(path.join(sub, 'intake.json'), path.join(target, 'intake.json'));
      }
      copyIfExists(path.join(sub, 'grade', 'failures'), path.join(target, 'grade', 'failures'));
      copyIfExists(path.join(sub, 'grade', 'traces'), path.join(target, 'grade', 'traces'));
    }
    if (parts.length === 0) continue;
    const merged = mergeGradeReports(parts);
    writeGradeReport(path.join(target, 'grade'), merged);
    const intake = readJson<Intake>(path.join(target, 'intake.json'));
    rows.push(classRow(intake, merged, path.join('submissions', name, 'grade', 'report.json')));
  }
  const reports = shards.map((s) => s.report);
  const report: ClassReport = {
    ...reports[0]!,
    shard: null,
    shardsMerged: shards.length,
    startedAt: reports.map((r) => r.startedAt).sort()[0]!,
    finishedAt: reports.map((r) => r.finishedAt).sort().reverse()[0]!,
    wallSeconds: Math.max(...reports.map((r) => r.wallSeconds)),
    jobs: reports.reduce((a, r) => a + r.jobs, 0),
    cpu: null,
    totals: { submissions: rows.length, runs: rows.reduce((a, r) => a + r.runs, 0), failures: rows.reduce((a, r) => a + r.failures, 0) },
    submissions: rows,
  };
  writeClassReport(outDir, report);
  return report;
}
