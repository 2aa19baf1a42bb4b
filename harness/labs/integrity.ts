/**
 * `make integrity`: the integrity matrix of the lab copies. For each lab copy labs/<lab>:
 *   (a) it type-checks together with harness/ (the suites compile against its stubs); all labs are checked in
 *       one incremental session (typecheck.ts) that reports what a fresh `tsc -p` per lab would;
 *   (b) every suite of a stage before the lab passes on it (the stubs are harmless to earlier stages);
 *   (c) each suite of the lab's own stages fails on it (the stubs really leave the work to the student);
 *       every own-stage test that passes on the stub is listed (with --strict each one is a violation).
 * Stages whose suite directory does not exist yet show as "none". Exit status 1 on any violation.
 *
 * Reuse: a test file's result on a lab copy can only differ from its result on reference/ if the copy's code
 * it loads differs. So for (b), a test file whose static import closure (closure.ts) reaches no file of the
 * copy that differs from reference/ (beyond the dropped marker lines), and does nothing the walk cannot see
 * (start processes, import computed names, build paths from IMPL, ...), is not run on the copy: its result on
 * reference/ is used, from run-all's "tests" step when given, else from one reference run shared by all labs.
 * (c) always runs. --no-reuse runs everything; --verify-reuse runs everything and also reports each reuse
 * decision whose real result differs from the reference result (a dependency the walk missed).
 *
 *   tsx harness/labs/integrity.ts [--lab 2a[,3b]] [--strict] [--no-reuse | --verify-reuse]
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ScanCache, differingFiles, implFilesOf, importClosure } from './closure.ts';
import { LABS, LAB_IDS, STAGES, getLab, labFirstStageIndex, ownStages, stagesBefore, type Lab, type Stage } from './stages.ts';
import { LabTypechecker, type TypecheckResult } from './typecheck.ts';
import { listTestFiles, runVitest, type TestOutcome } from './vitest-run.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export type StageState = 'none' | 'ok' | 'warn' | 'fail';

export interface StageCheck {
  readonly stage: Stage;
  /** 'earlier': must pass on the lab; 'own': must fail on the lab. */
  readonly role: 'earlier' | 'own';
  readonly state: StageState;
  readonly passed: number;
  readonly failed: number;
  /** Earlier stage: its failing tests. Own stage: its tests that pass on the stub. */
  readonly offending: readonly TestOutcome[];
  /** Test files whose result was taken from reference/ instead of a run on the lab (earlier stages only). */
  readonly reusedFiles: number;
  /** Test files of the stage's suite. */
  readonly totalFiles: number;
}

export type { TypecheckResult };

export interface LabReport {
  readonly lab: Lab;
  /** Set when labs/<lab> does not exist. */
  readonly missing: boolean;
  readonly typecheck: TypecheckResult | undefined;
  readonly stages: readonly StageCheck[];
  /** Vitest runs that failed without a test to blame (crash, unhandled error), and failed reuse checks. */
  readonly runErrors: readonly string[];
  readonly ok: boolean;
}

/** Whether an earlier-stage test file may take its reference/ result on a lab, and why. */
interface ReuseDecision {
  readonly file: string;
  readonly reuse: boolean;
  /** Why it must run: the differing files it loads, or what the static walk cannot see. */
  readonly reason: string;
}

/** Results of test files run against reference/ (IMPL=reference) on this same tree. */
export interface ReferenceResults {
  readonly outcomes: readonly TestOutcome[];
  /** Where they come from, for the log ("the tests step"). */
  readonly source: string;
}

/** Classifies one stage's outcomes. `outcomes` holds only this stage's tests; undefined means no suite. */
export function classifyStage(
  stage: Stage,
  role: 'earlier' | 'own',
  outcomes: readonly TestOutcome[] | undefined,
  strict: boolean,
  files: { reused: number; total: number } = { reused: 0, total: 0 },
): StageCheck {
  const base = { stage, role, reusedFiles: files.reused, totalFiles: files.total };
  if (outcomes === undefined) return { ...base, state: 'none', passed: 0, failed: 0, offending: [] };
  const passed = outcomes.filter((o) => o.outcome === 'passed');
  const failed = outcomes.filter((o) => o.outcome === 'failed');
  if (role === 'earlier') {
    return { ...base, state: failed.length === 0 ? 'ok' : 'fail', passed: passed.length, failed: failed.length, offending: failed };
  }
  let state: StageState;
  if (failed.length === 0) state = 'fail';
  else if (passed.length === 0) state = 'ok';
  else state = strict ? 'fail' : 'warn';
  return { ...base, state, passed: passed.length, failed: failed.length, offending: passed };
}

