/**
 * `make handout LAB=<lab> OUT=<dir>`: a standalone repository to give students for one lab.
 *
 *   impl/             the lab copy (labs/<lab>/): the student's code, stubs of the lab's stages to fill
 *   harness/          what the suites of every stage up to the lab's need (their import closure), the
 *                     grader, the stage runner and the trace viewer; no kit-only tests, no bug zoo
 *   proto/            the protocol and its generated code
 *   GUIDE.md          the student chapters of those stages
 *   README.md, Makefile, package.json, package-lock.json, tsconfig.json, vitest.config.ts, .gitignore
 *
 * Nothing in it shows a solution of the lab's stages or a later one: no reference/, and findSolutionLeaks
 * (run by the builder and by its kit test) checks that no file holds code of those stages' student blocks.
 * The harness finds the student's code through IMPL, whose default in a handout is impl/ (tools/default-impl.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { importClosure, listFiles } from '../labs/closure.ts';
import { parseMarkers, renderParsed } from '../labs/markers.ts';
import { LABS, STAGES, getLab, labFirstStageIndex, ownStages, stageIndex, type Lab, type Stage } from '../labs/stages.ts';
import { HANDOUT_IMPL_DIR } from '../tools/default-impl.ts';
import { extractStudentGuide } from './guide.ts';
import { HANDOUT_INFO } from './upgrade.ts';

const KIT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export class HandoutError extends Error {
  override name = 'HandoutError';
}

/** Stages a handout of `lab` carries suites for: every stage up to and including the lab's own. */
export function handoutStages(lab: Lab): Stage[] {
  const last = stageIndex(lab.stages[lab.stages.length - 1]!);
  return STAGES.slice(0, last + 1);
}

/** Files only the kit may hold: executable models and other kit-only tests (`*.kit-only.*`). */
function isKitOnly(rel: string): boolean {
  return /\.kit-only\./.test(path.basename(rel));
}

/** Labs from 3B on run a real cluster of their own code (make cluster): the raftstore is theirs by then. */
function hasRealCluster(lab: Lab): boolean {
  return labFirstStageIndex(lab) >= labFirstStageIndex(getLab('3b'));
}

/** The harness files a handout of `lab` needs (repository-relative), from the import closure of its starts. */
export function handoutHarnessFiles(root: string, lab: Lab): string[] {
  const starts: string[] = [
    'vitest.config.ts',
    'harness/labs/run-stage.ts',
    'harness/grader/cli.ts',
    'harness/grader/worker.ts',
    'harness/trace-viewer/viewer.ts',
    'harness/tools/impl-register.ts',
    'harness/handout/upgrade.ts',
  ];
  if (hasRealCluster(lab)) starts.push('harness/real-cluster/playground.ts');
  for (const stage of handoutStages(lab)) {
    const dir = path.join(root, 'harness/suites', stage.suiteDir);
    if (!fs.existsSync(dir)) continue;
    for (const rel of listFiles(dir)) {
      const file = `harness/suites/${stage.suiteDir}/${rel}`;
      if (file.endsWith('.test.ts') && !isKitOnly(file)) starts.push(file);
    }
  }
  const closure = importClosure(starts, { root, impl: `labs/${lab.id}`, types: true });
  const files = new Set([...closure.files].filter((f) => f.startsWith('harness/') && !isKitOnly(f)));
  // Files read by path rather than imported (page.js, report-schema.json, shell helpers, images): the other
  // files of every directory the closure reaches.
  for (const dir of new Set([...files].map((f) => path.posix.dirname(f)))) {
    for (const name of fs.readdirSync(path.join(root, dir))) {
      const rel = `${dir}/${name}`;
      if (!name.endsWith('.ts') && !isKitOnly(rel) && fs.statSync(path.join(root, rel)).isFile()) files.add(rel);
    }
  }
  return [...files].sort();
}

