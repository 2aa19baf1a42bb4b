/**
 * What the grader shows while it runs. On a terminal: a table redrawn in place (per test: runs done/total,
 * failures, mean wall time, an estimate of the time left). Elsewhere (CI logs): plain lines, no control
 * codes: one per failed run, and a progress line every `everyMs`.
 */
import type { GradeState, TestState } from './grade.ts';

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Runs a test will make in all: its plan, or 1 when it turned out not to read its seed. */
export function totalRuns(t: TestState): number {
  return t.seedIndependent ? Math.max(1, t.done) : t.planned;
}

/** Estimated wall time left for the whole grading, spread over `jobs` workers. */
export function estimateLeftMs(state: GradeState, jobs: number, deadline: number): number {
  if (Number.isFinite(deadline)) return Math.max(0, deadline - Date.now());
  const known = state.tests.filter((t) => t.wallMs.length > 0);
  const fallback = mean(known.map((t) => mean(t.wallMs)));
  let work = 0;
  for (const t of state.tests) {
    const left = totalRuns(t) - t.done;
    work += left * (t.wallMs.length > 0 ? mean(t.wallMs) : fallback);
  }
  return work / Math.max(1, jobs);
}

function testRow(t: TestState, jobs: number): string[] {
  const total = totalRuns(t);
  const done = `${t.done}/${Number.isFinite(total) ? total : '-'}`;
  const eta = Number.isFinite(total) && t.wallMs.length > 0 ? duration(((total - t.done) * mean(t.wallMs)) / jobs) : '';
  return [t.test.fullName, done, String(t.failed.length), t.wallMs.length > 0 ? seconds(mean(t.wallMs)) : '', eta];
}

/** Lays out rows as aligned columns (the first left-aligned, the rest right-aligned). */
export function columns(rows: readonly (readonly string[])[], maxFirst = 70): string[] {
  const widths: number[] = [];
  const cut = rows.map((r) => r.map((c, i) => (i === 0 && c.length > maxFirst ? `${c.slice(0, maxFirst - 1)}…` : c)));
  for (const r of cut) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return cut.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
}

export interface ProgressView {
  update(state: GradeState): void;
  failure(t: TestState, line: string): void;
  finish(state: GradeState): void;
}

/** The live table, redrawn in place on a terminal. */
export function liveTable(out: NodeJS.WriteStream, jobs: number, deadline: number, header: string): ProgressView {
  let drawn = 0;
  let last = 0;
  const notes: string[] = [];
  const draw = (state: GradeState, force: boolean): void => {
    const now = Date.now();
    if (!force && now - last < 250) return;
    last = now;
    const done = state.tests.reduce((a, t) => a + t.done, 0);
    const failures = state.tests.reduce((a, t) => a + t.failed.length, 0);
    const lines = [
      `${header}  |  ${done} runs, ${failures} failed, ${duration(now - state.startedAt)} elapsed, about ${duration(estimateLeftMs(state, jobs, deadline))} left`,
      ...columns([['test', 'runs', 'fail', 'mean', 'ETA'], ...state.tests.map((t) => testRow(t, jobs))]),
      ...notes.slice(-5),
    ];
    const rows = out.rows > 0 ? out.rows - 1 : lines.length;
    const shown = lines.length > rows ? [...lines.slice(0, rows - 1), `… ${lines.length - rows + 1} more lines`] : lines;
    // Move up over the last drawing and write over it, clearing each line.
    let text = drawn > 0 ? `\x1b[${drawn}F` : '';
    for (const line of shown) text += `\x1b[2K${line.slice(0, Math.max(20, out.columns - 1))}\n`;
    for (let i = shown.length; i < drawn; i++) text += '\x1b[2K\n';
    out.write(text);
    drawn = Math.max(shown.length, drawn);
  };
  return {
    update: (state) => draw(state, false),
    failure: (_t, line) => notes.push(line),
    finish: (state) => draw(state, true),
  };
}

/** Plain lines for logs: failures as they happen, and progress now and then. */
export function plainProgress(out: NodeJS.WritableStream, jobs: number, deadline: number, everyMs = 15_000): ProgressView {
  let last = Date.now();
  return {
    update: (state) => {
      if (Date.now() - last < everyMs) return;
      last = Date.now();
      const done = state.tests.reduce((a, t) => a + t.done, 0);
      const total = state.tests.reduce((a, t) => a + (Number.isFinite(totalRuns(t)) ? totalRuns(t) : t.done), 0);
      const failures = state.tests.reduce((a, t) => a + t.failed.length, 0);
      out.write(`grade: ${done}/${total} runs, ${failures} failed, ${duration(Date.now() - state.startedAt)} elapsed, about ${duration(estimateLeftMs(state, jobs, deadline))} left\n`);
    },
    failure: (_t, line) => out.write(`${line}\n`),
    finish: () => undefined,
  };
}