/**
 * Decides, for each earlier-stage test file, whether its reference/ result stands for the lab: only if its
 * static closure is complete and reaches no file of the lab that differs from reference/.
 */
function reuseDecisions(root: string, files: readonly string[], differing: ReadonlySet<string>, cache: ScanCache): ReuseDecision[] {
  return files.map((file) => {
    const closure = importClosure([file], { root, impl: 'reference', types: false }, cache);
    if (closure.opaque.length > 0) return { file, reuse: false, reason: `always run: ${closure.opaque[0]}${closure.opaque.length > 1 ? ` (+${closure.opaque.length - 1} more)` : ''}` };
    const stubbed = implFilesOf(closure, 'reference').filter((f) => differing.has(f));
    if (stubbed.length > 0) return { file, reuse: false, reason: `loads ${stubbed.join(', ')}` };
    return { file, reuse: true, reason: 'loads no file that differs from reference/' };
  });
}

/** Test outcomes grouped by file. */
function byFile(outcomes: readonly TestOutcome[]): Map<string, TestOutcome[]> {
  const map = new Map<string, TestOutcome[]>();
  for (const o of outcomes) {
    if (!map.has(o.file)) map.set(o.file, []);
    map.get(o.file)!.push(o);
  }
  return map;
}

/** `name: outcome` lines of a file's results, for comparing a real run with a reused result. */
function outcomeSignature(outcomes: readonly TestOutcome[]): string {
  return outcomes.map((o) => `${o.name}: ${o.outcome}`).sort().join('\n');
}

/** Type-checks labs/<lab> with harness/ (@impl/* pointing at the copy), on its own. */
function typecheckLab(root: string, lab: Lab): TypecheckResult {
  const checker = new LabTypechecker(root);
  try {
    return checker.check(`labs/${lab.id}`);
  } finally {
    checker.dispose();
  }
}

/**
 * Type-checks the given labs in one incremental session (typecheck.ts), from the most complete copy to the
 * most stubbed, so each step re-checks little. Labs whose copy is missing are left out.
 */
export function typecheckLabs(root: string, labs: readonly Lab[], log: (line: string) => void): Map<string, TypecheckResult> {
  const results = new Map<string, TypecheckResult>();
  const order = [...labs].filter((l) => fs.existsSync(path.join(root, 'labs', l.id))).sort((a, b) => labFirstStageIndex(b) - labFirstStageIndex(a));
  if (order.length === 0) return results;
  const checker = new LabTypechecker(root);
  try {
    for (const lab of order) {
      const start = performance.now();
      const result = checker.check(`labs/${lab.id}`);
      log(`[${lab.id}] typecheck: ${result.ok ? 'ok' : `${result.errors.length} error(s)`} (${seconds(start)})`);
      results.set(lab.id, result);
    }
  } finally {
    checker.dispose();
  }
  return results;
}

/** Test files of a stage's suite, or undefined if it has none yet. */
function suiteFiles(root: string, stage: Stage): string[] | undefined {
  const files = listTestFiles(root, `harness/suites/${stage.suiteDir}`);
  return files.length > 0 ? files : undefined;
}

function stageOf(file: string): string | undefined {
  return /^harness\/suites\/([^/]+)\//.exec(file)?.[1];
}

export interface IntegrityOptions {
  readonly root?: string;
  /** Lab ids to check; all labs if omitted. */
  readonly labs?: readonly string[];
  readonly strict?: boolean;
  /** Progress lines go here. */
  readonly log?: (line: string) => void;
  /** Reference results already at hand (run-all's tests step); files they lack are run on reference/. */
  readonly reference?: ReferenceResults;
  /** 'reuse' (default): skip earlier-stage files that load only unchanged code; 'run': run everything;
   *  'verify': run everything and report every reuse decision the real result contradicts. */
  readonly mode?: 'reuse' | 'run' | 'verify';
}