/** A block's code as lines worth looking for: trimmed, not blank, not a lone brace or a comment. */
function telltaleLines(lines: readonly string[]): string[] {
  return lines.map((l) => l.trim()).filter((l) => l.length > 0 && !/^[{}()[\];,]*$/.test(l) && !l.startsWith('//') && !l.startsWith('*'));
}

/** Consecutive telltale lines that identify a block's code (fewer: given code repeats such runs, e.g. a guard). */
const RUN = 4;

/**
 * Where a handout's text shows code of a student block of the lab's stages or a later one: any RUN consecutive
 * telltale lines of such a block in reference/ (and not in the lab copy, where given code and earlier blocks
 * may repeat them) found, in a row, in a file of the handout. Returns
 * "file: stage S block at reference/x.ts:N" lines; [] when nothing leaks.
 */
export function findSolutionLeaks(root: string, lab: Lab, handoutDir: string): string[] {
  const first = labFirstStageIndex(lab);
  const runs = new Map<string, string>(); // RUN lines joined by \n -> where the block is
  // Runs the lab copy itself holds are no secret: given code, or the earlier stages' blocks (the same
  // lines may sit in a later block too, e.g. a proposal's bookkeeping).
  const given = new Set<string>();
  const runsOf = (lines: string[]): string[] => lines.slice(0, Math.max(0, lines.length - RUN + 1)).map((_, i) => lines.slice(i, i + RUN).join('\n'));
  for (const rel of listFiles(path.join(root, 'reference'))) {
    if (!rel.endsWith('.ts')) continue;
    const parsed = parseMarkers(fs.readFileSync(path.join(root, 'reference', rel), 'utf8'), rel);
    for (const run of runsOf(telltaleLines(renderParsed(parsed, first).split('\n')))) given.add(run);
    for (const block of parsed.blocks) {
      if (stageIndex(block.stage) < first) continue;
      for (const run of runsOf(telltaleLines(block.referenceLines))) {
        if (!given.has(run)) runs.set(run, `stage ${block.stage} block at reference/${rel}:${block.line}`);
      }
    }
  }
  for (const run of given) runs.delete(run);
  const leaks: string[] = [];
  for (const rel of listFiles(handoutDir)) {
    if (rel.split('/')[0] === 'node_modules' || rel.includes('/node_modules/') || rel.startsWith('.tmp/')) continue;
    if (!fs.statSync(path.join(handoutDir, rel)).isFile()) continue;
    const buffer = fs.readFileSync(path.join(handoutDir, rel));
    if (buffer.includes(0)) continue; // binary
    for (const run of runsOf(telltaleLines(buffer.toString('utf8').split('\n')))) {
      const where = runs.get(run);
      if (where !== undefined) {
        leaks.push(`${rel}: ${where}`);
        break;
      }
    }
  }
  return leaks;
}

function write(file: string, content: string | Buffer, mode?: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  if (mode !== undefined) fs.chmodSync(file, mode);
}

function copyFile(root: string, rel: string, outDir: string, outRel = rel): void {
  const from = path.join(root, rel);
  write(path.join(outDir, outRel), fs.readFileSync(from), fs.statSync(from).mode & 0o777);
}

/** The handout's package.json: the kit's, with scripts that make sense without reference/ and the kit tools. */
function handoutPackageJson(root: string, lab: Lab): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
  pkg.description = `TinyKV-TS, lab ${lab.id}: ${ownStages(lab).map((s) => s.title).join('; ')}`;
  pkg.scripts = {
    test: `tsx harness/labs/run-stage.ts ${lab.id}`,
    typecheck: 'tsc --noEmit',
    // exec: no shell between npm's signal and the server
    'tinykv-server': `exec node --import tsx ${HANDOUT_IMPL_DIR}/bin/tinykv-server.ts`,
    'tinyscheduler-server': `exec node --import tsx ${HANDOUT_IMPL_DIR}/bin/tinyscheduler-server.ts`,
    'tinykv-ctl': `exec node --import tsx ${HANDOUT_IMPL_DIR}/bin/tinykv-ctl.ts`,
  };
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

