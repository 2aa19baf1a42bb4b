/**
 * Seeds and failure reports.
 *
 * Seed policy: every simulated test runs from one seed. `testSeed()` takes it from the SEED environment
 * variable (to replay) or draws a fresh one (so repeated runs explore), and always prints it.
 *
 * A failure report says what failed, the seed, the trace hash, the exact command that replays the run,
 * the last trace events, and where the full trace was written.
 */
import { randomInt } from 'node:crypto';
import { isAbsolute, join, relative, sep } from 'node:path';
import { defaultImpl } from '../tools/default-impl.ts';
import { formatRecord, type TraceRecord } from './trace.ts';

/**
 * Where full traces go: TRACE_DIR if set (the grader keeps a grading's traces in its grade directory), else
 * .tmp/traces, relative to the repository root (the directory tests run from). harness/retention.ts bounds it.
 */
export function traceDir(root = process.cwd(), env: Record<string, string | undefined> = process.env): string {
  const chosen = env.TRACE_DIR !== undefined && env.TRACE_DIR !== '' ? env.TRACE_DIR : join('.tmp', 'traces');
  return isAbsolute(chosen) ? chosen : join(root, chosen);
}

/** Thrown when SEED is set to something that is not a seed. */
export class BadSeedError extends Error {
  constructor(value: string) {
    super(`SEED must be an integer in [0, 4294967295], got "${value}"`);
    this.name = 'BadSeedError';
  }
}

/** Parse a seed written in decimal. */
export function parseSeed(text: string): number {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) throw new BadSeedError(text);
  const seed = Number(trimmed);
  if (!Number.isSafeInteger(seed) || seed > 0xffff_ffff) throw new BadSeedError(text);
  return seed;
}

/**
 * The seed for this test: SEED from the environment if set, else a fresh one from node:crypto.
 * Printed either way (with `label`, usually the test name), so any run can be replayed.
 */
export function testSeed(
  label = '',
  env: Record<string, string | undefined> = process.env,
  print: (line: string) => void = (line) => console.log(line),
): number {
  const fromEnv = env.SEED !== undefined && env.SEED !== '';
  const seed = fromEnv ? parseSeed(env.SEED!) : randomInt(0, 0x1_0000_0000);
  print(`[sim] ${label ? `${label}: ` : ''}seed ${seed}${fromEnv ? ' (from SEED)' : ' (fresh; replay with SEED=' + seed + ')'}`);
  return seed;
}

