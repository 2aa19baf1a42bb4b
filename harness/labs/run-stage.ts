/**
 * What `make project<stage>` and `make ui STAGE=<stage>` run: a stage's suite(s) with vitest against IMPL.
 *
 *   tsx harness/labs/run-stage.ts <stage|lab> [--ui]
 *
 * <stage|lab> is a suite name (1, 2aa, 2ab, ..., 4c) or a lab name (2a runs 2aa, 2ab and 2ac).
 * Environment: IMPL (default: the stage's lab copy, e.g. labs/2a for 2aa; `reference` for the reference
 * implementation; any directory, relative to the repository), RUN (only tests whose name matches), SEED
 * (passed on to the tests), UI_PORT (default 51204).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HANDOUT_IMPL_DIR, isHandout } from '../tools/default-impl.ts';
import { LABS, STAGES, resolveTarget, type Stage } from './stages.ts';
import { listTestFiles } from './vitest-run.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

function main(argv: readonly string[]): number {
  const ui = argv.includes('--ui');
  const names = argv.filter((a) => a !== '--ui');
  const known = `stages: ${STAGES.map((s) => s.suiteDir).join(' ')}; labs: ${LABS.map((l) => l.id).join(' ')}`;
  if (names.length !== 1) fail(`usage: tsx harness/labs/run-stage.ts <stage> [--ui]   (${known})`);
  const target = resolveTarget(names[0]!);
  if (!target) fail(`unknown stage '${names[0]}' (${known})`);

  const missing = target.stages.filter((s) => listTestFiles(ROOT, `harness/suites/${s.suiteDir}`).length === 0);
  if (missing.length > 0) {
    fail(missing.map((s) => `No suite for stage ${s.id} yet: harness/suites/${s.suiteDir}/ has no *.test.ts files.`).join('\n'));
  }

  const implArg = process.env.IMPL && process.env.IMPL.trim() !== '' ? process.env.IMPL.trim() : isHandout(ROOT) ? HANDOUT_IMPL_DIR : `labs/${target.lab.id}`;
  const implAbs = path.resolve(ROOT, implArg);
  if (!fs.existsSync(implAbs) || !fs.statSync(implAbs).isDirectory()) {
    const hint = implArg.startsWith('labs/') ? ' (run `make labs` to generate the lab copies)' : '';
    fail(`IMPL=${implArg}: no such directory ${implAbs}${hint}`);
  }
  const impl = path.relative(ROOT, implAbs) || '.';

  const filters = target.stages.map((s) => `harness/suites/${s.suiteDir}/`);
  const args = [path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs')];
  if (ui) {
    const port = process.env.UI_PORT && process.env.UI_PORT !== '' ? process.env.UI_PORT : '51204';
    args.push('--watch', '--ui', '--api.host', '127.0.0.1', '--api.port', port, '--open=false');
    console.log(`Vitest UI for ${target.stages.map((s) => s.id).join(', ')} against ${impl}: http://127.0.0.1:${port}/__vitest__/`);
    console.log('(bound to 127.0.0.1 only; if the port is taken vitest picks the next one and prints it; Ctrl-C stops it)');
  }
  // A run also writes vitest's JSON report (one file, overwritten by the next run), for the progress line.
  const jsonReport = ui ? undefined : path.join(ROOT, '.tmp', 'last-stage-run.json');
  if (jsonReport !== undefined) {
    args.push('run', '--reporter=default', '--reporter=json', `--outputFile.json=${jsonReport}`);
    console.log(`Stage ${target.stages.map((s) => s.id).join(', ')}: ${filters.join(' ')} against IMPL=${impl}${process.env.SEED ? ` (SEED=${process.env.SEED})` : ''}`);
  }
  const run = process.env.RUN;
  if (run && run !== '') args.push('-t', run);
  args.push(...filters);
  const result = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit', env: { ...process.env, IMPL: impl } });
  if (result.error) fail(`could not start vitest: ${result.error.message}`);
  if (jsonReport !== undefined) {
    const line = progressLine(jsonReport, target.stages);
    if (line !== undefined) console.log(line);
  }
  return result.status ?? 1;
}

/** "Progress: 2AA 12/32 tests pass, 2AB 0/20 ..." from vitest's JSON report (undefined if there is none). */
function progressLine(jsonReport: string, stages: readonly Stage[]): string | undefined {
  let report: { testResults?: { name: string; assertionResults?: { status: string }[] }[] };
  try {
    report = JSON.parse(fs.readFileSync(jsonReport, 'utf8'));
  } catch {
    return undefined;
  }
  const parts = stages.map((stage) => {
    const dir = `${path.sep}harness${path.sep}suites${path.sep}${stage.suiteDir}${path.sep}`;
    let passed = 0;
    let ran = 0;
    for (const file of report.testResults ?? []) {
      if (!file.name.includes(dir)) continue;
      for (const t of file.assertionResults ?? []) {
        if (t.status === 'skipped' || t.status === 'pending' || t.status === 'todo') continue;
        ran++;
        if (t.status === 'passed') passed++;
      }
    }
    return `${stage.id} ${passed}/${ran} tests pass`;
  });
  return `Progress: ${parts.join(', ')}`;
}

process.exitCode = main(process.argv.slice(2));
