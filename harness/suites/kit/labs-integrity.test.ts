import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runGenerate } from '../../labs/generate.ts';
import { differingFiles, importClosure, scanModule } from '../../labs/closure.ts';
import { cell, classifyStage, formatReports, runIntegrity, typecheckLabs } from '../../labs/integrity.ts';
import { getLab, getStage } from '../../labs/stages.ts';
import { firstErrorLines, outcomesFromReport, type TestOutcome } from '../../labs/vitest-run.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function outcome(name: string, result: TestOutcome['outcome']): TestOutcome {
  return { file: 'harness/suites/2aa/x.test.ts', name, outcome: result, errorLines: result === 'failed' ? ['boom'] : [], fileError: false };
}

describe('integrity classification', () => {
  it('an earlier stage must pass: any failure is a violation listing the failing tests', () => {
    const ok = classifyStage(getStage('1'), 'earlier', [outcome('a', 'passed'), outcome('b', 'skipped')], false);
    expect([ok.state, ok.passed, ok.failed, cell(ok)]).toEqual(['ok', 1, 0, 'ok 1']);
    const bad = classifyStage(getStage('1'), 'earlier', [outcome('a', 'passed'), outcome('b', 'failed')], false);
    expect([bad.state, cell(bad), bad.offending.map((o) => o.name)]).toEqual(['fail', 'FAIL 1/2', ['b']]);
  });

  it('an own stage must fail: tests passing on the stub are listed, a suite passing entirely is a violation', () => {
    const ok = classifyStage(getStage('2AA'), 'own', [outcome('a', 'failed'), outcome('b', 'failed')], false);
    expect([ok.state, cell(ok)]).toEqual(['ok', 'stub 2']);
    const warn = classifyStage(getStage('2AA'), 'own', [outcome('a', 'failed'), outcome('b', 'passed')], false);
    expect([warn.state, cell(warn), warn.offending.map((o) => o.name)]).toEqual(['warn', 'warn 1/2', ['b']]);
    const strict = classifyStage(getStage('2AA'), 'own', [outcome('a', 'failed'), outcome('b', 'passed')], true);
    expect([strict.state, cell(strict)]).toEqual(['fail', 'FAIL 1/2']);
    const passes = classifyStage(getStage('2AA'), 'own', [outcome('a', 'passed'), outcome('b', 'skipped')], false);
    expect([passes.state, cell(passes)]).toEqual(['fail', 'FAIL 1/1']);
  });

  it('a stage without a suite is "none", never a failure', () => {
    const none = classifyStage(getStage('3B'), 'earlier', undefined, true);
    expect([none.state, cell(none)]).toEqual(['none', 'none']);
    expect(cell(undefined)).toBe('.');
  });
});

describe("reading vitest's JSON report", () => {
  it('gives one outcome per test and one failure per file-level error, with first error lines', () => {
    const report = {
      success: false,
      testResults: [
        {
          name: path.join(ROOT, 'harness/suites/2ab/b.test.ts'),
          status: 'failed',
          message: "Cannot find module './nope.ts'\n    at /x/node_modules/vite/dist/a.js:1:1",
          assertionResults: [],
        },
        {
          name: path.join(ROOT, 'harness/suites/2aa/a.test.ts'),
          status: 'failed',
          message: '',
          assertionResults: [
            { fullName: 'A passes', title: 'passes', ancestorTitles: ['A'], status: 'passed', failureMessages: [] },
            {
              fullName: 'A fails',
              title: 'fails',
              ancestorTitles: ['A'],
              status: 'failed',
              failureMessages: ['AssertionError: expected 1 to be 2\n    at /work/main/harness/suites/2aa/a.test.ts:4:33\n    at file:///work/main/node_modules/@vitest/runner/dist/x.js:302:11'],
            },
            { fullName: 'A skipped', title: 'skipped', ancestorTitles: ['A'], status: 'skipped', failureMessages: [] },
          ],
        },
      ],
    };
    expect(outcomesFromReport(report, ROOT)).toEqual([
      { file: 'harness/suites/2aa/a.test.ts', name: 'A passes', outcome: 'passed', errorLines: [], fileError: false },
      {
        file: 'harness/suites/2aa/a.test.ts',
        name: 'A fails',
        outcome: 'failed',
        errorLines: ['AssertionError: expected 1 to be 2', '    at /work/main/harness/suites/2aa/a.test.ts:4:33'],
        fileError: false,
      },
      { file: 'harness/suites/2aa/a.test.ts', name: 'A skipped', outcome: 'skipped', errorLines: [], fileError: false },
      { file: 'harness/suites/2ab/b.test.ts', name: '(file-level error)', outcome: 'failed', errorLines: ["Cannot find module './nope.ts'"], fileError: true },
    ]);
    expect(firstErrorLines('one\n\ntwo\nthree\nfour', 2)).toEqual(['one', 'two']);
  });
});

