/**
 * The class grader's commands.
 *
 *   make grade-class STAGE=<stage> SUBMISSIONS=<dir> [RUNS=10] [JOBS=<cores>] [SEED=<base>] [RUN=<regex>]
 *                    [SHARD=i/n] [OUT=<dir>] [RUN_TIMEOUT=<seconds>] [MEMORY_MB=<MB>]
 *   make grade-merge SHARDS=<dir> [OUT=<dir>]
 *
 *   npx tsx harness/class/cli.ts grade --stage 3b --submissions <dir> [--runs 10] [--jobs 2] [--seed <n>]
 *                                      [--run <regex>] [--shard i/n] [--out <dir>] [--run-timeout <s>] [--memory-mb <MB>]
 *   npx tsx harness/class/cli.ts merge --out <dir> <shard dir>...
 *
 * grade: every submission (each subdirectory of SUBMISSIONS) taken in and graded in a sandbox; writes
 * class.json, class.csv, class.html and per-submission reports under OUT (default .tmp/class/<time>-<stage>).
 * With SHARD=i/n only shard i's share of the (submission, test, run) items is graded; SEED is then required
 * (every shard must use the same one). merge: the class report of all shards. Exit status 0 when it ran
 * (failing submissions are results, not errors); 2 on a usage error.
 */
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GradeUsageError } from '../grader/plan.ts';
import { RETENTION, prune } from '../retention.ts';
import { ClassUsageError, gradeClass, listSubmissions } from './grade-class.ts';
import { resolveTarget } from '../labs/stages.ts';
import { MergeError, mergeShards } from './merge.ts';
import { parseShard, ShardError } from './shard.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLASS_DIR = path.join(ROOT, '.tmp', 'class');

function wholeNumber(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined || text.trim() === '') return fallback;
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) throw new ClassUsageError(`${name} must be a whole number >= 1, got "${text}"`);
  return Number(text);
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** The output directory: OUT, or a new one under .tmp/class/ (old ones pruned). */
function outputDir(given: string | undefined, name: string): string {
  if (given !== undefined && given.trim() !== '') return path.resolve(given);
  const dir = path.join(CLASS_DIR, `${stamp()}-${name}`);
  fs.mkdirSync(dir, { recursive: true });
  prune(CLASS_DIR, RETENTION.class, [path.basename(dir)]);
  return dir;
}