/** What checkLab needs to reuse reference results: the decisions per file and the reference outcomes. */
interface ReusePlan {
  readonly decisions: ReadonlyMap<string, ReuseDecision>;
  /** Reference outcomes by file; a decided-reusable file missing here is run instead. */
  readonly referenceByFile: ReadonlyMap<string, readonly TestOutcome[]>;
  /** Run reusable files anyway and compare. */
  readonly verify: boolean;
}

function seconds(startMs: number): string {
  return `${((performance.now() - startMs) / 1000).toFixed(1)} s`;
}

/**
 * Checks one lab copy; runs its suites sequentially (earlier stages, then own stages). With a plan, earlier-
 * stage files decided reusable take their reference/ outcomes instead of a run.
 */
function checkLab(root: string, lab: Lab, strict: boolean, log: (line: string) => void, plan?: ReusePlan, typechecked?: TypecheckResult): LabReport {
  const labDir = path.join(root, 'labs', lab.id);
  if (!fs.existsSync(labDir)) {
    log(`[${lab.id}] labs/${lab.id} does not exist (run \`make labs\`)`);
    return { lab, missing: true, typecheck: undefined, stages: [], runErrors: [], ok: false };
  }
  let start = performance.now();
  let typecheck = typechecked;
  if (!typecheck) {
    typecheck = typecheckLab(root, lab);
    log(`[${lab.id}] typecheck: ${typecheck.ok ? 'ok' : `${typecheck.errors.length} error(s)`} (${seconds(start)})`);
  }

  const runErrors: string[] = [];
  const groups = (['earlier', 'own'] as const).map((role) => {
    const stages = role === 'earlier' ? stagesBefore(lab) : ownStages(lab);
    const filesByStage = new Map<string, string[] | undefined>(stages.map((s) => [s.id, suiteFiles(root, s)]));
    const files = stages.flatMap((s) => filesByStage.get(s.id) ?? []);
    const reused = new Set(role === 'earlier' && plan ? files.filter((f) => plan.decisions.get(f)?.reuse === true && plan.referenceByFile.has(f)) : []);
    const toRun = plan?.verify ? files : files.filter((f) => !reused.has(f));
    return { role, stages, filesByStage, files, reused, toRun };
  });

  // One vitest run per lab for both groups: each run costs a few seconds of start-up.
  const allToRun = groups.flatMap((g) => g.toRun);
  const ranByFile = new Map<string, TestOutcome[]>();
  let runTime = '';
  if (allToRun.length > 0) {
    start = performance.now();
    const run = runVitest({ root, filters: allToRun, impl: `labs/${lab.id}`, outputFile: path.join(root, '.tmp', 'integrity', `lab-${lab.id}.json`) });
    runTime = seconds(start);
    if (run.runError) runErrors.push(`suites: ${run.runError}`);
    for (const [file, outcomes] of byFile(run.outcomes)) ranByFile.set(file, outcomes);
  }

  const checks: StageCheck[] = [];
  for (const group of groups) {
    const outcomes: TestOutcome[] = [];
    const ran: TestOutcome[] = [];
    for (const file of group.toRun) {
      const fileOutcomes = ranByFile.get(file) ?? [];
      ran.push(...fileOutcomes);
      if (!group.reused.has(file)) outcomes.push(...fileOutcomes);
      else if (outcomeSignature(fileOutcomes) !== outcomeSignature(plan!.referenceByFile.get(file)!)) {
        runErrors.push(`reuse check: ${file} gives a different result on the lab than on reference/, although its static closure loads no differing file: a dependency the closure walk (closure.ts) misses`);
      }
    }
    for (const file of group.reused) outcomes.push(...plan!.referenceByFile.get(file)!);
    const stageList = group.stages.filter((s) => group.filesByStage.get(s.id)).map((s) => s.suiteDir).join(' ');
    if (group.toRun.length > 0) {
      const passed = ran.filter((o) => o.outcome === 'passed').length;
      const failed = ran.filter((o) => o.outcome === 'failed').length;
      const note = group.reused.size > 0 ? `; ran ${group.toRun.length} of ${group.files.length} files${plan?.verify ? ' to verify reuse' : ', reference results reused for the others'}` : '';
      log(`[${lab.id}] ${group.role} suites (${stageList}): ${passed} passed, ${failed} failed (run: ${runTime}${note})`);
    } else if (group.reused.size > 0) {
      log(`[${lab.id}] ${group.role} suites (${stageList}): not run, reference results reused (no file loads stubbed code)`);
    }
    const byDir = new Map<string, TestOutcome[]>();
    for (const outcome of outcomes) {
      const dir = stageOf(outcome.file);
      if (dir === undefined) continue;
      if (!byDir.has(dir)) byDir.set(dir, []);
      byDir.get(dir)!.push(outcome);
    }
    for (const stage of group.stages) {
      const stageFiles = group.filesByStage.get(stage.id);
      const stageOutcomes = stageFiles ? (byDir.get(stage.suiteDir) ?? []) : undefined;
      const counts = { reused: (stageFiles ?? []).filter((f) => group.reused.has(f)).length, total: stageFiles?.length ?? 0 };
      checks.push(classifyStage(stage, group.role, stageOutcomes, strict, counts));
    }
  }
  const ok = typecheck.ok && runErrors.length === 0 && checks.every((c) => c.state !== 'fail');
  return { lab, missing: false, typecheck, stages: checks, runErrors, ok };
}

