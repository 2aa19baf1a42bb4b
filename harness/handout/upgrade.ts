/**
 * `make upgrade` inside a handout: bring a newer lab (its stubs, suites, harness and given code) into the
 * student's repository, keeping every block the student wrote, byte for byte.
 *
 *   make upgrade LAB=2b KIT=<the kit's directory>     builds the 2b handout with the kit, then merges it
 *   make upgrade FROM=<a handout of the next lab>     merges a handout the instructor released
 *   make upgrade KIT=<kit>                             the same lab again: a kit fix, the student's blocks kept
 *
 * Everything outside impl/ is replaced by the new handout's (harness/ and proto/ as a whole). In impl/, each
 * TypeScript file of the new lab is the new version with the student's blocks put back (blocks.ts); a block
 * that has no place in the new version (its stage and guidance changed: the next stage reshaped it), or a
 * file whose block comments are damaged, is reported by file and line, and the student's whole file is kept
 * beside the new one as <file>.mine: nothing is silently replaced. Files the student added to impl/ stay.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isStub, mergeBlocks, type LabBlock } from './blocks.ts';
import { LABS, STAGES, STAGE_IDS, stageIndex } from '../labs/stages.ts';

/** Written into every handout: which lab it holds. */
export const HANDOUT_INFO = '.tinykv-handout.json';
const IMPL = 'impl';

export interface UpgradeResult {
  fromLab: string | undefined;
  toLab: string | undefined;
  /** Blocks of the student's (stages up to the handout's lab, not stubs) carried into the new files. */
  keptBlocks: number;
  /** "impl/x.ts:12: ..." lines: what the student must look at; [] when everything was carried. */
  conflicts: string[];
}

function readLab(dir: string): string | undefined {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dir, HANDOUT_INFO), 'utf8')) as { lab?: string }).lab;
  } catch {
    return undefined;
  }
}

/** Every file under `dir` (relative, '/' separators), leaving out what belongs to the machine or to git. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (rel === '' && ['node_modules', '.git', '.tmp'].includes(entry.name)) continue;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) out.push(child);
    }
  };
  walk('');
  return out.sort();
}

/** Merges the handout in `nextDir` into the student's handout `handoutDir` (see the module comment). */
export function upgradeHandout(handoutDir: string, nextDir: string): UpgradeResult {
  if (!fs.existsSync(path.join(nextDir, IMPL))) throw new Error(`${nextDir} is not a handout (it has no ${IMPL}/)`);
  if (!fs.existsSync(path.join(handoutDir, IMPL))) throw new Error(`${handoutDir} is not a handout (it has no ${IMPL}/)`);
  const result: UpgradeResult = { fromLab: readLab(handoutDir), toLab: readLab(nextDir), keptBlocks: 0, conflicts: [] };
  // The student's blocks: those of the stages up to the handout's lab (the later ones are still stubs).
  const from = result.fromLab === undefined ? undefined : LABS.find((l) => l.id === result.fromLab);
  const reached = from === undefined ? STAGES.length - 1 : stageIndex(from.stages[from.stages.length - 1]!);
  const students = (block: LabBlock): boolean => STAGE_IDS.includes(block.stage) && stageIndex(block.stage) <= reached && !isStub(block);

  // Outside impl/: the new handout's, whole (stale harness files must not linger).
  for (const dir of ['harness', 'proto']) fs.rmSync(path.join(handoutDir, dir), { recursive: true, force: true });
  for (const rel of filesUnder(nextDir)) {
    if (rel.startsWith(`${IMPL}/`)) continue;
    const target = path.join(handoutDir, rel);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(path.join(nextDir, rel), target);
    fs.chmodSync(target, fs.statSync(path.join(nextDir, rel)).mode & 0o777);
  }

  // impl/: the new files with the student's blocks.
  for (const rel of filesUnder(path.join(nextDir, IMPL))) {
    const next = fs.readFileSync(path.join(nextDir, IMPL, rel), 'utf8');
    const target = path.join(handoutDir, IMPL, rel);
    const shown = `${IMPL}/${rel}`;
    if (!rel.endsWith('.ts') || !fs.existsSync(target)) {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, next);
      continue;
    }
    const mine = fs.readFileSync(target, 'utf8');
    const merged = mergeBlocks(mine, next);
    const conflicts: string[] = [];
    for (const p of merged.problems) conflicts.push(`${shown}: ${p}; the new version was written, yours is in ${shown}.mine`);
    for (const b of merged.orphans) {
      if (!students(b)) continue; // a stub: nothing of the student's is lost
      conflicts.push(`${shown}:${b.beginLine}: your ${b.stage} block "${b.heading}" has no place in the new version (its stage or guidance changed); it is in ${shown}.mine: move your code into the new block by hand`);
    }
    result.keptBlocks += merged.carried.filter(students).length;
    if (merged.text === mine) continue;
    fs.writeFileSync(target, merged.text);
    if (conflicts.length > 0) {
      fs.writeFileSync(`${target}.mine`, mine);
      result.conflicts.push(...conflicts);
    }
  }
  return result;
}

/** Builds the handout of `lab` with the kit at `kitDir` into a fresh temporary directory. */
function buildWithKit(kitDir: string, lab: string): string {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), `tinykv-handout-${lab}-`));
  fs.rmSync(out, { recursive: true });
  const build = path.join(kitDir, 'harness/handout/build.ts');
  if (!fs.existsSync(build)) throw new Error(`${kitDir} is not the TinyKV-TS kit (no harness/handout/build.ts)`);
  // The kit's own tsx and node_modules: run from the kit's directory.
  const run = spawnSync(process.execPath, ['--import', 'tsx', build, lab, out], { cwd: kitDir, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`the kit could not build the ${lab} handout:\n${run.stdout}${run.stderr}`);
  return out;
}

function main(argv: readonly string[]): number {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]!;
    const value = argv[i + 1];
    if (!['--lab', '--kit', '--from', '--handout'].includes(key) || value === undefined || value === '') {
      console.error('usage: make upgrade [LAB=<lab>] KIT=<kit directory>   or   make upgrade FROM=<handout of the next lab>');
      return 2;
    }
    args.set(key, value);
  }
  const handoutDir = path.resolve(args.get('--handout') ?? process.cwd());
  let nextDir: string;
  let built: string | undefined;
  try {
    if (args.has('--from')) {
      nextDir = path.resolve(args.get('--from')!);
    } else if (args.has('--kit')) {
      const lab = args.get('--lab') ?? readLab(handoutDir);
      if (lab === undefined) throw new Error(`which lab? ${HANDOUT_INFO} is missing: say LAB=<lab>`);
      nextDir = built = buildWithKit(path.resolve(args.get('--kit')!), lab);
    } else {
      console.error('usage: make upgrade [LAB=<lab>] KIT=<kit directory>   or   make upgrade FROM=<handout of the next lab>');
      return 2;
    }
    const result = upgradeHandout(handoutDir, nextDir);
    console.log(`upgrade: lab ${result.fromLab ?? '?'} -> ${result.toLab ?? '?'}; ${result.keptBlocks} of your blocks carried over, harness and suites replaced`);
    if (result.conflicts.length > 0) {
      console.error(`upgrade: ${result.conflicts.length} block(s) need you:`);
      for (const c of result.conflicts) console.error(`  ${c}`);
      return 1;
    }
    console.log('upgrade: done; run `npm ci` if package-lock.json changed, then the new stage targets (make help)');
    return 0;
  } catch (err) {
    console.error(`upgrade: ${(err as Error).message}`);
    return 1;
  } finally {
    if (built !== undefined) fs.rmSync(built, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