/** A file-name-safe form of a test name. */
function slug(text: string): string {
  return (
    text
      .replace(/[^A-Za-z0-9_.-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 100) || 'test'
  );
}

/** Where the full trace of (test, seed) is written: .tmp/traces/<test>-<seed>.jsonl. */
export function tracePath(testName: string, seed: number, root = process.cwd()): string {
  return join(traceDir(root), `${slug(testName)}-${seed}.jsonl`);
}

/** The stage a suite file belongs to: harness/suites/2b/x.test.ts -> "2b" (undefined for kit tests). */
function stageOfTestFile(testFile: string): string | undefined {
  const parts = testFile.split(/[\\/]/);
  const at = parts.lastIndexOf('suites');
  if (at < 0 || at + 1 >= parts.length - 1) return undefined;
  const dir = parts[at + 1]!;
  return /^\d[a-c]{0,2}$/.test(dir) ? dir : undefined;
}

/** Quote for a POSIX shell: 'text', with embedded quotes escaped. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Escape a literal for use inside a regular expression (vitest's -t takes a pattern). */
function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export interface ReplayInput {
  /** Test file, absolute or relative to the repository root. */
  testFile: string;
  /** The test's full name as vitest reports it ("describe > test" or just "test"). */
  testName: string;
  seed: number;
  /** Implementation under test (the IMPL variable); default: IMPL from the environment, else "reference". */
  impl?: string;
  /** Whether the run is a swarm run (SWARM=1); default: the SWARM environment variable. */
  swarm?: boolean;
}

/** The commands that replay one test with one seed: the vitest form, and the make form for stage suites. */
export function replayCommands(input: ReplayInput): { vitest: string; make: string | undefined } {
  const file = toRepoPath(input.testFile);
  const kitDefault = defaultImpl(process.cwd());
  const impl = input.impl ?? process.env.IMPL ?? kitDefault;
  const implPrefix = impl === kitDefault ? '' : `IMPL=${shellQuote(impl)} `;
  // A swarm run draws its faults from the seed too: the replay must be one as well.
  const swarm = input.swarm ?? swarmEnabled();
  // vitest matches -t against the describe names and the test name joined by spaces.
  const name = escapeRegExp(input.testName.split(' > ').join(' '));
  const vitest = `${implPrefix}SEED=${input.seed}${swarm ? ' SWARM=1' : ''} npx vitest run ${file} -t ${shellQuote(`${name}$`)}`;
  const stage = stageOfTestFile(file);
  const make =
    stage === undefined
      ? undefined
      : `make project${stage} IMPL=${shellQuote(impl)} SEED=${input.seed}${swarm ? ' SWARM=1' : ''} RUN=${shellQuote(`^${name}$`)}`;
  return { vitest, make };
}

/** Is swarm mode on (SWARM=1 in the environment, read when the test runs)? */
export function swarmEnabled(env: Record<string, string | undefined> = process.env): boolean {
  const v = env.SWARM;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

export interface FailureInput extends ReplayInput {
  /** What failed: the assertion or error. */
  error: unknown;
  traceHash: string;
  lastEvents: readonly TraceRecord[];
  /** Path of the full JSONL trace, if one was written. */
  traceFile?: string;
  /** Virtual time at the failure, in ms. */
  virtualTime?: number;
  /** How many trailing events to show (default 40). */
  showEvents?: number;
  /** The state of the system under test at the failure (indented lines), e.g. each store's raft state. */
  state?: string;
  /** Leave out the first line naming the error (when the block is appended to that error's own message). */
  omitError?: boolean;
}

/** The failure block printed for a failed simulated test. */
export function formatFailure(input: FailureInput): string {
  const { vitest, make } = replayCommands(input);
  const lines: string[] = [];
  if (!input.omitError) lines.push(`FAILED ${input.testName}: ${describeError(input.error)}`);
  lines.push(`  seed:        ${input.seed}`);
  lines.push(`  trace hash:  ${input.traceHash}${input.virtualTime === undefined ? '' : `  (at virtual time ${input.virtualTime} ms)`}`);
  lines.push(`  replay:      ${vitest}`);
  if (make !== undefined) lines.push(`          or:  ${make}`);
  if (input.traceFile !== undefined) {
    lines.push(`  full trace:  ${toRepoPath(input.traceFile)}`);
    lines.push(`  see it:      make trace FILE=${toRepoPath(input.traceFile)}   (writes an HTML page to open in a browser)`);
  }
  lines.push(`  more detail: add LOG_LEVEL=debug to either command (the logs go to stderr, not into the trace: same run, same hash)`);
  if (input.state !== undefined && input.state !== '') {
    lines.push(`  at the failure:`);
    for (const line of input.state.split('\n')) lines.push(`  ${line}`);
  }
  const { shown, ticksHidden } = lastEventsWithoutTicks(input.lastEvents, input.showEvents ?? 40);
  if (shown.length > 0) {
    const hidden = ticksHidden > 0 ? `; ${ticksHidden} periodic ticks left out` : '';
    lines.push(`  last ${shown.length} events (virtual time, who, kind, detail${hidden}):`);
    for (const rec of shown) lines.push(`    ${formatRecord(rec)}`);
  }
  return lines.join('\n');
}

/**
 * The last `count` records that are not periodic timer ticks ('every': raft ticks, heartbeats of the store,
 * log GC ticks), which fill most of a trace and rarely explain a failure; and how many ticks were skipped
 * between the first record shown and the end.
 */
export function lastEventsWithoutTicks(records: readonly TraceRecord[], count: number): { shown: TraceRecord[]; ticksHidden: number } {
  const shown: TraceRecord[] = [];
  let ticksHidden = 0;
  for (let i = records.length - 1; i >= 0 && shown.length < count; i--) {
    if (records[i]!.k === 'every') ticksHidden++;
    else shown.push(records[i]!);
  }
  return { shown: shown.reverse(), ticksHidden };
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message.split('\n')[0]}`;
  return String(error);
}

/** A path relative to the working directory (the repository root when tests run), with forward slashes. */
function toRepoPath(path: string): string {
  const rel = isAbsolute(path) ? relative(process.cwd(), path) : path;
  return rel.split(sep).join('/');
}
