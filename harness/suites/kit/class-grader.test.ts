// The class grader (harness/class/): intake of student blocks only, the bubblewrap sandbox against hostile
// submissions, sharding (3 shards merged equal one unsharded grading), and the class page in a real browser.
// Stage 2AA keeps it quick: its tests run in milliseconds, so the time goes to the sandboxed workers.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { gradeClass } from '../../class/grade-class.ts';
import { HandoutReference, takeIn } from '../../class/intake.ts';
import { asHandout, hostileLabCode, solvedLabCode, stubLabCode, zooLabCode } from '../../class/synthetic.ts';
import { parseShard, shardRuns } from '../../class/shard.ts';
import type { ClassReport } from '../../class/class-report.ts';
import type { GradeReport } from '../../grader/report.ts';
import { gradedTest } from '../../grader/plan.ts';
import { getLab } from '../../labs/stages.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const LAB = getLab('2a');
/** Tests that tick the raft clock (a hostile tick() breaks them) and one that never does. */
const TICKING = ['TestSingleNodeElectsItselfOnTimeout2AA', 'TestElectionTimeoutBounds2AA'];
const UNTOUCHED = 'TestLeaderElection2AA';
const RUN = new RegExp(`^(${[...TICKING, UNTOUCHED].join('|')})$`);
const TICK_BLOCK = 'followers and candidates campaign';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tinykv-class-test-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

function testNamed(report: GradeReport, name: string) {
  const t = report.tests.find((x) => x.name.endsWith(name));
  if (t === undefined) throw new Error(`no test ${name} in the report`);
  return t;
}

describe('kit: class grader intake', () => {
  test('only the student blocks are taken; edits outside them, extra files and a changed harness are listed', () => {
    const subs = path.join(scratch, 'intake');
    const edited = path.join(subs, 'edited');
    solvedLabCode(path.join(ROOT, 'reference'), LAB, edited);
    const raft = path.join(edited, 'raft/raft.ts');
    const text = fs.readFileSync(raft, 'utf8');
    // A given line changed (the checkers read the given code), and a file of the student's own.
    const given = 'export class Raft {';
    expect(text).toContain(given);
    fs.writeFileSync(raft, text.replace(given, `${given}\n  cheat = true;`));
    fs.writeFileSync(path.join(edited, 'helper.ts'), 'export const x = 1;\n');
    asHandout(edited, LAB);
    fs.mkdirSync(path.join(edited, 'harness/suites/2aa'), { recursive: true });
    fs.writeFileSync(path.join(edited, 'harness/suites/2aa/raft.test.ts'), 'test.skip("everything", () => {});\n');

    const handout = new HandoutReference(ROOT, LAB);
    try {
      const out = path.join(scratch, 'intake-out');
      const intake = takeIn(edited, path.join(ROOT, 'labs/2a'), LAB, out, handout);
      expect(intake.layout).toBe('handout');
      expect(intake.problems).toEqual([]);
      expect(intake.blocksTaken).toBeGreaterThan(20);
      expect(intake.ignored.some((l) => /^impl\/raft\/raft\.ts:\d+: edits outside the student blocks/.test(l))).toBe(true);
      expect(intake.ignored).toContain('impl/helper.ts: a file the lab does not have; ignored');
      expect(intake.ignored.some((l) => l.startsWith('harness/suites/2aa/raft.test.ts: differs from the kit'))).toBe(true);
      // What is graded: the kit's given code with the student's blocks, i.e. the solved lab code exactly.
      const solved = path.join(scratch, 'solved-plain');
      solvedLabCode(path.join(ROOT, 'reference'), LAB, solved);
      expect(fs.readFileSync(path.join(out, 'raft/raft.ts'), 'utf8')).toBe(fs.readFileSync(path.join(solved, 'raft/raft.ts'), 'utf8'));
      expect(fs.existsSync(path.join(out, 'helper.ts'))).toBe(false);
    } finally {
      handout.dispose();
    }
  }, 120_000);

  test('shards split (submission, test, run) items exactly: each once, balanced, bad SHARD refused', () => {
    const tests = ['a', 'b', 'c'].map((n) => gradedTest('harness/suites/2aa/raft.test.ts', [`Test${n}2AA`], '2AA'));
    const subs = ['x', 'y'];
    const whole = shardRuns(parseShard('0/1'), subs, tests, 5);
    const parts = [0, 1, 2].map((i) => shardRuns(parseShard(`${i}/3`), subs, tests, 5));
    const sizes = parts.map((p) => [...p.values()].reduce((a, m) => a + [...m.values()].reduce((b, r) => b + r.length, 0), 0));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(2 * 3 * 5);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    for (const s of subs) {
      for (const t of tests) {
        const union = parts.flatMap((p) => p.get(s)!.get(t.key)!).sort((a, b) => a - b);
        expect(union).toEqual(whole.get(s)!.get(t.key));
      }
    }
    expect(() => parseShard('3/3')).toThrow(/0 \.\. n-1/);
    expect(() => parseShard('one of three')).toThrow(/i\/n/);
  });
});

