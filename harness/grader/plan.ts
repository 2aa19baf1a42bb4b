/**
 * What a grading covers: the tests of the selected stages, their points, the seed of every run, and the
 * command that replays a run exactly.
 */
import { HANDOUT_IMPL_DIR, isHandout } from '../tools/default-impl.ts';
import { createHash } from 'node:crypto';
import { getStage, STAGES, resolveTarget, type Stage } from '../labs/stages.ts';
import { listTestFiles } from '../labs/vitest-run.ts';
import { pointsFor } from './scoring.ts';

export class GradeUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GradeUsageError';
  }
}

/** One test of a suite, as the grader runs it. */
export interface GradedTest {
  /** `file > describe > ... > test`: unique. */
  readonly key: string;
  /** Repository-relative path of its file. */
  readonly file: string;
  /** Describe blocks (outermost first), then the test's own name. */
  readonly names: readonly string[];
  /** The name as vitest shows it: names joined by " > ". */
  readonly fullName: string;
  readonly stage: Stage;
  readonly points: number;
}

/**
 * The stages `name` selects: a stage's suite (1, 2aa, ..., 4c), a lab (2a = 2aa + 2ab + 2ac), or `all`
 * (every stage that has a suite).
 */
export function selectStages(root: string, name: string): Stage[] {
  const key = name.trim().toLowerCase();
  const hasSuite = (s: Stage) => listTestFiles(root, `harness/suites/${s.suiteDir}`).length > 0;
  if (key === 'all') return STAGES.filter(hasSuite);
  const target = resolveTarget(key);
  if (target === undefined) {
    throw new GradeUsageError(`unknown stage '${name}': use a stage (${STAGES.map((s) => s.suiteDir).join(' ')}), a lab (2a) or all`);
  }
  const missing = target.stages.filter((s) => !hasSuite(s));
  if (missing.length > 0) {
    throw new GradeUsageError(missing.map((s) => `stage ${s.id} has no suite yet (harness/suites/${s.suiteDir}/ holds no *.test.ts)`).join('; '));
  }
  return target.stages;
}

/**
 * What a stage grades by default (as `make project<stage>`): in the kit the stage's lab copy, in a student
 * handout the student's code (harness/tools/default-impl.ts).
 */
export function defaultImpl(name: string, root: string): string {
  if (isHandout(root)) return HANDOUT_IMPL_DIR;
  const target = resolveTarget(name.trim().toLowerCase());
  return target === undefined ? 'reference' : `labs/${target.lab.id}`;
}

/** The test files of a stage, repository-relative. */
export function testFilesOf(root: string, stage: Stage): string[] {
  return listTestFiles(root, `harness/suites/${stage.suiteDir}`);
}

export function gradedTest(file: string, names: readonly string[], stageId: string): GradedTest {
  const stage = getStage(stageId);
  const fullName = names.join(' > ');
  return { key: `${file} > ${fullName}`, file, names, fullName, stage, points: pointsFor(stage.id, names[names.length - 1]!) };
}

/** Does `pattern` (RUN, as vitest's -t) select the test? vitest matches the names joined by spaces. */
export function matchesRun(test: GradedTest, pattern: RegExp | undefined): boolean {
  return pattern === undefined || pattern.test(test.names.join(' '));
}

/** The seed of run `run` of a test: derived from the base seed, so a whole grading replays from one number. */
export function runSeed(base: number, test: GradedTest, run: number): number {
  return createHash('sha256').update(`${base}\u0000${test.key}\u0000${run}`).digest().readUInt32BE(0);
}

/** Quote for a POSIX shell. */
export function shellQuote(text: string): string {
  return /^[A-Za-z0-9_./:=@-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A -t / RUN pattern selecting exactly this test (and no other that merely contains its name). */
export function exactRunPattern(test: GradedTest): string {
  return `^${escapeRegExp(test.names.join(' '))}$`;
}

/** The command that replays one run exactly. */
export function replayCommand(test: GradedTest, impl: string, seed: number, swarm: boolean): string {
  const parts = [`make project${test.stage.suiteDir}`, `IMPL=${shellQuote(impl)}`, `SEED=${seed}`];
  if (swarm) parts.push('SWARM=1');
  parts.push(`RUN=${shellQuote(exactRunPattern(test))}`);
  return parts.join(' ');
}
