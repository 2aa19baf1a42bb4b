/**
 * A grader worker: a long-lived process that runs tests one at a time, many times, for the grader (pool.ts).
 * Started as `node --import tsx harness/grader/worker.ts` with IMPL in its environment and an IPC channel.
 *
 * Each run imports its test file afresh (a new module instance of the file; the code under test and the
 * harness stay loaded, which is where the start-up time goes), runs the one test as vitest would
 * (vitest-shim.ts) with SEED set, and reports: passed or failed (with the error and the captured output),
 * how long it took, whether the test read its seed at all, the trace hash and virtual time the simulation
 * printed, and the worker's peak memory so far.
 */
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import { register } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ShimFile, ShimTest } from './vitest-shim.ts';
import { defaultImpl } from '../tools/default-impl.ts';
import { SECRET_FD, signedText, type RunRequest, type RunResult, type WorkerReply, type WorkerRequest } from './protocol.ts';

/**
 * The secret that signs verdicts, read from SECRET_FD before any test or code under test is loaded, and the
 * descriptor closed: later code in this process cannot read it (only this module's scope holds it).
 */
const secret = ((): string => {
  try {
    const text = fs.readFileSync(SECRET_FD, 'utf8');
    fs.closeSync(SECRET_FD);
    return text;
  } catch {
    return ''; // started without one (a pool that does not check)
  }
})();

function sign(result: RunResult, seed: number): RunResult {
  return { ...result, signature: createHmac('sha256', secret).update(signedText(result, seed)).digest('hex') };
}

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const impl = path.resolve(process.env.IMPL ?? defaultImpl(root));
const shimUrl = new URL('./vitest-shim.ts', import.meta.url).href;
register(new URL('./loader.ts', import.meta.url).href, { data: { impl, root, shim: shimUrl } });

// Imported after the hook is registered, so the shim's own `vitest` import is the real one.
const shim = (await import(shimUrl)) as typeof import('./vitest-shim.ts');

/** Output kept per run: the head and the tail of what the test printed. */
const OUTPUT_KEEP = 2 * 1024 * 1024;

let freshness = 0;

async function loadFile(file: string): Promise<ShimFile> {
  const url = `${pathToFileURL(path.resolve(file)).href}?grader-run=${++freshness}`;
  return shim.collectFile(() => import(url));
}

function send(reply: WorkerReply): void {
  process.send!(reply);
}

/** Seed variables the suites read; a run that reads none of them does not depend on its seed. */
const SEED_VARIABLES = new Set(['SEED', 'RAFT_TEST_SEED']);

/** Swaps process.env for a copy that notes reads of the seed variables. */
function watchSeedReads(values: Record<string, string>): { readSeed: () => boolean; restore: () => void } {
  const original = process.env;
  let read = false;
  const copy: Record<string, string | undefined> = { ...original, ...values };
  process.env = new Proxy(copy, {
    get(target, key) {
      if (typeof key === 'string' && SEED_VARIABLES.has(key)) read = true;
      return target[key as string];
    },
  }) as NodeJS.ProcessEnv;
  return {
    readSeed: () => read,
    restore: () => {
      process.env = original;
    },
  };
}

/** Captures what the run prints (stdout and stderr), bounded. */
function captureOutput(): { text: () => string; stop: () => void } {
  const chunks: string[] = [];
  let size = 0;
  let dropped = 0;
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const keep = (chunk: unknown): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    if (size < OUTPUT_KEEP / 2) {
      chunks.push(text);
      size += text.length;
    } else {
      // Past the head: keep a rolling tail.
      chunks.push(text);
      size += text.length;
      while (size > OUTPUT_KEEP && chunks.length > 1) {
        const removed = chunks.splice(Math.floor(chunks.length / 2), 1)[0]!;
        size -= removed.length;
        dropped += removed.length;
      }
    }
    return true;
  };
  process.stdout.write = keep as typeof process.stdout.write;
  process.stderr.write = keep as typeof process.stderr.write;
  return {
    text: () => (dropped > 0 ? chunks.join('').replace(/^/, '') + `\n[grader: ${dropped} characters of output left out]\n` : chunks.join('')),
    stop: () => {
      process.stdout.write = out;
      process.stderr.write = err;
    },
  };
}

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // The stack repeats the message, whole when it has several lines (a failure block): keep only its frames.
  const frames = (err.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
  return `${err.name}: ${err.message}${frames.length > 0 ? `\n${frames.join('\n')}` : ''}`;
}