/** One cell of the matrix. */
export function cell(check: StageCheck | undefined): string {
  if (!check) return '.';
  if (check.state === 'none') return 'none';
  const total = check.passed + check.failed;
  if (check.role === 'earlier') {
    // '=': every file of the suite took its reference/ result (the lab runs the same code there).
    const same = check.totalFiles > 0 && check.reusedFiles === check.totalFiles ? '=' : '';
    return check.state === 'ok' ? `ok${same} ${check.passed}` : `FAIL${same} ${check.failed}/${total}`;
  }
  if (check.state === 'ok') return `stub ${check.failed}`;
  return `${check.state === 'warn' ? 'warn' : 'FAIL'} ${check.passed}/${total}`;
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - text.length));
}

/** The matrix (one row per lab, one column per stage), a legend, and the details of every problem. */
export function formatReports(reports: readonly LabReport[]): string[] {
  const header = ['lab', 'tsc', ...STAGES.map((s) => s.suiteDir), 'verdict'];
  const rows = reports.map((r) => {
    const tsc = r.missing ? 'MISSING' : r.typecheck?.ok ? 'ok' : `FAIL ${r.typecheck?.errors.length ?? 0}`;
    const stageCells = STAGES.map((s) => cell(r.stages.find((c) => c.stage.id === s.id)));
    return [r.lab.id, tsc, ...stageCells, r.ok ? 'ok' : 'FAIL'];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const lines: string[] = [];
  const fmt = (row: string[]): string => row.map((c, i) => pad(c, widths[i]!)).join('  ').trimEnd();
  lines.push(fmt(header));
  lines.push(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) lines.push(fmt(row));
  lines.push('');
  lines.push('Legend: "ok N" an earlier stage\'s suite passes on the lab (N tests); "stub N" the lab\'s own stage fails on the');
  lines.push('stub as it should (N failing tests); "warn K/N" K own-stage tests pass on the stub; "FAIL" a violation;');
  lines.push('"none" no suite for that stage yet; "." a later stage (not run). A "=" ("ok= N") marks an earlier suite');
  lines.push('that was not run on the lab: none of its test files loads a file that differs from reference/, so its');
  lines.push('result there is its result on reference/ (a partly reused suite shows without "=").');

  const details: string[] = [];
  for (const r of reports) {
    const prefix = `lab ${r.lab.id}`;
    if (r.missing) details.push(`${prefix}: labs/${r.lab.id} does not exist; run \`make labs\``);
    if (r.typecheck && !r.typecheck.ok) {
      details.push(`${prefix}: type errors (${r.typecheck.errors.length}):`);
      for (const e of r.typecheck.errors.slice(0, 20)) details.push(`    ${e}`);
      if (r.typecheck.errors.length > 20) details.push(`    ... and ${r.typecheck.errors.length - 20} more`);
    }
    for (const e of r.runErrors) {
      details.push(`${prefix}: ${e.split('\n')[0]}`);
      for (const l of e.split('\n').slice(1)) details.push(`    ${l}`);
    }
    for (const c of r.stages) {
      if (c.role === 'earlier' && c.state === 'fail') {
        details.push(`${prefix}: earlier stage ${c.stage.id} fails on the lab copy (its stubs must be harmless to it):`);
        for (const o of c.offending) {
          details.push(`    FAIL ${o.file} > ${o.name}`);
          for (const l of o.errorLines) details.push(`        ${l}`);
        }
      }
      if (c.role === 'own' && c.state !== 'ok' && c.state !== 'none') {
        const what = c.failed === 0 ? `the whole ${c.stage.id} suite passes on the stub (it must fail)` : `${c.passed} ${c.stage.id} test(s) pass on the stub`;
        details.push(`${prefix}: ${c.state === 'warn' ? 'warning' : 'violation'}: ${what}:`);
        for (const o of c.offending) details.push(`    passes on stub: ${o.file} > ${o.name}`);
      }
    }
  }
  if (details.length > 0) {
    lines.push('');
    lines.push('Details:');
    lines.push(...details);
  }
  return lines;
}

export interface IntegrityResult {
  readonly ok: boolean;
  readonly reports: readonly LabReport[];
  readonly lines: readonly string[];
}

/** Why reuse is off for the whole run, or undefined: vitest setup files load code no test file imports. */
function reuseBlocker(root: string): string | undefined {
  const config = path.join(root, 'vitest.config.ts');
  const text = fs.existsSync(config) ? fs.readFileSync(config, 'utf8') : '';
  return /setupFiles|globalSetup/.test(text) ? 'vitest.config.ts has setup files (code loaded outside every import closure)' : undefined;
}

/**
 * Decides reuse for every earlier-stage test file of the given labs, and gets the reference results the
 * reusable ones need: from options.reference when it has them, else from one vitest run on reference/.
 */
function planReuse(root: string, labs: readonly Lab[], options: IntegrityOptions, log: (line: string) => void): { plans: Map<string, ReusePlan>; notes: string[] } {
  const plans = new Map<string, ReusePlan>();
  const mode = options.mode ?? 'reuse';
  const blocker = reuseBlocker(root);
  if (mode === 'run' || blocker) {
    if (blocker) log(`reuse off: ${blocker}`);
    return { plans, notes: blocker ? [`Reuse off: ${blocker}.`] : [] };
  }
  const cache = new ScanCache();
  const decisionsByLab = new Map<string, Map<string, ReuseDecision>>();
  const alwaysRun = new Map<string, string>();
  for (const lab of labs) {
    if (!fs.existsSync(path.join(root, 'labs', lab.id))) continue;
    const files = stagesBefore(lab).flatMap((s) => suiteFiles(root, s) ?? []);
    const differing = differingFiles(root, `labs/${lab.id}`);
    const decisions = reuseDecisions(root, files, differing, cache);
    decisionsByLab.set(lab.id, new Map(decisions.map((d) => [d.file, d])));
    for (const d of decisions) if (d.reason.startsWith('always run')) alwaysRun.set(d.file, d.reason.slice('always run: '.length));
  }
  const reusingLabs = new Map<string, number>();
  for (const decisions of decisionsByLab.values()) {
    for (const d of decisions.values()) if (d.reuse) reusingLabs.set(d.file, (reusingLabs.get(d.file) ?? 0) + 1);
  }
  const needed = [...reusingLabs.keys()].sort();
  const given = byFile(options.reference?.outcomes ?? []);
  const referenceByFile = new Map<string, readonly TestOutcome[]>();
  for (const file of needed) if (given.has(file)) referenceByFile.set(file, given.get(file)!);
  // A file only one lab could reuse costs the same to run there as on reference/: it just runs on the lab.
  const missing = needed.filter((f) => !referenceByFile.has(f) && reusingLabs.get(f)! >= 2);
  if (options.reference && needed.length > 0) log(`reference results for ${referenceByFile.size} of ${needed.length} reusable file(s) from ${options.reference.source}`);
  if (missing.length > 0) {
    const start = performance.now();
    const run = runVitest({ root, filters: missing, impl: 'reference', outputFile: path.join(root, '.tmp', 'integrity', 'reference.json') });
    const passed = run.outcomes.filter((o) => o.outcome === 'passed').length;
    const failed = run.outcomes.filter((o) => o.outcome === 'failed').length;
    log(`[reference] ${missing.length} file(s) that labs can reuse: ${passed} passed, ${failed} failed (${seconds(start)})`);
    if (run.runError) {
      // Without a clean reference run there is nothing sound to reuse: every file runs on every lab.
      log(`[reference] run error, reuse off: ${run.runError.split('\n')[0]}`);
      return { plans, notes: [`Reuse off: the reference run failed (${run.runError.split('\n')[0]}).`] };
    }
    for (const [file, outcomes] of byFile(run.outcomes)) if (missing.includes(file)) referenceByFile.set(file, outcomes);
  }
  for (const [labId, decisions] of decisionsByLab) plans.set(labId, { decisions, referenceByFile, verify: mode === 'verify' });
  const notes = [...alwaysRun].map(([file, why]) => `  ${file}: ${why}`);
  return { plans, notes: notes.length > 0 ? ['Always run on every lab (they load code the static import walk cannot see):', ...notes] : [] };
}

export function runIntegrity(options: IntegrityOptions = {}): IntegrityResult {
  const root = options.root ?? REPO_ROOT;
  const log = options.log ?? ((line: string) => console.log(line));
  const labs = (options.labs ?? LAB_IDS).map(getLab);
  const { plans, notes } = planReuse(root, labs, options, log);
  const typechecks = typecheckLabs(root, labs, log);
  const reports = labs.map((lab) => checkLab(root, lab, options.strict ?? false, log, plans.get(lab.id), typechecks.get(lab.id)));
  const ok = reports.every((r) => r.ok);
  const violations = reports.filter((r) => !r.ok).length;
  const lines = [
    ...formatReports(reports),
    ...(notes.length > 0 ? ['', ...notes] : []),
    '',
    ok ? `integrity: ok (${reports.length} lab(s))` : `integrity: ${violations} of ${reports.length} lab(s) violate the rules`,
  ];
  return { ok, reports, lines };
}

interface Args {
  labs: string[] | undefined;
  strict: boolean;
  mode: 'reuse' | 'run' | 'verify';
}

function parseArgs(argv: readonly string[]): Args {
  let labs: string[] | undefined;
  let strict = false;
  let mode: Args['mode'] = 'reuse';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--strict') strict = true;
    else if (arg === '--no-reuse') mode = 'run';
    else if (arg === '--verify-reuse') mode = 'verify';
    else if (arg === '--lab' || arg.startsWith('--lab=')) {
      const value = arg === '--lab' ? argv[++i] : arg.slice('--lab='.length);
      if (!value) throw new Error('--lab needs a lab id, e.g. --lab 2a');
      labs = [...(labs ?? []), ...value.split(',').map((v) => v.trim().toLowerCase()).filter((v) => v !== '')];
    } else throw new Error(`unknown argument '${arg}'`);
  }
  for (const id of labs ?? []) getLab(id);
  return { labs, strict, mode };
}

function main(argv: readonly string[]): number {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    console.error(`integrity: ${(err as Error).message}`);
    console.error(`usage: tsx harness/labs/integrity.ts [--lab <${LABS.map((l) => l.id).join('|')}>[,...]] [--strict] [--no-reuse | --verify-reuse]`);
    return 2;
  }
  const result = runIntegrity({ labs: args.labs, strict: args.strict, mode: args.mode });
  console.log('');
  for (const line of result.lines) console.log(line);
  return result.ok ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
