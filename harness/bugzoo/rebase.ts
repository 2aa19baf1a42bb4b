/**
 * Rebases bug zoo patches after a change to reference/: each patch that no longer applies is moved onto the
 * current files by a three-way merge (the file as it was at a commit where the patch applied, that file with
 * the patch, and the file now), then written back as a fresh unified diff.
 *
 *   npx tsx harness/bugzoo/rebase.ts [--from <commit>] [--bug <id or slug>,...] [--check]
 *
 * --from: a commit at which the patches applied (default: HEAD, i.e. the change is not committed yet).
 * --check: report what would change, write nothing.
 * A patch whose bug lines themselves conflict with the change is reported and left alone: redo it by hand
 * (harness/bugzoo/README.md says how).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadBugs, patchPath, repoRoot, type Bug } from './zoo.ts';

/** The files a patch changes, as repository-relative paths (from its `+++ b/...` lines). */
function patchedFiles(patchText: string): string[] {
  const files: string[] = [];
  for (const line of patchText.split('\n')) {
    const m = /^\+\+\+ b\/(\S+)/.exec(line);
    if (m) files.push(m[1]!);
  }
  return files;
}

function git(args: string[], input?: string): string {
  return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', input, maxBuffer: 64 * 1024 * 1024 });
}

function appliesNow(patch: string): boolean {
  try {
    execFileSync('git', ['apply', '--check', patch], { cwd: repoRoot, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Unified diff of `before` and `after` for repository path `rel`, with the zoo's path convention. */
function unifiedDiff(rel: string, before: string, after: string, work: string): string {
  const a = path.join(work, 'a', rel);
  const b = path.join(work, 'b', rel);
  fs.mkdirSync(path.dirname(a), { recursive: true });
  fs.mkdirSync(path.dirname(b), { recursive: true });
  fs.writeFileSync(a, before);
  fs.writeFileSync(b, after);
  try {
    execFileSync('diff', ['-u', `a/${rel}`, `b/${rel}`], { cwd: work, encoding: 'utf8' });
    return ''; // no difference
  } catch (err) {
    const out = (err as { stdout?: string }).stdout ?? '';
    // diff's headers carry timestamps; the zoo's patches do not.
    return out.replace(/^(--- a\/\S+|\+\+\+ b\/\S+)\t.*$/gm, '$1');
  }
}

/** `text` with the one-file unified diff `diff` applied by GNU patch with fuzz, or undefined if it fails. */
function applyWithFuzz(text: string, diff: string, work: string): string | undefined {
  const target = path.join(work, 'fuzz-target');
  fs.writeFileSync(target, text);
  try {
    execFileSync('patch', ['--fuzz=3', '--no-backup-if-mismatch', '-r', '-', target], { input: diff, stdio: ['pipe', 'ignore', 'ignore'] });
    return fs.readFileSync(target, 'utf8');
  } catch {
    return undefined;
  }
}

type RebaseOutcome = 'applies' | 'rebased' | 'conflict';

/** Rebases one patch (see the file comment). Writes it unless `dryRun`. */
function rebasePatch(bug: Bug, from: string, dryRun: boolean): RebaseOutcome {
  const file = patchPath(bug);
  if (appliesNow(file)) return 'applies';
  const text = fs.readFileSync(file, 'utf8');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'zoo-rebase-'));
  try {
    const parts: string[] = [];
    for (const rel of patchedFiles(text)) {
      const base = git(['show', `${from}:${rel}`]);
      const current = fs.readFileSync(path.join(repoRoot, rel), 'utf8');
      // The old file with the bug in it: apply the patch in a scratch directory.
      const scratch = path.join(work, 'scratch');
      fs.mkdirSync(path.dirname(path.join(scratch, rel)), { recursive: true });
      fs.writeFileSync(path.join(scratch, rel), base);
      execFileSync('git', ['apply', '--include', rel, path.resolve(file)], { cwd: scratch });
      const buggy = fs.readFileSync(path.join(scratch, rel), 'utf8');
      // Three-way merge: current <- (base -> buggy).
      const mine = path.join(work, 'mine');
      const old = path.join(work, 'old');
      const theirs = path.join(work, 'theirs');
      fs.writeFileSync(mine, current);
      fs.writeFileSync(old, base);
      fs.writeFileSync(theirs, buggy);
      let rebased: string;
      try {
        execFileSync('git', ['merge-file', '-q', mine, old, theirs]);
        rebased = fs.readFileSync(mine, 'utf8');
      } catch {
        // Changes on neighbouring lines conflict in a merge; a patch whose context moved may still apply
        // with fuzz (GNU patch), which matches a hunk while ignoring its outer context lines.
        const fuzzed = applyWithFuzz(current, unifiedDiff(rel, base, buggy, work), work);
        if (fuzzed === undefined) return 'conflict';
        rebased = fuzzed;
      }
      parts.push(unifiedDiff(rel, current, rebased, work));
    }
    if (!dryRun) fs.writeFileSync(file, parts.join(''));
    return 'rebased';
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function main(): void {
  const { values } = parseArgs({
    options: { from: { type: 'string', default: 'HEAD' }, bug: { type: 'string' }, check: { type: 'boolean', default: false } },
  });
  const wanted = values.bug?.split(',').map((s) => s.trim());
  const bugs = loadBugs().filter((b) => wanted === undefined || wanted.some((w) => w === b.slug || w === String(b.id)));
  let conflicts = 0;
  for (const bug of bugs) {
    const outcome = rebasePatch(bug, values.from!, values.check!);
    if (outcome !== 'applies') console.log(`${outcome.padEnd(8)} ${bug.slug}`);
    if (outcome === 'conflict') conflicts++;
  }
  if (conflicts > 0) {
    console.log(`${conflicts} patch(es) conflict with the change: redo them by hand (harness/bugzoo/README.md)`);
    process.exitCode = 1;
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) main();
