/**
 * The student blocks of a lab copy, as `make labs` delimits them (markers.ts, markBlocks):
 *
 *     // Your code here (2B): what the block must do
 *     ...the student's code (or the stub)...
 *     // End of your code (2B).
 *
 * and carrying a student's blocks into a newer version of the same file (mergeBlocks): the given code comes
 * from the new version, each block from the student's version when it still has a place there.
 */

const BEGIN = /^(\s*)\/\/ Your code here \(([^)\s]+)\)(?:: .*|\.)\s*$/;
const END = /^\s*\/\/ End of your code \(([^)\s]+)\)\.\s*$/;

export interface LabBlock {
  stage: string;
  /** stage, the begin comment's text and its occurrence among equal ones: what identifies a block across versions. */
  key: string;
  /** The begin comment line, trimmed. */
  heading: string;
  /** 1-based lines of the begin and end comments. */
  beginLine: number;
  endLine: number;
  /** The lines between the two comments. */
  body: string[];
}

export interface ParsedLabFile {
  /** Text lines and blocks in file order (a block's own comment lines included in it). */
  parts: (string | LabBlock)[];
  blocks: LabBlock[];
  /** Problems with the comments ("line 12: ..."); a file with problems cannot be merged. */
  problems: string[];
}

export function parseLabBlocks(text: string): ParsedLabFile {
  const lines = text.split('\n');
  const parts: (string | LabBlock)[] = [];
  const blocks: LabBlock[] = [];
  const problems: string[] = [];
  const seen = new Map<string, number>();
  let open: { stage: string; heading: string; beginLine: number; body: string[] } | undefined;
  lines.forEach((line, i) => {
    const begin = BEGIN.exec(line);
    const end = END.exec(line);
    if (begin) {
      if (open) problems.push(`line ${i + 1}: a block begins inside the ${open.stage} block begun at line ${open.beginLine}`);
      open = { stage: begin[2]!, heading: line.trim(), beginLine: i + 1, body: [] };
      return;
    }
    if (end) {
      if (!open) {
        problems.push(`line ${i + 1}: an end comment without a block`);
        parts.push(line);
        return;
      }
      if (end[1] !== open.stage) problems.push(`line ${i + 1}: the end of a ${end[1]} block closes the ${open.stage} block begun at line ${open.beginLine}`);
      const base = `${open.stage}\u0000${open.heading}`;
      const occurrence = seen.get(base) ?? 0;
      seen.set(base, occurrence + 1);
      const block: LabBlock = { stage: open.stage, key: `${base}\u0000${occurrence}`, heading: open.heading, beginLine: open.beginLine, endLine: i + 1, body: open.body };
      parts.push(block);
      blocks.push(block);
      open = undefined;
      return;
    }
    if (open) open.body.push(line);
    else parts.push(line);
  });
  if (open) problems.push(`line ${open.beginLine}: the ${open.stage} block begun here has no '// End of your code (${open.stage}).'`);
  return { parts, blocks, problems };
}

/** Is the block still the lab's stub (nothing of the student's in it)? */
export function isStub(block: LabBlock): boolean {
  return block.body.some((line) => line.includes('new NotImplemented('));
}

/** The lines of a parsed file again, each block's body replaced as `bodyOf` says. */
function render(parsed: ParsedLabFile, bodyOf: (block: LabBlock) => string[], beginOf: (block: LabBlock) => string, endOf: (block: LabBlock) => string): string {
  const out: string[] = [];
  for (const part of parsed.parts) {
    if (typeof part === 'string') out.push(part);
    else out.push(beginOf(part), ...bodyOf(part), endOf(part));
  }
  return out.join('\n');
}

export interface MergeResult {
  /** The new version with the student's blocks in it. */
  text: string;
  /** Blocks of the student's that have no place in the new version (kept nowhere but in the old text). */
  orphans: LabBlock[];
  /** Blocks of the new version with no student block to fill them (they keep the new version's body). */
  unmatched: LabBlock[];
  /** The student's blocks put back into the new version. */
  carried: LabBlock[];
  /** Problems that stopped the merge (text is then the new version as is). */
  problems: string[];
}

/**
 * The new version of a file (`next`) with every block the student's version (`mine`) has for it (same stage,
 * same begin comment, same occurrence) put back byte for byte, comments included.
 */
export function mergeBlocks(mine: string, next: string): MergeResult {
  const old = parseLabBlocks(mine);
  const fresh = parseLabBlocks(next);
  const problems = [...old.problems.map((p) => `your file: ${p}`), ...fresh.problems.map((p) => `new version: ${p}`)];
  if (problems.length > 0) return { text: next, orphans: [], unmatched: [], carried: [], problems };
  const mineByKey = new Map(old.blocks.map((b) => [b.key, b]));
  const freshKeys = new Set(fresh.blocks.map((b) => b.key));
  const mineLines = mine.split('\n');
  const nextLines = next.split('\n');
  // A block of the student's comes back whole: its comment lines as they were too (indentation included).
  const text = render(
    fresh,
    (block) => mineByKey.get(block.key)?.body ?? block.body,
    (block) => {
      const own = mineByKey.get(block.key);
      return own ? mineLines[own.beginLine - 1]! : nextLines[block.beginLine - 1]!;
    },
    (block) => {
      const own = mineByKey.get(block.key);
      return own ? mineLines[own.endLine - 1]! : nextLines[block.endLine - 1]!;
    },
  );
  return {
    text,
    orphans: old.blocks.filter((b) => !freshKeys.has(b.key)),
    unmatched: fresh.blocks.filter((b) => !mineByKey.has(b.key)),
    carried: old.blocks.filter((b) => freshKeys.has(b.key)),
    problems: [],
  };
}