function handoutTsconfig(root: string): string {
  const config = JSON.parse(fs.readFileSync(path.join(root, 'tsconfig.json'), 'utf8')) as {
    compilerOptions: { paths: Record<string, string[]> };
    include: string[];
    exclude: string[];
  };
  config.compilerOptions.paths = { '@impl/*': [`${HANDOUT_IMPL_DIR}/*`] };
  config.include = ['proto', HANDOUT_IMPL_DIR, 'harness', 'vitest.config.ts'];
  config.exclude = ['node_modules'];
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** make targets of the stages a handout carries: a lab's own (project2a) and each stage's (project2aa). */
function projectTargets(lab: Lab): { target: string; what: string }[] {
  const targets: { target: string; what: string }[] = [];
  for (const l of LABS) {
    if (labFirstStageIndex(l) > labFirstStageIndex(lab)) break;
    targets.push({ target: `project${l.id}`, what: ownStages(l).map((s) => `${s.id} (${s.title})`).join(', ') });
    if (l.stages.length > 1) for (const s of ownStages(l)) targets.push({ target: `project${s.suiteDir}`, what: `${s.id} (${s.title})` });
  }
  return targets;
}

function handoutMakefile(lab: Lab): string {
  const targets = projectTargets(lab);
  const help = targets.map((t) => `\t@echo "  make ${t.target.padEnd(14)} the suite of ${t.what.replace(/"/g, "'")}"`).join('\n');
  return `# TinyKV-TS, lab ${lab.id}. \`make\` (or \`make help\`) lists the targets. Your code is in ${HANDOUT_IMPL_DIR}/.
#
# Variables: IMPL=<dir> (default ${HANDOUT_IMPL_DIR}), RUN=<test name regex>, SEED=<n>; for make grade: STAGE, RUNS, JOBS, TIME, SWARM.

.DEFAULT_GOAL := help
SHELL := /bin/bash
TSX := node_modules/.bin/tsx

ifdef SEED
export SEED
endif
ifdef IMPL
export IMPL
endif
ifdef RUN
export RUN
endif
ifndef STAGE
STAGE := ${lab.id}
endif
export STAGE

PROJECTS := ${targets.map((t) => t.target).join(' ')}

.PHONY: help grade ui trace server ctl ${hasRealCluster(lab) ? 'scheduler cluster ' : ''}typecheck upgrade $(PROJECTS)

help:
\t@echo "TinyKV-TS, lab ${lab.id}: your code is in ${HANDOUT_IMPL_DIR}/ (fill the stubs marked 'Your code here')."
${help}
\t@echo "  make grade          grade a stage as your instructor will: every test RUNS times (default 20) on fresh seeds"
\t@echo "                      (STAGE=${lab.id} by default; RUNS=, JOBS=, RUN=, SEED=<base>, TIME=<minutes>, SWARM=1)"
\t@echo "  make ui STAGE=${lab.stages[0]!.toLowerCase()}     the Vitest UI for one stage's suite on http://127.0.0.1:51204/__vitest__/"
\t@echo "  make trace FILE=.tmp/traces/<test>-<seed>.jsonl   a failed run's trace as an HTML page"
\t@echo "  make server ARGS='--addr 127.0.0.1:20160 --path /tmp/tinykv-data'   your tinykv-server"
\t@echo "  make ctl ARGS='--addr 127.0.0.1:20160 get hello'                    tinykv-ctl"
${hasRealCluster(lab) ? `\t@echo "  make cluster        your scheduler and 3 of your stores on loopback (DIR=, STORES=); Ctrl-C stops them"
\t@echo "  make scheduler ARGS='--path /tmp/sched'                              your tinyscheduler-server"
` : ''}\t@echo "  make typecheck      tsc --noEmit over your code and the harness"
\t@echo "  make upgrade LAB=<next lab> KIT=<kit dir>  (or FROM=<handout of the next lab>)   the next lab's stubs and"
\t@echo "                      suites, keeping every block you wrote; without LAB: this lab again, after a kit fix"

$(PROJECTS):
\t@$(TSX) harness/labs/run-stage.ts $(patsubst project%,%,$@)

grade:
\t@$(TSX) harness/grader/cli.ts

ui:
\t@$(TSX) harness/labs/run-stage.ts "$(STAGE)" --ui

trace:
\t@$(TSX) harness/trace-viewer/viewer.ts $(FILE) $(OUT)

server:
\t@exec node --import tsx --import ./harness/tools/impl-register.ts $(or $(IMPL),${HANDOUT_IMPL_DIR})/bin/tinykv-server.ts $(ARGS)

ctl:
\t@exec node --import tsx --import ./harness/tools/impl-register.ts $(or $(IMPL),${HANDOUT_IMPL_DIR})/bin/tinykv-ctl.ts $(ARGS)
${hasRealCluster(lab) ? `
scheduler:
\t@exec node --import tsx --import ./harness/tools/impl-register.ts $(or $(IMPL),${HANDOUT_IMPL_DIR})/bin/tinyscheduler-server.ts $(ARGS)

cluster:
\t@exec node --import tsx harness/real-cluster/playground.ts $(if $(DIR),--dir $(DIR)) $(if $(STORES),--stores $(STORES)) $(if $(IMPL),--impl $(IMPL)) $(if $(SLOW),--slow)
` : ''}
typecheck:
\tnode_modules/.bin/tsc --noEmit -p .

upgrade:
\t@$(TSX) harness/handout/upgrade.ts $(if $(LAB),--lab $(LAB)) $(if $(KIT),--kit $(KIT)) $(if $(FROM),--from $(FROM))
`;
}

function handoutReadme(lab: Lab): string {
  const own = ownStages(lab);
  const earlier = projectTargets(lab).filter((t) => !own.some((s) => t.target === `project${s.suiteDir}`) && t.target !== `project${lab.id}`);
  const cmd = (text: string) => text.padEnd(31);
  return `# TinyKV-TS, lab ${lab.id}

${own.map((s) => `- Stage ${s.id}: ${s.title}`).join('\n')}

This repository is yours: your code lives in \`${HANDOUT_IMPL_DIR}/\`. Each stub there (\`// Your code here (${own[0]!.id}): ...\`
followed by \`throw new NotImplemented(...)\`) is a block for you to write; the comment says what it must do.
Everything else is given code: read it.

\`\`\`sh
${cmd('npm ci')}# once
${cmd(`make project${lab.id}`)}# this lab's suite against your code
make project${lab.id} RUN='<test name regex>' SEED=<n>   # one test, one seed (a failure prints its replay command)
${cmd('make grade')}# what your instructor runs: every test many times on fresh seeds, with reports
${cmd(`make ui STAGE=${own[0]!.suiteDir}`)}# the Vitest UI
\`\`\`

${earlier.length === 0 ? 'This is the first lab.' : `The suites of the earlier stages are here too (${earlier.map((t) => `\`make ${t.target}\``).join(', ')}): your
earlier code must keep passing them.`} GUIDE.md holds the chapters of these stages: how the pieces fit, the
traps students fall into, and how to read a failure and replay it.

Commit your work often (\`git init\` if this is not a repository yet). When the next lab is released:

\`\`\`sh
make upgrade FROM=<the handout of the next lab>     # or: make upgrade LAB=<next lab> KIT=<the kit's directory>
\`\`\`

brings its stubs, suites and given code into this repository and keeps every block you wrote, byte for byte
(the comments \`// Your code here (<stage>)\` and \`// End of your code (<stage>).\` delimit them: keep them). A
block the new lab reshaped is listed by file and line, your file kept beside the new one as \`<file>.mine\`.
\`make upgrade KIT=<kit>\` without LAB refreshes this lab after a fix to the kit, the same way.
`;
}

export interface HandoutResult {
  files: number;
  harnessFiles: number;
}

/** Writes the handout of `labId` into `outDir` (which must not exist or be empty). */
export function buildHandout(labId: string, outDir: string, root = KIT_ROOT): HandoutResult {
  const lab = LABS.find((l) => l.id === labId.toLowerCase());
  if (lab === undefined) throw new HandoutError(`unknown lab '${labId}' (labs: ${LABS.map((l) => l.id).join(', ')})`);
  const noSuite = ownStages(lab).filter((s) => !fs.existsSync(path.join(root, 'harness/suites', s.suiteDir)));
  if (noSuite.length > 0) throw new HandoutError(`lab ${lab.id} cannot be handed out: stage ${noSuite.map((s) => s.id).join(', ')} has no suite yet`);
  const labDir = path.join(root, 'labs', lab.id);
  if (!fs.existsSync(labDir)) throw new HandoutError(`labs/${lab.id} is missing: run \`make labs\` in the kit first`);
  if (fs.existsSync(outDir) && fs.readdirSync(outDir).length > 0) {
    throw new HandoutError(`${outDir} exists and is not empty: a handout is written into a new directory (nothing was written)`);
  }
  fs.mkdirSync(outDir, { recursive: true });

  for (const rel of listFiles(labDir)) {
    if (rel === 'tsconfig.json') continue; // the handout's root tsconfig covers impl/
    copyFile(root, `labs/${lab.id}/${rel}`, outDir, `${HANDOUT_IMPL_DIR}/${rel}`);
  }
  const harness = handoutHarnessFiles(root, lab);
  for (const rel of harness) copyFile(root, rel, outDir);
  for (const rel of listFiles(path.join(root, 'proto'))) copyFile(root, `proto/${rel}`, outDir, `proto/${rel}`);
  for (const rel of ['package-lock.json', 'vitest.config.ts']) copyFile(root, rel, outDir);
  write(path.join(outDir, 'package.json'), handoutPackageJson(root, lab));
  write(path.join(outDir, 'tsconfig.json'), handoutTsconfig(root));
  write(path.join(outDir, 'Makefile'), handoutMakefile(lab));
  write(path.join(outDir, 'README.md'), handoutReadme(lab));
  write(path.join(outDir, 'GUIDE.md'), extractStudentGuide(fs.readFileSync(path.join(root, 'GUIDE.md'), 'utf8'), lab));
  write(path.join(outDir, '.gitignore'), 'node_modules\n.tmp/\n*.mine\n');
  write(path.join(outDir, HANDOUT_INFO), `${JSON.stringify({ lab: lab.id }, null, 2)}\n`);

  const leaks = findSolutionLeaks(root, lab, outDir);
  if (leaks.length > 0) {
    throw new HandoutError(`the handout in ${outDir} shows solution code (do not hand it out):\n${leaks.map((l) => `  ${l}`).join('\n')}`);
  }
  return { files: listFiles(outDir).length, harnessFiles: harness.length };
}

function main(argv: readonly string[]): number {
  const [labId, out] = argv;
  if (labId === undefined || out === undefined || argv.length !== 2) {
    console.error(`usage: make handout LAB=<lab> OUT=<dir>   (labs: ${LABS.map((l) => l.id).join(', ')})`);
    return 2;
  }
  try {
    const result = buildHandout(labId, path.resolve(out));
    const lab = getLab(labId.toLowerCase());
    console.log(`handout: wrote lab ${lab.id} to ${out} (${result.files} files, ${result.harnessFiles} of them harness); no solution code of stages ${lab.stages[0]} and later in it`);
    console.log(`handout: give students ${out}; they run \`npm ci\` and \`make project${lab.id}\` there`);
    return 0;
  } catch (err) {
    if (err instanceof HandoutError) {
      console.error(`handout: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
