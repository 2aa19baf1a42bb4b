/**
 * `make integrity`: the integrity matrix of the lab copies. For each lab copy labs/<lab>:
 *   (a) it type-checks together with harness/ (the suites compile against its stubs);
 *   (b) every suite of a stage before the lab passes on it (the stubs are harmless to earlier stages);
 *   (c) each suite of the lab's own stages fails on it (the stubs really leave the work to the student);
 *       every own-stage test that passes on the stub is listed (with --strict each one is a violation).
 * Stages whose suite directory does not exist yet show as "none". Exit status 1 on any violation.
 *
 *   tsx harness/labs/integrity.ts [--lab 2a[,3b]] [--strict]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LABS, LAB_IDS, STAGES, getLab, ownStages, stagesBefore, type Lab, type Stage } from './stages.ts';
import { listTestFiles, runVitest, type TestOutcome } from './vitest-run.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

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
}

export interface TypecheckResult {
  readonly ok: boolean;
  readonly errors: readonly string[];
}

export interface LabReport {
  readonly lab: Lab;
  /** Set when labs/<lab> does not exist. */
  readonly missing: boolean;
  readonly typecheck: TypecheckResult | undefined;
  readonly stages: readonly StageCheck[];
  /** Vitest runs that failed without a test to blame (crash, unhandled error). */
  readonly runErrors: readonly string[];
  readonly ok: boolean;
}

/** Classifies one stage's outcomes. `outcomes` holds only this stage's tests; undefined means no suite. */
export function classifyStage(stage: Stage, role: 'earlier' | 'own', outcomes: readonly TestOutcome[] | undefined, strict: boolean): StageCheck {
  if (outcomes === undefined) return { stage, role, state: 'none', passed: 0, failed: 0, offending: [] };
  const passed = outcomes.filter((o) => o.outcome === 'passed');
  const failed = outcomes.filter((o) => o.outcome === 'failed');
  if (role === 'earlier') {
    return { stage, role, state: failed.length === 0 ? 'ok' : 'fail', passed: passed.length, failed: failed.length, offending: failed };
  }
  let state: StageState;
  if (failed.length === 0) state = 'fail';
  else if (passed.length === 0) state = 'ok';
  else state = strict ? 'fail' : 'warn';
  return { stage, role, state, passed: passed.length, failed: failed.length, offending: passed };
}

/** Type-checks labs/<lab> with harness/, through a tsconfig under .tmp/ that points @impl/* at the lab. */
export function typecheckLab(root: string, lab: Lab): TypecheckResult {
  const tmpDir = path.join(root, '.tmp', 'integrity');
  fs.mkdirSync(tmpDir, { recursive: true });
  const tsconfigPath = path.join(tmpDir, `tsconfig.lab-${lab.id}.json`);
  const tsconfig = {
    extends: path.join(root, 'tsconfig.json'),
    compilerOptions: {
      baseUrl: root,
      paths: { '@impl/*': [`labs/${lab.id}/*`] },
      incremental: true,
      tsBuildInfoFile: path.join(tmpDir, `lab-${lab.id}.tsbuildinfo`),
    },
    include: [path.join(root, 'labs', lab.id), path.join(root, 'harness')],
    exclude: [path.join(root, 'node_modules')],
  };
  fs.writeFileSync(tsconfigPath, `${JSON.stringify(tsconfig, null, 2)}\n`);
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', tsconfigPath, '--pretty', 'false'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  const errors = output.split('\n').filter((l) => /error TS\d+/.test(l));
  if (result.status !== 0 && errors.length === 0) {
    return { ok: false, errors: [`tsc exited with status ${result.status}: ${output.trim().split('\n').slice(-5).join(' / ')}`] };
  }
  return { ok: result.status === 0, errors };
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
}

function seconds(startMs: number): string {
  return `${((performance.now() - startMs) / 1000).toFixed(1)} s`;
}

