/**
 * Stage markers: how a lab copy is cut from a reference file.
 *
 * A student block in reference/ looks like this:
 *
 *     // @student 2AB begin: what the student has to do, in one line
 *     ...reference code...
 *     // @student 2AB stub
 *     //| throw new NotImplemented('2AB', 'RaftLog.append');
 *     // @student 2AB end
 *
 * In a lab that stubs the block's stage, the block becomes the guidance comment plus the stub lines;
 * in a lab of a later stage it keeps the reference code. Marker lines never reach a lab copy.
 */
import { STAGE_IDS, isStageId } from './stages.ts';

/** A marker problem, located at a line of a file. */
export class MarkerError extends Error {
  readonly file: string;
  readonly line: number;
  readonly problem: string;
  constructor(file: string, line: number, problem: string) {
    super(`${file}:${line}: ${problem}`);
    this.name = 'MarkerError';
    this.file = file;
    this.line = line;
    this.problem = problem;
  }
}

/** All marker problems of one or more files, reported together. */
export class MarkerErrors extends Error {
  readonly errors: readonly MarkerError[];
  constructor(errors: readonly MarkerError[]) {
    super(`${errors.length} marker error(s):\n${errors.map((e) => `  ${e.message}`).join('\n')}`);
    this.name = 'MarkerErrors';
    this.errors = errors;
  }
}

/** Plain lines outside any student block. */
export interface TextPart {
  readonly kind: 'text';
  readonly lines: readonly string[];
}

/** One `// @student <STAGE> begin ... end` block. */
export interface BlockPart {
  readonly kind: 'block';
  readonly stage: string;
  /** Guidance after `begin:`, or '' if none. */
  readonly guidance: string;
  /** Leading whitespace of the begin marker; the stub is written at this indentation. */
  readonly indent: string;
  /** 1-based line of the begin marker. */
  readonly line: number;
  /** The reference code between `begin` and `stub`, unchanged. */
  readonly referenceLines: readonly string[];
  /** The stub lines without their `//| ` prefix and without indentation before it. */
  readonly stubLines: readonly string[];
}

export type Part = TextPart | BlockPart;

export interface ParsedFile {
  readonly file: string;
  readonly parts: readonly Part[];
  /** The blocks only, in file order. */
  readonly blocks: readonly BlockPart[];
}

// A marker line: indentation, `// @student`, a stage id, a keyword, and for `begin` an optional `: guidance`.
const MARKER_START = /^\s*\/\/\s*@student\b/;
const MARKER = /^(\s*)\/\/ @student (\S+) (begin|stub|end)(?::(.*))?\s*$/;
// A stub line: `//|` followed by a space and the code, or nothing (an empty stub line).
const STUB_LINE = /^\s*\/\/\|( (.*))?$/;
const STUB_LINE_START = /^\s*\/\/\|/;

interface OpenBlock {
  stage: string;
  guidance: string;
  indent: string;
  line: number;
  referenceLines: string[];
  stubLines: string[];
  /** Line of the `stub` marker once seen. */
  stubLine: number | undefined;
}

/**
 * Parses the markers of one file. Throws MarkerErrors listing every problem found (each with file:line).
 * A file without markers parses to a single text part.
 */
