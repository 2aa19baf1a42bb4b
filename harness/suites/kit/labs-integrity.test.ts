import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runGenerate } from '../../labs/generate.ts';
import { cell, classifyStage, formatReports, runIntegrity } from '../../labs/integrity.ts';
import { getStage } from '../../labs/stages.ts';
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
