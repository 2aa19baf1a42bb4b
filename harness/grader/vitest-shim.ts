/**
 * What a test file sees as `vitest` inside a grader worker (loader.ts redirects the import here).
 *
 * Importing a test file registers its tests and hooks here instead of running them; the worker then runs
 * one test at a time, as `vitest run -t '<that test>'` would: the beforeAll hooks of the enclosing describe
 * blocks, the beforeEach hooks (outermost first), the test, the afterEach hooks and cleanups (innermost
 * first), the afterAll hooks. `expect` is vitest's own, so assertions pass and fail exactly as under vitest.
 *
 * Only what the staged suites use is offered: describe, test/it (with .skip, .todo, .only, .each), the four
 * hooks and expect. Anything else a test file imports from vitest is an error naming what is missing.
 */
import { expect as vitestExpect } from 'vitest';

export const expect = vitestExpect;

type Fn = () => unknown;
type Hook = () => unknown;

export interface ShimSuite {
  readonly name: string;
  readonly parent: ShimSuite | undefined;
  readonly beforeAll: Hook[];
  readonly afterAll: Hook[];
  readonly beforeEach: Hook[];
  readonly afterEach: Hook[];
  skipped: boolean;
}

export interface ShimTest {
  /** Names from the outermost describe block to the test's own. */
  readonly names: readonly string[];
  readonly fn: Fn | undefined;
  readonly suite: ShimSuite;
  readonly timeoutMs: number | undefined;
  readonly mode: 'run' | 'skip' | 'todo' | 'only';
}

/** What one import of one test file registered. */
export interface ShimFile {
  readonly root: ShimSuite;
  readonly tests: ShimTest[];
}

function newSuite(name: string, parent: ShimSuite | undefined): ShimSuite {
  return { name, parent, beforeAll: [], afterAll: [], beforeEach: [], afterEach: [], skipped: parent?.skipped ?? false };
}

let collecting: { file: ShimFile; suite: ShimSuite } | undefined;

/** Collect what importing a test file registers: call around the import. */
export async function collectFile(load: () => Promise<unknown>): Promise<ShimFile> {
  const root = newSuite('', undefined);
  const file: ShimFile = { root, tests: [] };
  collecting = { file, suite: root };
  try {
    await load();
  } finally {
    collecting = undefined;
  }
  return file;
}

function current(what: string): { file: ShimFile; suite: ShimSuite } {
  if (collecting === undefined) {
    throw new Error(`${what} was called outside the collection of a test file (inside a test or a hook?): the grader's runner does not support it`);
  }
  return collecting;
}

/** test(name, fn, timeout) or test(name, { timeout }, fn). */
function splitArgs(a: unknown, b: unknown): { fn: Fn | undefined; timeoutMs: number | undefined } {
  if (typeof a === 'function') return { fn: a as Fn, timeoutMs: typeof b === 'number' ? b : undefined };
  if (typeof b === 'function') {
    const options = (a ?? {}) as { timeout?: number };
    return { fn: b as Fn, timeoutMs: options.timeout };
  }
  return { fn: undefined, timeoutMs: undefined };
}

function addTest(name: string, a: unknown, b: unknown, mode: ShimTest['mode']): void {
  const { file, suite } = current('test()');
  const names: string[] = [];
  for (let s: ShimSuite | undefined = suite; s !== undefined && s.parent !== undefined; s = s.parent) names.unshift(s.name);
  names.push(name);
  const { fn, timeoutMs } = splitArgs(a, b);
  const effective = suite.skipped && mode !== 'todo' ? 'skip' : fn === undefined ? 'todo' : mode;
  file.tests.push({ names, fn, suite, timeoutMs, mode: effective });
}

/** printf-like names of test.each: %s %i %d %f %j %o %%, and $field for object rows. */
function formatEachName(template: string, row: unknown, index: number): string {
  const args = Array.isArray(row) ? [...row] : [row];
  let name = template.replace(/%[sidfjoO#%]/g, (spec) => {
    if (spec === '%%') return '%';
    if (spec === '%#') return String(index);
    const value = args.shift();
    switch (spec) {
      case '%i':
      case '%d':
        return String(Math.trunc(Number(value)));
      case '%f':
        return String(Number(value));
      case '%j':
      case '%o':
      case '%O':
        return JSON.stringify(value);
      default:
        return String(value);
    }
  });
  if (row !== null && typeof row === 'object' && !Array.isArray(row)) {
    name = name.replace(/\$([A-Za-z_]\w*)/g, (_m, key: string) => String((row as Record<string, unknown>)[key]));
  }
  return name;
}

