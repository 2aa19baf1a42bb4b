/**
 * The implementation the suites run against when IMPL is not set. In the kit it is reference/; a student
 * handout (`make handout`) has no reference/, and its default is impl/, the student's own code.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The student's code in a handout, relative to its root. */
export const HANDOUT_IMPL_DIR = 'impl';

/** Is `root` a student handout (no reference/ beside the harness)? */
export function isHandout(root: string): boolean {
  return !fs.existsSync(path.join(root, 'reference'));
}

/** IMPL's default, relative to `root`: 'reference' in the kit, 'impl' in a handout. */
export function defaultImpl(root: string): string {
  return isHandout(root) ? HANDOUT_IMPL_DIR : 'reference';
}
