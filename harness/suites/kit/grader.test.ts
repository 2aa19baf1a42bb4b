/**
 * The grader, graded: on a stubbed lab the score is 0; on the reference every run passes (and a test that
 * never reads its seed runs once); on a bug zoo patch it reports failures whose printed replay command
 * reproduces the same failure and trace hash; measuring power, it skips runs that cannot change a suite run's verdict; a hung run is killed and reported and grading goes on; the
 * JSON report validates against its schema, the JUnit XML names the failures, and the HTML page renders in
 * a real headless browser (Debian's chromium).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { applyPatch, loadBugs, makeReferenceCopy, patchPath, removeCopy } from '../../bugzoo/zoo.ts';
import { failingSuiteRuns } from '../../bugzoo/power.ts';
import { grade, type GradeOptions } from '../../grader/grade.ts';
import { selectStages } from '../../grader/plan.ts';
import { reportHtml } from '../../grader/report-html.ts';
import { buildReport, junitXml, type GradeReport } from '../../grader/report.ts';
import { checkSchema } from '../../grader/schema-check.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'grader-kit-'));
const copies: string[] = [];

afterAll(() => {
  for (const dir of copies) removeCopy(dir);
  fs.rmSync(scratch, { recursive: true, force: true });
});

async function gradeReport(stage: string, implDir: string, implLabel: string, o: Partial<GradeOptions>): Promise<GradeReport> {
  const outDir = fs.mkdtempSync(path.join(scratch, 'grade-'));
  const state = await grade({
    root: ROOT,
    stages: selectStages(ROOT, stage),
    implLabel,
    implDir,
    runs: 1,
    jobs: 2,
    baseSeed: 1,
    swarm: false,
    untilFail: false,
    outDir,
    ...o,
  });
  const report = buildReport(
    state,
    { stage, impl: implLabel, implCommit: null, implDirty: null, seedBase: o.baseSeed ?? 1, swarm: false, runsPerTest: o.runs ?? 1, timeBudgetMinutes: null, untilFail: false, jobs: o.jobs ?? 2 },
    Date.now(),
  );
  fs.writeFileSync(path.join(outDir, 'report.json'), JSON.stringify(report));
  return Object.assign(report, { outDir });
}

function schemaProblems(report: GradeReport): string[] {
  const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'harness/grader/report-schema.json'), 'utf8')) as Record<string, unknown>;
  const { outDir: _ignored, ...plain } = report as GradeReport & { outDir?: string };
  return checkSchema(JSON.parse(JSON.stringify(plain)), schema);
}

describe('kit: grader', () => {
  it('scores a stubbed lab 0: every run fails and names its replay', async () => {
    const report = await gradeReport('1', path.join(ROOT, 'labs/1'), 'labs/1', { run: /TestRawGet1$|TestRawPut1$/ });
    expect(report.tests.map((t) => t.name).sort()).toEqual(['Project 1: raw API > TestRawGet1', 'Project 1: raw API > TestRawPut1']);
    expect(report.score.earned).toBe(0);
    expect(report.totals.failures).toBe(2);
    for (const t of report.tests) {
      expect(t.failingRuns[0]!.error).toContain('Not implemented');
      expect(t.failingRuns[0]!.replay).toMatch(/^make project1 IMPL=labs\/1 SEED=\d+ RUN='\^Project 1: raw API TestRaw(Get|Put)1\$'$/);
    }
    expect(schemaProblems(report)).toEqual([]);
    const xml = junitXml(report);
    expect(xml).toContain('<testcase classname="harness/suites/1/raw-api.test.ts" name="Project 1: raw API &gt; TestRawGet1"');
    expect((xml.match(/<failure /g) ?? []).length).toBe(2);
  });

  it('measuring power, skips the runs whose run of the suite has already failed; the failing suite runs stay the same', async () => {
    const outDir = fs.mkdtempSync(path.join(scratch, 'grade-'));
    // Both tests fail every run on the stubs. One job runs them in turn: run 0 of each (a first run is never
    // skipped: it shows whether the test reads its seed), then runs 1 and 2 of the first only.
    const state = await grade({
      root: ROOT, stages: selectStages(ROOT, '1'), implLabel: 'labs/1', implDir: path.join(ROOT, 'labs/1'), runs: 3, jobs: 1,
      baseSeed: 1, swarm: false, untilFail: false, skipFailedSuiteRuns: true, run: /TestRawGet1$|TestRawPut1$/, outDir,
    });
    expect([...failingSuiteRuns(state, 3)].sort()).toEqual([0, 1, 2]);
    expect(state.tests.map((t) => [t.done, t.skipped])).toEqual([[3, 0], [1, 2]]);
    expect(state.stoppedEarly).toBe(false);
  });

  it('passes every run of the reference; a test that never reads its seed runs once', async () => {
    const report = await gradeReport('2b', path.join(ROOT, 'reference'), 'reference', { runs: 3, run: /TestBasic2B$|TestPeerStorageTerm2B$/ });
    expect(report.totals.failures).toBe(0);
    expect(report.score.earned).toBe(report.score.possible);
    const basic = report.tests.find((t) => t.name.endsWith('TestBasic2B'))!;
    const term = report.tests.find((t) => t.name.endsWith('TestPeerStorageTerm2B'))!;
    expect([basic.runs, basic.seedIndependent]).toEqual([3, false]);
    expect([term.runs, term.seedIndependent]).toEqual([1, true]);
    expect(basic.meanVirtualSeconds).toBeGreaterThan(0);
    expect(schemaProblems(report)).toEqual([]);
  });

  it('reports a zoo bug with replay commands that reproduce the failure and its trace hash', async () => {
    const bug = loadBugs().find((b) => b.slug === '33-no-check-at-apply')!;
    const copy = makeReferenceCopy('grader-kit');
    copies.push(copy);
    applyPatch(patchPath(bug), copy);
    const impl = path.join(copy, 'reference');
    const report = await gradeReport('3b', impl, impl, { runs: 3, baseSeed: 9, run: /TestSplitUnreliable3B$/ });
    const t = report.tests[0]!;
    expect(t.failures).toBeGreaterThan(0);
    expect(report.score.earned).toBe(0);
    const failed = t.failingRuns[0]!;
    expect(failed.traceHash).toMatch(/^[0-9a-f]{16}$/);
    // The printed command, run as a student would, fails the same way with the same trace hash.
    const replay = spawnSync('bash', ['-c', failed.replay], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
    expect(replay.status).not.toBe(0);
    const printed = (replay.stdout + replay.stderr).replace(/\x1b\[[0-9;]*m/g, '');
    expect(printed).toContain(`trace hash:  ${failed.traceHash}`);
    expect(printed).toContain(failed.error.slice(0, 60));
    expect(fs.readFileSync(path.join((report as GradeReport & { outDir: string }).outDir, failed.log), 'utf8')).toContain(failed.replay);
  }, 300_000);

  it('kills a hung run, reports it as failed with its seed, and goes on grading', async () => {
    const copy = makeReferenceCopy('grader-hang');
    copies.push(copy);
    const server = path.join(copy, 'reference/kv/server/server.ts');
    const text = fs.readFileSync(server, 'utf8');
    const hook = 'const reader = await this.storage.reader(req.context);\n      const iter = reader.iterCF(cf);';
    expect(text).toContain(hook);
    fs.writeFileSync(server, text.replace(hook, `for (;;) { /* a scan that never ends */ }\n      ${hook}`));
    const impl = path.join(copy, 'reference');
    const report = await gradeReport('1', impl, impl, { run: /TestRawScan1$|TestRawPut1$|TestRawGet1$/, runs: 2, jobs: 1, runBudgetMs: 4000 });
    const scan = report.tests.find((t) => t.name.endsWith('TestRawScan1'))!;
    // Each run hangs and is stopped (a run that never finished cannot show that it ignores its seed).
    expect([scan.runs, scan.failures]).toEqual([2, 2]);
    expect(scan.failingRuns[0]!.error).toMatch(/longer than its budget/);
    expect(scan.failingRuns[0]!.replay).toContain(`SEED=${scan.failingRuns[0]!.seed}`);
    // The worker was replaced: the other tests ran after it and passed.
    for (const name of ['TestRawPut1', 'TestRawGet1']) expect(report.tests.find((t) => t.name.endsWith(name))!.failures).toBe(0);
  }, 120_000);

  it('renders the HTML report in a headless browser: score, bars, failing seeds and replay commands', async () => {
    const report = await gradeReport('1', path.join(ROOT, 'labs/1'), 'labs/1', { run: /TestRawGet1$|TestRawPut1$/ });
    const page = path.join(scratch, 'report.html');
    fs.writeFileSync(page, reportHtml(report));
    const chromium = execFileSync(path.join(ROOT, 'harness/tools/ensure-chromium.sh'), { encoding: 'utf8' }).trim();
    const dom = execFileSync(chromium, ['--headless', '--no-sandbox', '--disable-gpu', '--dump-dom', `file://${page}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 });
    expect(dom).toContain('<span class="score" id="score">0/2 points</span>');
    expect((dom.match(/<tr class="failed"/g) ?? []).length).toBe(2);
    expect(dom).toContain('class="fail" style="width:100.00%"');
    expect(dom).toContain('make project1 IMPL=labs/1 SEED=');
    expect(dom).toContain('<button type="button" data-copy=');
  }, 180_000);
});