async function gradeCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      stage: { type: 'string', default: process.env.STAGE },
      submissions: { type: 'string', default: process.env.SUBMISSIONS },
      runs: { type: 'string', default: process.env.RUNS },
      jobs: { type: 'string', default: process.env.JOBS },
      seed: { type: 'string', default: process.env.SEED },
      run: { type: 'string', default: process.env.RUN },
      shard: { type: 'string', default: process.env.SHARD },
      out: { type: 'string', default: process.env.OUT },
      'run-timeout': { type: 'string', default: process.env.RUN_TIMEOUT },
      'memory-mb': { type: 'string', default: process.env.MEMORY_MB },
    },
  });
  if (!values.stage || !values.submissions) {
    throw new ClassUsageError('usage: make grade-class STAGE=<stage> SUBMISSIONS=<dir> [RUNS=10] [JOBS=<cores>] [SEED=<base>] [RUN=<regex>] [SHARD=i/n] [OUT=<dir>] [RUN_TIMEOUT=<s>] [MEMORY_MB=<MB>]');
  }
  const shard = parseShard(values.shard);
  let baseSeed: number;
  if (values.seed !== undefined && values.seed.trim() !== '') {
    if (!/^\d+$/.test(values.seed.trim()) || Number(values.seed) > 0xffff_ffff) throw new ClassUsageError(`SEED must be an integer in [0, 4294967295], got "${values.seed}"`);
    baseSeed = Number(values.seed);
  } else if (shard.count > 1) {
    throw new ClassUsageError(`SHARD=${values.shard} needs SEED: every shard of a grading must use the same seed base`);
  } else {
    baseSeed = randomInt(0, 0x1_0000_0000);
  }
  let run: RegExp | undefined;
  if (values.run !== undefined && values.run !== '') {
    try {
      run = new RegExp(values.run);
    } catch (err) {
      throw new ClassUsageError(`RUN is not a regular expression: ${(err as Error).message}`);
    }
  }
  const stage = values.stage.trim().toLowerCase();
  const runs = wholeNumber('RUNS', values.runs, 10);
  const jobs = wholeNumber('JOBS', values.jobs, os.availableParallelism());
  // Checked before an output directory is made: bad input leaves nothing behind.
  if (resolveTarget(stage) === undefined) throw new ClassUsageError(`unknown stage '${values.stage}': use a stage (1, 2aa, ..., 4c) or a lab (2a)`);
  const submissionsDir = path.resolve(values.submissions);
  listSubmissions(submissionsDir);
  const outDir = outputDir(values.out, shard.count > 1 ? `${stage}-shard-${shard.index}-of-${shard.count}` : stage);
  console.log(
    `Class grading of stage ${stage}: submissions in ${submissionsDir}, ${runs} runs per test, ${jobs} workers, seed base ${baseSeed}` +
      `${shard.count > 1 ? `, shard ${shard.index}/${shard.count}` : ''}; each submission in a bubblewrap sandbox`,
  );
  const report = await gradeClass({
    root: ROOT,
    stage,
    submissionsDir,
    runs,
    jobs,
    baseSeed,
    run,
    shard,
    outDir,
    runBudgetMs: wholeNumber('RUN_TIMEOUT', values['run-timeout'], 300) * 1000,
    memoryLimitBytes: wholeNumber('MEMORY_MB', values['memory-mb'], 2048) * 1024 * 1024,
    onSubmission: (row, done, total) => {
      const failing = row.failingTests.length === 0 ? '' : `; failing: ${row.failingTests.map((t) => t.name.split(' > ').pop()).join(', ')}`;
      console.log(`[${done}/${total}] ${row.name}: ${row.score.earned}/${row.score.possible} points (${row.failures} of ${row.runs} runs failed)${failing}`);
    },
  });
  const rel = path.relative(process.cwd(), outDir) || '.';
  const cpu = report.cpu === null ? '' : `; CPU busy ${(report.cpu.utilisation * 100).toFixed(0)}% of ${report.cpu.cores} cores`;
  console.log(`${report.totals.submissions} submissions graded in ${report.wallSeconds} s (${report.totals.runs} runs, ${report.totals.failures} failed)${cpu}`);
  console.log(`Reports: ${rel}/class.html  ${rel}/class.csv  ${rel}/class.json  (per submission: ${rel}/submissions/<name>/grade/)`);
  return 0;
}

function mergeCommand(argv: string[]): number {
  const { values, positionals } = parseArgs({ args: argv, options: { out: { type: 'string', default: process.env.OUT } }, allowPositionals: true });
  const inputs = positionals.length > 0 ? positionals : process.env.SHARDS ? [process.env.SHARDS] : [];
  if (inputs.length === 0) throw new ClassUsageError('usage: make grade-merge SHARDS=<directory holding the shards> [OUT=<dir>]');
  const outDir = outputDir(values.out, 'merged');
  const report = mergeShards(inputs.map((i) => path.resolve(i)), outDir, ROOT);
  const rel = path.relative(process.cwd(), outDir) || '.';
  console.log(`Merged ${report.shardsMerged} shard(s): ${report.totals.submissions} submissions, ${report.totals.runs} runs, ${report.totals.failures} failed`);
  console.log(`Reports: ${rel}/class.html  ${rel}/class.csv  ${rel}/class.json`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'grade') return gradeCommand(rest);
  if (command === 'merge') return mergeCommand(rest);
  throw new ClassUsageError('usage: cli.ts grade ... | cli.ts merge ... (make grade-class, make grade-merge)');
}

// Ctrl-C or a process manager's SIGTERM: exit through 'exit', where the worker pools kill their sandboxes.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ClassUsageError || err instanceof ShardError || err instanceof MergeError || err instanceof GradeUsageError) {
      console.error(`grade-class: ${err.message}`);
      process.exit(2);
    }
    console.error(err);
    process.exit(1);
  },
);