describe('integrity matrix on a fixture repository', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinykv-integrity-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  const write = (rel: string, text: string): void => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  };

  it('type-checks each lab, runs earlier suites (must pass) and own suites (must fail), and reports it all', () => {
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'), 'dir');
    write('package.json', '{ "type": "module" }\n');
    write('tsconfig.json', fs.readFileSync(path.join(ROOT, 'tsconfig.json'), 'utf8'));
    write('vitest.config.ts', fs.readFileSync(path.join(ROOT, 'vitest.config.ts'), 'utf8'));
    // What the config imports.
    for (const tool of ['harness/tools/impl-resolution.ts', 'harness/tools/default-impl.ts']) write(tool, fs.readFileSync(path.join(ROOT, tool), 'utf8'));
    write(
      'reference/calc.ts',
      [
        'export function add(a: number, b: number): number {',
        '  // @student 1 begin: return the sum.',
        '  return a + b;',
        '  // @student 1 stub',
        "  //| throw new Error('not implemented (1)');",
        '  // @student 1 end',
        '}',
        '',
        'export function mul(a: number, b: number): number {',
        '  // @student 2AA begin: return the product.',
        '  return a * b;',
        '  // @student 2AA stub',
        '  //| return 0;',
        '  // @student 2AA end',
        '}',
        '',
        'export function twice(a: number): number {',
        '  // @student 2B begin: double a; the stub breaks stage 2AA, which lab 2b keeps (a harmful stub).',
        '  return 2 * a;',
        '  // @student 2B stub',
        '  //| return mul(a, 1);',
        '  // @student 2B end',
        '}',
        '',
      ].join('\n'),
    );
    const suite = (stage: string, body: string): void =>
      write(`harness/suites/${stage}/calc.test.ts`, `import { expect, it } from 'vitest';\nimport { add, mul, twice } from '@impl/calc.ts';\nvoid add; void mul; void twice;\n${body}`);
    suite('1', "it('adds', () => { expect(add(2, 3)).toBe(5); });\n");
    suite(
      '2aa',
      "it('multiplies', () => { expect(mul(2, 3)).toBe(6); });\nit('multiplies by zero', () => { expect(mul(7, 0)).toBe(0); });\nit('doubles', () => { expect(twice(2)).toBe(4); });\n",
    );
    expect(runGenerate({ check: false, root }).ok).toBe(true);

    const log: string[] = [];
    const result = runIntegrity({ root, labs: ['1', '2a', '2b'], log: (l) => log.push(l) });
    const byLab = new Map(result.reports.map((r) => [r.lab.id, r]));

    // Lab 1: stage 1 is stubbed and its suite fails on it.
    expect(byLab.get('1')!.typecheck?.ok).toBe(true);
    expect(byLab.get('1')!.stages.map((c) => [c.stage.id, c.state])).toEqual([['1', 'ok']]);
    expect(byLab.get('1')!.ok).toBe(true);
    // Lab 2a: stage 1 passes, 2AA fails on the stub except one test (listed), 2AB and 2AC have no suite.
    expect(byLab.get('2a')!.stages.map((c) => [c.stage.id, c.role, c.state])).toEqual([
      ['1', 'earlier', 'ok'],
      ['2AA', 'own', 'warn'],
      ['2AB', 'own', 'none'],
      ['2AC', 'own', 'none'],
    ]);
    expect(byLab.get('2a')!.ok).toBe(true);
    // Lab 2b: the harmful 2B stub makes stage 2AA fail: a violation naming the test.
    const twoB = byLab.get('2b')!;
    expect(twoB.stages.map((c) => [c.stage.id, c.state])).toEqual([
      ['1', 'ok'],
      ['2AA', 'fail'],
      ['2AB', 'none'],
      ['2AC', 'none'],
      ['2B', 'none'],
    ]);
    expect(twoB.ok).toBe(false);
    expect(result.ok).toBe(false);

    const text = formatReports(result.reports).join('\n');
    expect(text).toMatch(/^2b +ok +ok 1 +FAIL 1\/3 +none +none +none +\. .* FAIL$/m);
    expect(text).toContain('lab 2a: warning: 1 2AA test(s) pass on the stub:');
    expect(text).toContain('    passes on stub: harness/suites/2aa/calc.test.ts > multiplies by zero');
    expect(text).toContain('lab 2b: earlier stage 2AA fails on the lab copy (its stubs must be harmless to it):');
    expect(text).toContain('    FAIL harness/suites/2aa/calc.test.ts > doubles');
    expect(result.lines.at(-1)).toBe('integrity: 1 of 3 lab(s) violate the rules');
    expect(log.some((l) => l.startsWith('[2b] earlier suites (1 2aa): 3 passed, 1 failed'))).toBe(true);

    // A type error in a lab copy is a violation of that lab.
    write('harness/suites/1/typo.test.ts', "import { it } from 'vitest';\nimport { sub } from '@impl/calc.ts';\nit('x', () => { sub(); });\n");
    const broken = runIntegrity({ root, labs: ['1'], log: () => {} });
    expect(broken.ok).toBe(false);
    expect(broken.reports[0]!.typecheck?.errors.join('\n')).toMatch(/harness\/suites\/1\/typo\.test\.ts\(2,10\): error TS2305/);
  });
});