/**
 * What the simulation reported: "[sim] X: passed; seed 5, trace hash abcd, 12 events, 3400 virtual ms" in the
 * output of a passed run, "trace hash:  abcd  (at virtual time 1246 ms)" in the error of a failed one.
 */
function simFacts(output: string): { traceHash?: string; virtualMs?: number; events?: number } {
  const passed = /trace hash ([0-9a-f]+), (\d+) events, (\d+) virtual ms/.exec(output);
  if (passed) return { traceHash: passed[1], events: Number(passed[2]), virtualMs: Number(passed[3]) };
  const failed = /trace hash:\s+([0-9a-f]+)\s+\(at virtual time (\d+) ms\)/.exec(output);
  if (failed) return { traceHash: failed[1], virtualMs: Number(failed[2]) };
  return {};
}

let unhandled: unknown;
process.on('unhandledRejection', (reason) => {
  unhandled ??= reason;
});
process.on('uncaughtException', (error) => {
  unhandled ??= error;
});

async function run(req: RunRequest): Promise<RunResult> {
  const started = performance.now();
  const file = await loadFile(req.file);
  const wanted = req.names.join(' > ');
  const t: ShimTest | undefined = file.tests.find((x) => x.names.join(' > ') === wanted);
  if (t === undefined) {
    return { id: req.id, status: 'failed', error: `no test named "${wanted}" in ${req.file}`, output: '', durationMs: 0, readSeed: false, maxRssBytes: maxRss() };
  }
  if (t.mode === 'skip' || t.mode === 'todo') {
    return { id: req.id, status: 'skipped', durationMs: 0, readSeed: false, maxRssBytes: maxRss() };
  }
  const seedText = String(req.seed);
  const env = watchSeedReads({ SEED: seedText, ...req.env });
  const capture = captureOutput();
  unhandled = undefined;
  let error: unknown;
  try {
    await shim.runShimTest(t, path.resolve(req.file), { testTimeoutMs: req.testTimeoutMs, hookTimeoutMs: req.hookTimeoutMs });
  } catch (err) {
    error = err;
  } finally {
    capture.stop();
    env.restore();
  }
  // An error nobody awaited fails the run, as vitest reports unhandled errors.
  error ??= unhandled;
  const output = capture.text();
  const facts = simFacts(error === undefined ? output : `${describeError(error)}\n${output}`);
  const base = { id: req.id, durationMs: performance.now() - started, readSeed: env.readSeed(), maxRssBytes: maxRss(), ...facts };
  if (error !== undefined) return { ...base, status: 'failed', error: describeError(error), output };
  return { ...base, status: 'passed' };
}

function maxRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}

process.on('message', (raw: unknown) => {
  const req = raw as WorkerRequest;
  const work = async (): Promise<void> => {
    if (req.type === 'collect') {
      try {
        const file = await loadFile(req.file);
        send({ type: 'collected', file: req.file, tests: file.tests.map((t) => ({ names: [...t.names], mode: t.mode })) });
      } catch (err) {
        send({ type: 'collected', file: req.file, tests: [], error: describeError(err) });
      }
    } else if (req.type === 'run') {
      send({ type: 'result', result: sign(await run(req), req.seed) });
    }
  };
  work().catch((err: unknown) => {
    console.error(`grader worker: ${describeError(err)}`);
    process.exit(70);
  });
});

// The grader went away (even if it was killed outright): so does the worker.
process.on('disconnect', () => process.exit(0));

send({ type: 'ready', pid: process.pid });