/** Checks one lab copy; runs its suites sequentially (earlier stages, then own stages). */
export function checkLab(root: string, lab: Lab, strict: boolean, log: (line: string) => void): LabReport {
  const labDir = path.join(root, 'labs', lab.id);
  if (!fs.existsSync(labDir)) {
    log(`[${lab.id}] labs/${lab.id} does not exist (run \`make labs\`)`);
    return { lab, missing: true, typecheck: undefined, stages: [], runErrors: [], ok: false };
  }
  let start = performance.now();
  const typecheck = typecheckLab(root, lab);
  log(`[${lab.id}] typecheck: ${typecheck.ok ? 'ok' : `${typecheck.errors.length} error(s)`} (${seconds(start)})`);

  const runErrors: string[] = [];
  const groups: { role: 'earlier' | 'own'; stages: Stage[] }[] = [
    { role: 'earlier', stages: stagesBefore(lab) },
    { role: 'own', stages: ownStages(lab) },
  ];
  const checks: StageCheck[] = [];
  for (const group of groups) {
    const filesByStage = new Map<string, string[] | undefined>(group.stages.map((s) => [s.id, suiteFiles(root, s)]));
    const files = group.stages.flatMap((s) => filesByStage.get(s.id) ?? []);
    const byDir = new Map<string, TestOutcome[]>();
    if (files.length > 0) {
      start = performance.now();
      const run = runVitest({
        root,
        filters: files,
        impl: `labs/${lab.id}`,
        outputFile: path.join(root, '.tmp', 'integrity', `lab-${lab.id}-${group.role}.json`),
      });
      if (run.runError) runErrors.push(`${group.role} suites: ${run.runError}`);
      for (const outcome of run.outcomes) {
        const dir = stageOf(outcome.file);
        if (dir === undefined) continue;
        if (!byDir.has(dir)) byDir.set(dir, []);
        byDir.get(dir)!.push(outcome);
      }
      const passed = run.outcomes.filter((o) => o.outcome === 'passed').length;
      const failed = run.outcomes.filter((o) => o.outcome === 'failed').length;
      log(`[${lab.id}] ${group.role} suites (${group.stages.filter((s) => filesByStage.get(s.id)).map((s) => s.suiteDir).join(' ')}): ${passed} passed, ${failed} failed (${seconds(start)})`);
    }
    for (const stage of group.stages) {
      const outcomes = filesByStage.get(stage.id) ? (byDir.get(stage.suiteDir) ?? []) : undefined;
      checks.push(classifyStage(stage, group.role, outcomes, strict));
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
  if (check.role === 'earlier') return check.state === 'ok' ? `ok ${check.passed}` : `FAIL ${check.failed}/${total}`;
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
  lines.push('"none" no suite for that stage yet; "." a later stage (not run).');

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

export function runIntegrity(options: IntegrityOptions = {}): IntegrityResult {
  const root = options.root ?? REPO_ROOT;
  const log = options.log ?? ((line: string) => console.log(line));
  const labs = (options.labs ?? LAB_IDS).map(getLab);
  const reports = labs.map((lab) => checkLab(root, lab, options.strict ?? false, log));
  const ok = reports.every((r) => r.ok);
  const violations = reports.filter((r) => !r.ok).length;
  const lines = [...formatReports(reports), '', ok ? `integrity: ok (${reports.length} lab(s))` : `integrity: ${violations} of ${reports.length} lab(s) violate the rules`];
  return { ok, reports, lines };
}

function parseArgs(argv: readonly string[]): { labs: string[] | undefined; strict: boolean } {
  let labs: string[] | undefined;
  let strict = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--strict') strict = true;
    else if (arg === '--lab' || arg.startsWith('--lab=')) {
      const value = arg === '--lab' ? argv[++i] : arg.slice('--lab='.length);
      if (!value) throw new Error('--lab needs a lab id, e.g. --lab 2a');
      labs = [...(labs ?? []), ...value.split(',').map((v) => v.trim().toLowerCase()).filter((v) => v !== '')];
    } else throw new Error(`unknown argument '${arg}'`);
  }
  for (const id of labs ?? []) getLab(id);
  return { labs, strict };
}

function main(argv: readonly string[]): number {
  let args: { labs: string[] | undefined; strict: boolean };
  try {
    args = parseArgs(argv);
  } catch (err) {
    console.error(`integrity: ${(err as Error).message}`);
    console.error(`usage: tsx harness/labs/integrity.ts [--lab <${LABS.map((l) => l.id).join('|')}>[,...]] [--strict]`);
    return 2;
  }
  const result = runIntegrity({ labs: args.labs, strict: args.strict });
  console.log('');
  for (const line of result.lines) console.log(line);
  return result.ok ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