describe('static import closure (what a test file can load)', () => {
  it('follows runtime imports, skips type-only ones unless asked, and collects module-like literals', () => {
    const scan = scanModule(
      [
        "import { a } from './a.ts';",
        "import type { T } from './t.ts';",
        "export { b } from './b.ts';",
        "export type { U } from './u.ts';",
        "const lazy = await import('@impl/lazy.ts');",
        "vi.mock('@impl/mocked.ts');",
        "type V = import('./v.ts').V;",
        "import fs from 'node:fs';",
      ].join('\n'),
      'x.ts',
    );
    expect(scan.imports).toEqual(['./a.ts', './b.ts', '@impl/lazy.ts', 'node:fs']);
    expect(scan.typeImports).toEqual(['./t.ts', './u.ts', './v.ts']);
    expect(scan.literals).toEqual(['@impl/mocked.ts']);
    expect(scan.opaque).toEqual([]);
  });

  it('marks as opaque what the walk cannot see: processes, computed imports, require, paths built from IMPL', () => {
    const opaque = (text: string): readonly string[] => scanModule(text, 'x.ts').opaque;
    expect(opaque("import { spawn } from 'node:child_process';")).toEqual([expect.stringContaining("imports 'node:child_process'")]);
    expect(opaque("import { Worker } from 'worker_threads';")).toEqual([expect.stringContaining('worker_threads')]);
    expect(opaque('const name = pick();\nawait import(name);')).toEqual([expect.stringContaining('import() of a computed specifier')]);
    expect(opaque("vi.mock(`@impl/${x}.ts`);")).toEqual([expect.stringContaining('vi.mock() of a computed specifier')]);
    expect(opaque("const m = require('x');")).toEqual([expect.stringContaining('require()')]);
    // IMPL followed through variables and functions into a path function.
    const viaVariable = "import path from 'node:path';\nconst impl = process.env.IMPL ?? 'reference';\nconst dir = `${impl}/kv`;\nexport const file = path.join(dir, 'x.ts');";
    expect(opaque(viaVariable)).toEqual([expect.stringContaining('builds a path from IMPL (path.join)')]);
    const viaFunction = "import { readFileSync } from 'node:fs';\nfunction implDir() { return process.env['IMPL']; }\nreadFileSync(implDir() + '/a.ts');";
    expect(opaque(viaFunction)).toEqual([expect.stringContaining('builds a path from IMPL (readFileSync)')]);
    const destructured = "const { IMPL } = process.env;\nconst u = new URL(IMPL!, 'file:///');";
    expect(opaque(destructured)).toEqual([expect.stringContaining('(new URL)')]);
    // IMPL only named in a message (like the sim's replay command) is not a path.
    const label = "import { join } from 'node:path';\nconst impl = process.env.IMPL ?? 'reference';\nexport const cmd = `IMPL=${impl} make`;\nexport const p = join('a', 'b');";
    expect(opaque(label)).toEqual([]);
  });

  it('computes the closure through relative and @impl imports, and finds the files a lab changes', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinykv-closure-'));
    try {
      const put = (rel: string, text: string): void => {
        fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
        fs.writeFileSync(path.join(root, rel), text);
      };
      put('harness/suites/1/a.test.ts', "import { h } from '../../helpers/h.ts';\nimport '#proto';\nimport { it } from 'vitest';\n");
      put('harness/helpers/h.ts', "export { x } from '@impl/kv/x.ts';\nexport const h = 1;\n");
      put('reference/kv/x.ts', "import { y } from '../util/y.ts';\nexport const x = y;\n");
      put('reference/util/y.ts', 'export const y = 1;\n// @student 2B begin: y\nexport const z = 2;\n// @student 2B stub\n//| export const z = 0;\n// @student 2B end\n');
      put('reference/util/unused.ts', 'export const u = 1;\n');
      const closure = importClosure(['harness/suites/1/a.test.ts'], { root, impl: 'reference', types: false });
      expect([...closure.files].sort()).toEqual(['harness/helpers/h.ts', 'harness/suites/1/a.test.ts', 'reference/kv/x.ts', 'reference/util/y.ts']);
      expect(closure.opaque).toEqual([]);
      // A lab copy that keeps y's reference code differs from reference/ only by its marker lines, which
      // become the block's opening and closing comments.
      put('labs/3a/kv/x.ts', fs.readFileSync(path.join(root, 'reference/kv/x.ts'), 'utf8'));
      put('labs/3a/util/unused.ts', 'export const u = 1;\n');
      put('labs/3a/util/y.ts', 'export const y = 1;\n// Your code here (2B): y\nexport const z = 2;\n// End of your code (2B).\n');
      put('labs/3a/README.md', 'generated\n');
      expect([...differingFiles(root, 'labs/3a')].sort()).toEqual(['README.md']);
      put('labs/2b/kv/x.ts', fs.readFileSync(path.join(root, 'reference/kv/x.ts'), 'utf8'));
      put('labs/2b/util/y.ts', 'export const y = 1;\n// Your code here (2B): y\nexport const z = 0;\n// End of your code (2B).\n');
      expect([...differingFiles(root, 'labs/2b')].sort()).toEqual(['util/unused.ts', 'util/y.ts']);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('integrity reuse of reference results on a fixture repository', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinykv-integrity-reuse-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  const write = (rel: string, text: string): void => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  };
  /** A made-up failing reference result: where the matrix shows it, the file was reused, not run. */
  const fake = (file: string): TestOutcome => ({ file, name: 'made-up reference failure', outcome: 'failed', errorLines: ['x'], fileError: false });

  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'), 'dir');
  write('package.json', '{ "type": "module" }\n');
  write('tsconfig.json', fs.readFileSync(path.join(ROOT, 'tsconfig.json'), 'utf8'));
  write('vitest.config.ts', fs.readFileSync(path.join(ROOT, 'vitest.config.ts'), 'utf8'));
  for (const tool of ['harness/tools/impl-resolution.ts', 'harness/tools/default-impl.ts']) write(tool, fs.readFileSync(path.join(ROOT, tool), 'utf8'));
  // plain.ts has no student block: every lab copy equals reference/. calc.ts has a 2AA block: lab 2a stubs it.
  write('reference/plain.ts', 'export function one(): number {\n  return 1;\n}\n');
  write(
    'reference/calc.ts',
    ['export function mul(a: number, b: number): number {', '  // @student 2AA begin: return the product.', '  return a * b;', '  // @student 2AA stub', '  //| return 0;', '  // @student 2AA end', '}', ''].join('\n'),
  );
  const header = "import { expect, it } from 'vitest';\n";
  // (a) loads only unchanged code: reused.
  write('harness/suites/1/plain.test.ts', `${header}import { one } from '@impl/plain.ts';\nit('one', () => { expect(one()).toBe(1); });\n`);
  // (b) loads the stubbed calc.ts through a helper: run.
  write('harness/suites/1/via.ts', "export { mul } from '@impl/calc.ts';\n");
  write('harness/suites/1/calc.test.ts', `${header}import { mul } from './via.ts';\nit('mul of zero', () => { expect(mul(0, 5)).toBe(0); });\n`);
  // (c) unchanged code only, but it starts a process (through a helper) or builds a path from IMPL: always run.
  write(
    'harness/suites/1/spawner.ts',
    "import { spawnSync } from 'node:child_process';\nexport function child(): string {\n  return spawnSync(process.execPath, ['-e', 'process.stdout.write(\"hi\")'], { encoding: 'utf8' }).stdout;\n}\n",
  );
  write('harness/suites/1/spawn.test.ts', `${header}import { one } from '@impl/plain.ts';\nimport { child } from './spawner.ts';\nit('spawns', () => { expect(child() + one()).toBe('hi1'); });\n`);
  write(
    'harness/suites/1/impl-path.test.ts',
    `${header}import fs from 'node:fs';\nimport path from 'node:path';\nconst dir = path.resolve(process.env.IMPL ?? 'reference');\nit('reads the implementation', () => { expect(fs.existsSync(path.join(dir, 'plain.ts'))).toBe(true); });\n`,
  );
  write('harness/suites/2aa/calc.test.ts', `${header}import { mul } from '@impl/calc.ts';\nit('multiplies', () => { expect(mul(2, 3)).toBe(6); });\n`);
  expect(runGenerate({ check: false, root }).ok).toBe(true);
  const stageOne = ['calc.test.ts', 'impl-path.test.ts', 'plain.test.ts', 'spawn.test.ts'].map((f) => `harness/suites/1/${f}`);

  it('reuses a file whose closure loads no stubbed file, runs one that does, and always runs processes and IMPL paths', () => {
    const log: string[] = [];
    const reference = { outcomes: stageOne.map(fake), source: 'a test' };
    const result = runIntegrity({ root, labs: ['2a'], reference, log: (l) => log.push(l) });
    const lab = result.reports[0]!;
    expect(lab.typecheck?.ok).toBe(true);
    const one = lab.stages.find((c) => c.stage.id === '1')!;
    expect([one.reusedFiles, one.totalFiles]).toEqual([1, 4]);
    // Only plain.test.ts shows the made-up reference result; the other three really ran (and passed) on labs/2a.
    expect(one.offending.map((o) => `${o.file} > ${o.name}`)).toEqual(['harness/suites/1/plain.test.ts > made-up reference failure']);
    expect([one.state, one.passed, cell(one)]).toEqual(['fail', 3, 'FAIL 1/4']);
    expect(lab.ok).toBe(false);
    expect(log.find((l) => l.startsWith('[2a] earlier'))).toMatch(/^\[2a\] earlier suites \(1\): 3 passed, 0 failed \(run: [\d.]+ s; ran 3 of 4 files, reference results reused for the others\)$/);
    // The own stage always runs (its reference result would say nothing about the stub).
    expect(lab.stages.find((c) => c.stage.id === '2AA')!.state).toBe('ok');
    const text = result.lines.join('\n');
    expect(text).toContain('Always run on every lab');
    expect(text).toMatch(/harness\/suites\/1\/impl-path\.test\.ts: .*builds a path from IMPL/);
    expect(text).toMatch(/harness\/suites\/1\/spawn\.test\.ts: harness\/suites\/1\/spawner\.ts:1: imports 'node:child_process'/);
    expect(text).not.toMatch(/calc\.test\.ts: /);
  });

  it('shows "ok=" for a suite taken whole from reference/, and runs the reference itself when make integrity runs alone', () => {
    fs.rmSync(path.join(root, 'harness/suites/1'), { recursive: true });
    write('harness/suites/1/plain.test.ts', `${header}import { one } from '@impl/plain.ts';\nit('one', () => { expect(one()).toBe(1); });\n`);
    const log: string[] = [];
    // Lab 2b keeps 2AA's reference code, so both its earlier suites are reusable there; lab 2a reuses stage 1.
    const result = runIntegrity({ root, labs: ['2a', '2b'], log: (l) => log.push(l) });
    // plain.test.ts is reused by two labs: run once on reference/. The 2AA file, reusable by lab 2b only, runs there.
    expect(log[0]).toMatch(/^\[reference\] 1 file\(s\) that labs can reuse: 1 passed, 0 failed/);
    const [twoA, twoB] = result.reports;
    expect(twoA!.stages.map(cell)).toEqual(['ok= 1', 'stub 1', 'none', 'none']);
    expect(twoB!.stages.map(cell)).toEqual(['ok= 1', 'ok 1', 'none', 'none', 'none']);
    expect(result.lines.join('\n')).toMatch(/^2a +ok +ok= 1 +stub 1 /m);
    expect(log).toContain('[2a] earlier suites (1): not run, reference results reused (no file loads stubbed code)');
    expect(result.ok).toBe(true);
    // Given reference results (run-all's tests step), every reusable file takes them: nothing runs on reference/.
    const given = runIntegrity({ root, labs: ['2a', '2b'], reference: { outcomes: ['harness/suites/1/plain.test.ts', 'harness/suites/2aa/calc.test.ts'].map(fake), source: 'a test' }, log: () => {} });
    expect(given.reports[1]!.stages.map(cell)).toEqual(['FAIL= 1/1', 'FAIL= 1/1', 'none', 'none', 'none']);
  });

  it('--verify-reuse runs reused files too and reports a reference result the lab contradicts', () => {
    const wrong: TestOutcome = { ...fake('harness/suites/1/plain.test.ts'), name: 'one' };
    const result = runIntegrity({ root, labs: ['2a'], mode: 'verify', reference: { outcomes: [wrong], source: 'a test' }, log: () => {} });
    expect(result.ok).toBe(false);
    expect(result.reports[0]!.runErrors).toEqual([expect.stringMatching(/^reuse check: harness\/suites\/1\/plain\.test\.ts gives a different result/)]);
    const agreeing: TestOutcome = { ...wrong, outcome: 'passed', errorLines: [] };
    expect(runIntegrity({ root, labs: ['2a'], mode: 'verify', reference: { outcomes: [agreeing], source: 'a test' }, log: () => {} }).ok).toBe(true);
  });

  it('type-checks labs incrementally yet reports what a fresh tsc per lab would', () => {
    // A 2B stub that changes an inferred return type breaks a harness file in the labs stubbing 2B (1, 2a, 2b) only;
    // an error in a file no lab changes shows in every lab.
    write('reference/label.ts', ['export function label(n: number) {', '  // @student 2B begin: name n.', '  return `#${n}`;', '  // @student 2B stub', '  //| return n;', '  // @student 2B end', '}', ''].join('\n'));
    write('harness/typed/uses-label.ts', "import { label } from '@impl/label.ts';\nexport const s: string = label(1);\n");
    write('harness/typed/always-wrong.ts', "export const n: number = 'not a number';\n");
    // Two steps away: middle.ts (no error itself) re-infers its type from label, and top.ts breaks.
    write('harness/typed/middle.ts', "import { label } from '@impl/label.ts';\nexport function twice(n: number) {\n  return [label(n), label(n)] as const;\n}\n");
    write('harness/typed/top.ts', "import { twice } from './middle.ts';\nexport const t: readonly [string, string] = twice(2);\n");
    expect(runGenerate({ check: false, root }).ok).toBe(true);
    const results = typecheckLabs(root, ['1', '2a', '2b', '2c', '4c'].map(getLab), () => {});
    const usesLabel = (id: string): boolean => results.get(id)!.errors.some((e) => e.startsWith('harness/typed/uses-label.ts(2,14): error TS2322'));
    const alwaysWrong = (id: string): boolean => results.get(id)!.errors.some((e) => e.startsWith('harness/typed/always-wrong.ts(1,14): error TS2322'));
    expect(['1', '2a', '2b', '2c', '4c'].map(usesLabel)).toEqual([true, true, true, false, false]);
    expect(['1', '2a', '2b', '2c', '4c'].map(alwaysWrong)).toEqual([true, true, true, true, true]);
    const top = (id: string): boolean => results.get(id)!.errors.some((e) => e.startsWith('harness/typed/top.ts(2,14): error TS2322'));
    expect(['1', '2a', '2b', '2c', '4c'].map(top)).toEqual([true, true, true, false, false]);
    expect(['1', '2a', '2b', '2c', '4c'].map((id) => results.get(id)!.errors.length)).toEqual([3, 3, 3, 1, 1]);
  });
});