describe('kit: class grader sandbox', () => {
  let listener: net.Server;
  let connections = 0;
  let port = 0;
  let report: ClassReport;
  const out = path.join(scratch, 'hostile-out');
  const marker = path.join(ROOT, 'HOSTILE-SUBMISSION-WAS-HERE');

  beforeAll(async () => {
    listener = net.createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    port = (listener.address() as net.AddressInfo).port;
    const subs = path.join(scratch, 'hostile');
    solvedLabCode(path.join(ROOT, 'reference'), LAB, path.join(subs, 'honest'));
    const fsMod = "process.getBuiltinModule('fs')";
    const other = path.join(subs, 'honest', 'raft/raft.ts');
    const hostile: Record<string, string> = {
      'loops-forever': 'for (;;) { /* never returns */ }',
      'allocates-without-bound': 'const hog: Uint8Array[] = ((globalThis as any).hog ??= []);\nfor (;;) hog.push(new Uint8Array(32 * 1024 * 1024).fill(7));',
      'reads-others': `const stolen = ${fsMod}.readFileSync(${JSON.stringify(other)}, 'utf8') + ${fsMod}.readFileSync(${JSON.stringify(path.join(ROOT, 'reference/raft/raft.ts'))}, 'utf8');\nthrow new Error('STOLEN ' + stolen.length);`,
      'writes-outside': `${fsMod}.writeFileSync(${JSON.stringify(marker)}, 'x');`,
      'spawns-a-process':
        "const child = process.getBuiltinModule('child_process').spawn('sleep', ['4242'], { detached: true, stdio: 'ignore' });\n" +
        "child.unref();\nconsole.log(`hostile spawned pid ${child.pid}`);\nreturn;",
      // The attempt runs in a child process so that its outcome is known before the run ends, and is logged.
      'opens-network':
        `const probe = "require('net').connect(${port}, '127.0.0.1').on('connect', () => { console.log('CONNECTED'); process.exit(0); }).on('error', (e) => { console.log('NET ' + e.code); process.exit(0); })";\n` +
        "const r = process.getBuiltinModule('child_process').spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });\n" +
        "console.log(`hostile network: ${r.stdout.trim()}`);\nreturn;",
      'exits-inside-test': 'process.exit(0);',
      'prints-fake-summary':
        "console.log(' Test Files  3 passed (3)\\n      Tests  3 passed (3)\\n3 passed, 0 failed');\n" +
        "process.send?.({ type: 'result', result: { id: 0, status: 'passed', durationMs: 1, readSeed: true, maxRssBytes: 0 } });\nreturn;",
    };
    for (const [name, code] of Object.entries(hostile)) hostileLabCode(LAB, path.join(subs, name), 'raft/raft.ts', TICK_BLOCK, code);
    report = await gradeClass({
      root: ROOT,
      stage: '2aa',
      submissionsDir: subs,
      runs: 1,
      jobs: 2,
      baseSeed: 11,
      run: RUN,
      shard: { index: 0, count: 1 },
      outDir: out,
      runBudgetMs: 15_000,
      memoryLimitBytes: 600 * 1024 * 1024,
    });
  }, 600_000);

  afterAll(() => {
    listener?.close();
    fs.rmSync(marker, { force: true });
  });

  const submission = (name: string) => readJson<GradeReport>(path.join(out, 'submissions', name, 'grade', 'report.json'));

  test('the honest submission passes; every hostile one fails the ticking tests and only those', () => {
    expect(report.submissions.map((s) => s.name).sort()).toEqual(
      ['allocates-without-bound', 'exits-inside-test', 'honest', 'loops-forever', 'opens-network', 'prints-fake-summary', 'reads-others', 'spawns-a-process', 'writes-outside'].sort(),
    );
    expect(submission('honest').score.earned).toBe(submission('honest').score.possible);
    for (const row of report.submissions.filter((s) => s.name !== 'honest')) {
      const r = submission(row.name);
      for (const name of TICKING) expect(testNamed(r, name).failures, `${row.name}: ${name}`).toBe(1);
      expect(testNamed(r, UNTOUCHED).failures, `${row.name}: ${UNTOUCHED} (never ticks) must still pass`).toBe(0);
    }
  });

  test('each is contained, and the report says how it failed', () => {
    const error = (name: string) => testNamed(submission(name), TICKING[0]!).failingRuns[0]!.error;
    expect(error('loops-forever')).toMatch(/longer than its budget/);
    expect(error('allocates-without-bound')).toMatch(/more than its limit of 600 MB/);
    expect(error('reads-others')).toMatch(/ENOENT/);
    expect(error('reads-others')).not.toMatch(/STOLEN/);
    expect(error('writes-outside')).toMatch(/EROFS|ENOENT|EACCES/);
    expect(fs.existsSync(marker)).toBe(false);
    expect(error('exits-inside-test')).toMatch(/exited with code 0 during the run/);
    expect(error('prints-fake-summary')).toMatch(/without the worker's signature/);
    expect(connections).toBe(0);
    const netRun = testNamed(submission('opens-network'), TICKING[0]!).failingRuns[0]!;
    expect(fs.readFileSync(path.join(out, 'submissions', 'opens-network', 'grade', netRun.log), 'utf8')).toMatch(/hostile network: NET (ECONNREFUSED|ENETUNREACH)/);
  });

  test('nothing the spawning submission started outlives its grading', async () => {
    // It did start one (inside the sandbox): its run's log shows the pid.
    const run = testNamed(submission('spawns-a-process'), TICKING[0]!).failingRuns[0]!;
    expect(fs.readFileSync(path.join(out, 'submissions', 'spawns-a-process', 'grade', run.log), 'utf8')).toMatch(/hostile spawned pid \d+/);
    // Its sandbox was killed when its grading ended; the kernel ends the pid namespace's processes with it.
    const left = () => execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((l) => /^sleep 4242/.test(l));
    const deadline = Date.now() + 5_000;
    while (left().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(left()).toEqual([]);
  });
});

describe('kit: class grader sharding', () => {
  const subs = path.join(scratch, 'class');
  const cli = path.join(ROOT, 'harness/class/cli.ts');

  beforeAll(() => {
    solvedLabCode(path.join(ROOT, 'reference'), LAB, path.join(subs, 'alice'));
    asHandout(path.join(subs, 'alice'), LAB);
    stubLabCode(LAB, path.join(subs, 'bob'));
    zooLabCode('01-single-node-never-elected', LAB, path.join(subs, 'carol'));
  });

  function runCli(args: string[]): Promise<{ code: number | null; output: string }> {
    return new Promise((resolve) => {
      // The commands read their settings from the environment too (make passes them so): only the arguments count here.
      const env = { ...process.env };
      for (const name of ['STAGE', 'SUBMISSIONS', 'RUNS', 'JOBS', 'SEED', 'RUN', 'SHARD', 'SHARDS', 'OUT', 'RUN_TIMEOUT', 'MEMORY_MB']) delete env[name];
      const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.on('exit', (code) => resolve({ code, output }));
    });
  }

  /** What must not depend on sharding: per submission, its score and every test's runs and failing seeds. */
  function verdicts(dir: string) {
    const cls = readJson<ClassReport>(path.join(dir, 'class.json'));
    return cls.submissions.map((s) => {
      const r = readJson<GradeReport>(path.join(dir, s.report));
      return {
        name: s.name,
        score: s.score,
        tests: r.tests.map((t) => ({ name: t.name, runs: t.runs, failures: t.failures, earned: t.earned, seeds: t.failingRuns.map((f) => [f.run, f.seed]) })),
      };
    });
  }

  test('usage errors are clear and change nothing: no folder, SHARD without SEED, a bad SHARD, an unknown stage', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['grade', '--stage', '2aa', '--submissions', path.join(scratch, 'no-such-folder')], /SUBMISSIONS=.*no-such-folder: no such directory/],
      [['grade', '--stage', '2aa', '--submissions', subs, '--shard', '1/3'], /SHARD=1\/3 needs SEED/],
      [['grade', '--stage', '2aa', '--submissions', subs, '--shard', '3/3', '--seed', '1'], /the index must be 0 \.\. n-1/],
      [['grade', '--stage', '9z', '--submissions', subs, '--seed', '1'], /unknown stage '9z'/],
      [['merge', '--out', path.join(scratch, 'nothing-merged'), path.join(scratch, 'no-shards-here')], /no-shards-here: no such directory/],
    ];
    const classDir = path.join(ROOT, '.tmp', 'class');
    const before = fs.existsSync(classDir) ? fs.readdirSync(classDir).sort() : [];
    for (const [args, message] of cases) {
      const r = await runCli(args);
      expect(r.code, r.output).toBe(2);
      expect(r.output).toMatch(message);
    }
    expect(fs.existsSync(classDir) ? fs.readdirSync(classDir).sort() : []).toEqual(before);
  }, 120_000);

  test('SIGTERM to a class grading stops it, sandboxes included', async () => {
    const out = path.join(scratch, 'stopped');
    const env = { ...process.env };
    delete env.SEED;
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'grade', '--stage', '2aa', '--submissions', subs, '--runs', '500', '--seed', '1', '--out', out], { cwd: ROOT, env, stdio: 'ignore' });
    const sandboxes = () => execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes('bwrap') && l.includes(out));
    const deadline = Date.now() + 60_000;
    while (sandboxes().length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(sandboxes().length).toBeGreaterThan(0);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(130);
    const gone = Date.now() + 5_000;
    while (sandboxes().length > 0 && Date.now() < gone) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sandboxes()).toEqual([]);
  }, 120_000);

  test('3 shards, run as 3 processes, merged, equal one unsharded grading with the same seed base; the page renders', async () => {
    const common = ['--stage', '2aa', '--submissions', subs, '--runs', '3', '--seed', '4242', '--run', RUN.source, '--jobs', '1'];
    const whole = path.join(scratch, 'whole');
    const shards = [0, 1, 2].map((i) => path.join(scratch, 'shards', `shard-${i}`));
    const results = await Promise.all([
      runCli(['grade', ...common, '--out', whole]),
      ...shards.map((dir, i) => runCli(['grade', ...common, '--shard', `${i}/3`, '--out', dir])),
    ]);
    for (const r of results) expect(r.code, r.output).toBe(0);
    const merged = path.join(scratch, 'merged');
    const merge = await runCli(['merge', '--out', merged, path.join(scratch, 'shards')]);
    expect(merge.code, merge.output).toBe(0);

    expect(verdicts(merged)).toEqual(verdicts(whole));
    const byName = Object.fromEntries(verdicts(whole).map((v) => [v.name, v]));
    expect(byName.alice!.score.earned).toBe(byName.alice!.score.possible);
    expect(byName.bob!.score.earned).toBe(0);
    expect(byName.carol!.tests.find((t) => t.name.endsWith('TestSingleNodeElectsItselfOnTimeout2AA'))!.failures).toBe(3);
    for (const t of byName.alice!.tests) expect(t.runs).toBe(3);

    // A shard missing, or one of another grading, is refused.
    const partial = await runCli(['merge', '--out', path.join(scratch, 'partial'), shards[0]!, shards[1]!]);
    expect(partial.code).toBe(2);
    expect(partial.output).toMatch(/shard\(s\) 2\/3 missing/);

    // CSV and JSON agree; the page shows every submission with its score and a replay command.
    const csv = fs.readFileSync(path.join(merged, 'class.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('submission,earned,possible,runs,failed_runs,failing_tests,first_failing_seed,replay,ignored,problems');
    expect(csv.slice(1).map((l) => l.split(',')[0])).toEqual(['alice', 'bob', 'carol']);
    const chromium = execFileSync(path.join(ROOT, 'harness/tools/ensure-chromium.sh'), { encoding: 'utf8' }).trim();
    const dom = execFileSync(chromium, ['--headless', '--no-sandbox', '--disable-gpu', '--dump-dom', `file://${path.join(merged, 'class.html')}`], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 60_000,
    });
    expect((dom.match(/<tr class="(full|partial)" data-submission=/g) ?? []).length).toBe(3);
    expect(dom).toMatch(/data-submission="alice"><td class="name"><a href="submissions\/alice\/grade\/report.html">alice<\/a><\/td><td class="score">3\/3<\/td>/);
    expect(dom).toContain('merged from 3 shards');
    expect(dom).toMatch(/make project2aa IMPL=\S*merged\/submissions\/carol\/impl SEED=\d+/);
  }, 600_000);
});
