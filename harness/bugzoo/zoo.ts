/**
 * The bug zoo's shared pieces: the catalogue (bugs.json), and making a patched copy of reference/.
 *
 * A bug is a unified diff whose paths start at the repository root (`a/reference/raft/raft.ts`). It is applied
 * with `git apply` inside a fresh temporary directory outside the repository (so git treats it as a plain
 * directory and the real reference/ is never touched). That directory mirrors the repository's top level:
 * reference/ is a real copy, everything else the copy may import (package.json for `#proto`, proto/,
 * node_modules/) is a symlink back to the repository.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const zooDir = path.join(repoRoot, 'harness', 'bugzoo');
export const BUGS_FILE = path.join(zooDir, 'bugs.json');

/**
 * One measurement of how often a patch makes a run of its stage's suite fail (harness/bugzoo/power.ts).
 * A bug whose plain rate is below 1 is rare: the runner grades it with enough seeded runs (see run.ts).
 */
export interface Measurement {
  swarm: boolean;
  /** Runs of the suite (each test once, each on its own seed) and how many of them failed. */
  suiteRuns: number;
  failingRuns: number;
  rate: number;
  /** The first failing run (1-based), or null if none failed. */
  firstFailure: number | null;
  seedBase: number;
  /** The RUN pattern, when only part of the suite was graded. */
  run?: string;
  date: string;
}

export interface Bug {
  /** The number of the bug in the catalogue of known student bugs (GUIDE.md); variants of one bug share it. */
  id: number;
  /** Unique short name, also the patch file's name. */
  slug: string;
  title: string;
  /** The stage whose suite must catch it (2AA, 2C, 3A, ...). */
  stage: string;
  /** Suite directories or files, relative to the repository root, that together must catch the bug. */
  suites: string[];
  /** The patch file, relative to harness/bugzoo/. */
  patch: string;
  /** Measured failure rates (plain and swarm), if any. */
  measured?: Measurement[];
}

export class BugZooError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BugZooError';
  }
}

/** Reads and checks harness/bugzoo/bugs.json. */
export function loadBugs(file = BUGS_FILE): Bug[] {
  const raw: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (!Array.isArray(raw)) throw new BugZooError(`${file}: expected a JSON array of bugs`);
  const seen = new Set<string>();
  return raw.map((item: unknown, i: number) => {
    const b = item as Partial<Bug>;
    const where = `${file}, entry ${i}`;
    if (typeof b.id !== 'number' || !Number.isInteger(b.id)) throw new BugZooError(`${where}: id must be an integer`);
    for (const key of ['slug', 'title', 'stage', 'patch'] as const) {
      if (typeof b[key] !== 'string' || b[key] === '') throw new BugZooError(`${where}: ${key} must be a non-empty string`);
    }
    if (seen.has(b.slug!)) throw new BugZooError(`${where}: duplicate slug ${b.slug}`);
    seen.add(b.slug!);
    if (!Array.isArray(b.suites) || b.suites.length === 0 || b.suites.some((s) => typeof s !== 'string')) {
      throw new BugZooError(`${where}: suites must be a non-empty list of paths`);
    }
    if (b.measured !== undefined) checkMeasurements(b.measured, where);
    return b as Bug;
  });
}

function checkMeasurements(measured: unknown, where: string): void {
  if (!Array.isArray(measured)) throw new BugZooError(`${where}: measured must be a list`);
  for (const m of measured as Partial<Measurement>[]) {
    const ok = typeof m.swarm === 'boolean' && Number.isInteger(m.suiteRuns) && m.suiteRuns! > 0 &&
      Number.isInteger(m.failingRuns) && m.failingRuns! >= 0 && m.failingRuns! <= m.suiteRuns! &&
      typeof m.rate === 'number' && Math.abs(m.rate - m.failingRuns! / m.suiteRuns!) < 1e-9;
    if (!ok) throw new BugZooError(`${where}: a measurement needs swarm, suiteRuns > 0, 0 <= failingRuns <= suiteRuns and rate = failingRuns / suiteRuns`);
  }
}

/** The bug's measured plain failure rate per suite run, if it was measured. */
export function plainRate(bug: Bug): number | undefined {
  return bug.measured?.find((m) => !m.swarm)?.rate;
}

export function patchPath(bug: Bug): string {
  return path.join(zooDir, bug.patch);
}

/**
 * Top-level entries of the repository that a copied reference/ may need to resolve its imports. The small
 * config files are copied, not linked, so that a tool writing its own tsconfig.json into the copy can never
 * write through a link into the repository; the large directories are linked read-only in practice.
 */
const COPIED_ENTRIES = ['package.json', 'tsconfig.json'];
const LINKED_ENTRIES = ['proto', 'node_modules'];

/**
 * Makes a temporary directory holding a copy of reference/ plus links to what it imports.
 * Returns the directory; the implementation to test is `<dir>/reference`.
 */
export function makeReferenceCopy(label: string): string {
  removeStaleCopies();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bugzoo-${label}-`));
  fs.cpSync(path.join(repoRoot, 'reference'), path.join(dir, 'reference'), { recursive: true });
  for (const name of COPIED_ENTRIES) {
    const source = path.join(repoRoot, name);
    if (fs.existsSync(source)) fs.copyFileSync(source, path.join(dir, name));
  }
  for (const name of LINKED_ENTRIES) {
    const target = path.join(repoRoot, name);
    if (fs.existsSync(target)) fs.symlinkSync(target, path.join(dir, name));
  }
  return dir;
}

/** A copy older than this was left by a run that was killed (a run removes its copies when it ends). */
const STALE_COPY_MS = 24 * 60 * 60 * 1000;

/** Deletes the copies that killed runs left in the temporary directory. */
function removeStaleCopies(now = Date.now()): void {
  const tmp = os.tmpdir();
  for (const name of fs.readdirSync(tmp)) {
    if (!name.startsWith('bugzoo-')) continue;
    const full = path.join(tmp, name);
    try {
      if (now - fs.lstatSync(full).mtimeMs > STALE_COPY_MS) fs.rmSync(full, { recursive: true, force: true });
    } catch {
      // Another run removed it meanwhile.
    }
  }
}

export function removeCopy(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * Applies a patch inside `dir` (a directory made by makeReferenceCopy). Throws BugZooError with git's
 * message when the patch does not apply cleanly. `checkOnly` only verifies.
 */
export function applyPatch(patchFile: string, dir: string, checkOnly = false): void {
  const args = ['apply', '--whitespace=nowarn'];
  if (checkOnly) args.push('--check');
  args.push(patchFile);
  try {
    execFileSync('git', args, {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Never let git find a repository above the temp dir: the patch must land in this copy.
      env: { ...process.env, GIT_CEILING_DIRECTORIES: path.dirname(dir) },
    });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    const detail = e.stderr?.toString().trim() || e.message;
    throw new BugZooError(`patch ${path.relative(repoRoot, patchFile)} does not apply to reference/: ${detail}`);
  }
}

/** The files a patch touches, as written in its `+++ b/...` lines. */
export function patchedFiles(patchFile: string): string[] {
  const text = fs.readFileSync(patchFile, 'utf8');
  const files: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\+\+\+ b\/(.+)$/.exec(line);
    if (m) files.push(m[1]!);
  }
  return files;
}
