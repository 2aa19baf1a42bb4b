/**
 * What the kit keeps on disk after a run, and for how long: one policy for every kept trace and report.
 *
 *   .tmp/traces/   the full trace of each FAILED simulated test (passing tests keep nothing);
 *                  the newest 30 files are kept, at most 200 MB in all;
 *   .tmp/grades/   one directory per grading (reports, and the log and trace of each failed run);
 *                  the newest 10 are kept, at most 500 MB in all besides the newest (a grading of a
 *                  buggy lab keeps up to 30 failure traces of several MB each).
 *   .tmp/class/    one directory per class grading or merge (the code graded, reports, failed runs' logs);
 *                  the newest 5 are kept, at most 2 GB in all besides the newest.
 *
 * Pruning happens when something new is written there, so the directories never grow without bound.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface RetentionRule {
  /** Keep at most this many entries (newest first). */
  readonly keep: number;
  /** Keep at most this many bytes in all (newest first); undefined: no byte limit. */
  readonly maxBytes?: number;
}

export const RETENTION = {
  traces: { keep: 30, maxBytes: 200 * 1024 * 1024 },
  grades: { keep: 10, maxBytes: 500 * 1024 * 1024 },
  class: { keep: 5, maxBytes: 2 * 1024 * 1024 * 1024 },
} as const satisfies Record<string, RetentionRule>;

function sizeOf(entry: string): number {
  const stat = fs.lstatSync(entry);
  if (!stat.isDirectory()) return stat.size;
  return fs.readdirSync(entry).reduce((sum, name) => sum + sizeOf(path.join(entry, name)), 0);
}

/**
 * Deletes the oldest entries of `dir` (files or directories, by modification time) beyond the rule.
 * `protect` names entries never deleted (the one just written). Returns the names deleted.
 */
export function prune(dir: string, rule: RetentionRule, protect: readonly string[] = []): string[] {
  if (!fs.existsSync(dir)) return [];
  const entries = fs
    .readdirSync(dir)
    .map((name) => {
      const full = path.join(dir, name);
      return { name, full, mtime: fs.lstatSync(full).mtimeMs };
    })
    .sort((a, b) => b.mtime - a.mtime || a.name.localeCompare(b.name));
  const deleted: string[] = [];
  let bytes = 0;
  entries.forEach((e, i) => {
    if (protect.includes(e.name)) return;
    bytes += rule.maxBytes === undefined ? 0 : sizeOf(e.full);
    if (i >= rule.keep || (rule.maxBytes !== undefined && bytes > rule.maxBytes)) {
      fs.rmSync(e.full, { recursive: true, force: true });
      deleted.push(e.name);
    }
  });
  return deleted;
}