interface TestApi {
  (name: string, a?: unknown, b?: unknown): void;
  skip(name: string, a?: unknown, b?: unknown): void;
  todo(name: string): void;
  only(name: string, a?: unknown, b?: unknown): void;
  each(rows: readonly unknown[]): (name: string, fn: (...args: unknown[]) => unknown, timeout?: number) => void;
}

function makeTestApi(): TestApi {
  const api = ((name: string, a?: unknown, b?: unknown) => addTest(name, a, b, 'run')) as TestApi;
  api.skip = (name, a, b) => addTest(name, a, b, 'skip');
  api.todo = (name) => addTest(name, undefined, undefined, 'todo');
  api.only = (name, a, b) => addTest(name, a, b, 'only');
  api.each = (rows) => (name, fn, timeout) => {
    rows.forEach((row, index) => {
      const args = Array.isArray(row) ? row : [row];
      addTest(formatEachName(name, row, index), () => fn(...args), timeout, 'run');
    });
  };
  return api;
}

export const test = makeTestApi();
export const it = test;

interface DescribeApi {
  (name: string, body: () => void): void;
  skip(name: string, body: () => void): void;
}

function addSuite(name: string, body: () => void, skip: boolean): void {
  const ctx = current('describe()');
  const suite = newSuite(name, ctx.suite);
  if (skip) suite.skipped = true;
  const outer = ctx.suite;
  ctx.suite = suite;
  try {
    const returned = body() as unknown;
    if (returned instanceof Promise) throw new Error(`describe('${name}') has an async body: vitest does not support that either`);
  } finally {
    ctx.suite = outer;
  }
}

export const describe = ((name: string, body: () => void) => addSuite(name, body, false)) as DescribeApi;
describe.skip = (name, body) => addSuite(name, body, true);

export function beforeAll(fn: Hook): void {
  current('beforeAll()').suite.beforeAll.push(fn);
}
export function afterAll(fn: Hook): void {
  current('afterAll()').suite.afterAll.push(fn);
}
export function beforeEach(fn: Hook): void {
  current('beforeEach()').suite.beforeEach.push(fn);
}
export function afterEach(fn: Hook): void {
  current('afterEach()').suite.afterEach.push(fn);
}

/** The describe blocks around a test, outermost first (the file's root included). */
function suitesOf(t: ShimTest): ShimSuite[] {
  const chain: ShimSuite[] = [];
  for (let s: ShimSuite | undefined = t.suite; s !== undefined; s = s.parent) chain.unshift(s);
  return chain;
}

async function withTimeout<T>(what: string, ms: number, run: () => T | Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out in ${ms}ms.`)), ms);
  });
  try {
    return await Promise.race([Promise.resolve().then(run), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface RunLimits {
  testTimeoutMs: number;
  hookTimeoutMs: number;
}

/**
 * Runs one registered test the way vitest runs it when it is the only one selected. Throws the first error
 * (the test's, else a hook's), as vitest reports the test failed.
 */
export async function runShimTest(t: ShimTest, testPath: string, limits: RunLimits): Promise<void> {
  const suites = suitesOf(t);
  const teardowns: Hook[] = [];
  const cleanups: Hook[] = [];
  let failure: unknown;
  const attempt = async (what: string, ms: number, fn: Hook): Promise<unknown> => {
    try {
      return await withTimeout(what, ms, fn);
    } catch (err) {
      failure ??= err;
      return undefined;
    }
  };
  expect.setState({ currentTestName: t.names.join(' > '), testPath, assertionCalls: 0 });
  let ready = true;
  for (const s of suites) {
    for (const hook of s.beforeAll) {
      const teardown = await attempt('Hook', limits.hookTimeoutMs, hook);
      if (typeof teardown === 'function') teardowns.unshift(teardown as Hook);
    }
  }
  if (failure !== undefined) ready = false;
  if (ready) {
    for (const s of suites) {
      for (const hook of s.beforeEach) {
        const cleanup = await attempt('Hook', limits.hookTimeoutMs, hook);
        if (typeof cleanup === 'function') cleanups.unshift(cleanup as Hook);
      }
    }
    if (failure === undefined) await attempt('Test', t.timeoutMs ?? limits.testTimeoutMs, t.fn!);
    for (const cleanup of cleanups) await attempt('Hook', limits.hookTimeoutMs, cleanup);
    for (const s of [...suites].reverse()) {
      for (const hook of [...s.afterEach].reverse()) await attempt('Hook', limits.hookTimeoutMs, hook);
    }
  }
  for (const teardown of teardowns) await attempt('Hook', limits.hookTimeoutMs, teardown);
  for (const s of [...suites].reverse()) {
    for (const hook of [...s.afterAll].reverse()) await attempt('Hook', limits.hookTimeoutMs, hook);
  }
  if (failure !== undefined) throw failure;
}