export function parseMarkers(text: string, file: string): ParsedFile {
  const lines = text.split('\n');
  const errors: MarkerError[] = [];
  const parts: Part[] = [];
  let textLines: string[] = [];
  let open: OpenBlock | undefined;

  const fail = (lineNo: number, problem: string): void => {
    errors.push(new MarkerError(file, lineNo, problem));
  };

  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const lineNo = i + 1;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;

    if (MARKER_START.test(line)) {
      const m = MARKER.exec(line);
      if (!m) {
        fail(lineNo, `malformed marker '${line.trim()}'; expected '// @student <STAGE> begin[: guidance]', '// @student <STAGE> stub' or '// @student <STAGE> end'`);
        continue;
      }
      const [, indent = '', stage = '', keyword, guidanceRaw] = m;
      if (!isStageId(stage)) {
        // Reported, then parsed as usual so one typo does not cascade into more errors.
        fail(lineNo, `unknown stage id '${stage}' (known: ${STAGE_IDS.join(' ')})`);
      }
      if (guidanceRaw !== undefined && keyword !== 'begin') {
        fail(lineNo, `only a begin marker takes guidance text ('${keyword}' has ': ...')`);
      }
      if (keyword === 'begin') {
        if (open) {
          fail(lineNo, `nested marker: '@student ${stage} begin' inside the ${open.stage} block opened at line ${open.line}; blocks cannot nest`);
          continue;
        }
        if (textLines.length > 0) parts.push({ kind: 'text', lines: textLines });
        textLines = [];
        open = {
          stage,
          guidance: (guidanceRaw ?? '').trim(),
          indent,
          line: lineNo,
          referenceLines: [],
          stubLines: [],
          stubLine: undefined,
        };
        continue;
      }
      if (!open) {
        fail(lineNo, `'@student ${stage} ${keyword}' without a matching '@student ${stage} begin'`);
        continue;
      }
      if (stage !== open.stage) {
        fail(lineNo, `mismatched marker: '@student ${stage} ${keyword}' inside the ${open.stage} block opened at line ${open.line}`);
        continue;
      }
      if (keyword === 'stub') {
        if (open.stubLine !== undefined) {
          fail(lineNo, `second stub marker in the ${open.stage} block opened at line ${open.line} (first at line ${open.stubLine})`);
          continue;
        }
        open.stubLine = lineNo;
        continue;
      }
      // keyword === 'end'
      if (open.stubLine === undefined) {
        fail(lineNo, `missing stub section: the ${open.stage} block opened at line ${open.line} ends without a '// @student ${open.stage} stub' marker`);
      } else {
        parts.push({
          kind: 'block',
          stage: open.stage,
          guidance: open.guidance,
          indent: open.indent,
          line: open.line,
          referenceLines: open.referenceLines,
          stubLines: open.stubLines,
        });
      }
      open = undefined;
      continue;
    }

    if (STUB_LINE_START.test(line)) {
      const m = STUB_LINE.exec(line);
      if (!open || open.stubLine === undefined) {
        const where = open ? `in the reference part of the ${open.stage} block opened at line ${open.line} (before its stub marker)` : 'outside a stub section';
        fail(lineNo, `stub line '${line.trim()}' ${where}`);
        continue;
      }
      if (!m) {
        fail(lineNo, `malformed stub line '${line.trim()}'; write '//| ' followed by the code`);
        continue;
      }
      open.stubLines.push(m[2] ?? '');
      continue;
    }

    if (open && open.stubLine !== undefined) {
      if (line.trim() === '') {
        open.stubLines.push('');
        continue;
      }
      fail(lineNo, `code line in the stub section of the ${open.stage} block opened at line ${open.line}; stub lines start with '//| ', reference code goes before the stub marker (or is the end marker missing?)`);
      continue;
    }

    if (open) open.referenceLines.push(raw);
    else textLines.push(raw);
  }

  if (open) {
    fail(open.line, `unbalanced marker: the ${open.stage} block opened here has no '// @student ${open.stage} end'`);
  }
  if (errors.length > 0) throw new MarkerErrors(errors);
  if (textLines.length > 0 || parts.length === 0) parts.push({ kind: 'text', lines: textLines });
  return { file, parts, blocks: parts.filter((p): p is BlockPart => p.kind === 'block') };
}

/** The guidance comment that opens a student block in a lab copy (a stubbed one always). */
function guidanceComment(block: BlockPart): string {
  const text = block.guidance === '' ? '.' : `: ${block.guidance}`;
  return `${block.indent}// Your code here (${block.stage})${text}`;
}

/** The comment that closes a student block in a lab copy (see RenderOptions.markBlocks). */
function endComment(block: BlockPart): string {
  return `${block.indent}// End of your code (${block.stage}).`;
}

export interface RenderOptions {
  /**
   * Delimit every student block, stubbed or not, with its guidance comment and an end comment (what lab
   * copies do, so that a student's blocks can be carried from one lab to the next: labs/blocks.ts). Without
   * it a stubbed block gets only its guidance comment and a kept block no comment at all.
   */
  markBlocks?: boolean;
}

/**
 * Renders a parsed file for a lab whose stubbing starts at stage index `firstStubbed`
 * (blocks of that stage and later are stubbed). Pass STAGE_IDS.length to keep every block's reference code.
 */
export function renderParsed(parsed: ParsedFile, firstStubbed: number, options: RenderOptions = {}): string {
  const out: string[] = [];
  for (const part of parsed.parts) {
    if (part.kind === 'text') {
      out.push(...part.lines);
      continue;
    }
    const stubbed = STAGE_IDS.indexOf(part.stage) >= firstStubbed;
    if (stubbed || options.markBlocks) out.push(guidanceComment(part));
    if (stubbed) {
      for (const stub of part.stubLines) out.push(stub === '' ? '' : `${part.indent}${stub}`);
    } else {
      out.push(...part.referenceLines);
    }
    if (options.markBlocks) out.push(endComment(part));
  }
  return out.join('\n');
}

/** Parses and renders in one step; throws MarkerErrors on bad markers. */
export function transformSource(text: string, file: string, firstStubbed: number, options: RenderOptions = {}): string {
  return renderParsed(parseMarkers(text, file), firstStubbed, options);
}
