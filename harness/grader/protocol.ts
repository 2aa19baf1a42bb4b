/** The messages between the grader (pool.ts) and its workers (worker.ts), over Node's IPC channel. */

/** Collect the tests a file registers. */
export interface CollectRequest {
  readonly type: 'collect';
  readonly file: string;
}

/** Run one test once, with this seed. */
export interface RunRequest {
  readonly type: 'run';
  readonly id: number;
  /** Path of the test file, relative to the repository (the worker's working directory). */
  readonly file: string;
  /** The test's names, outermost describe block first. */
  readonly names: readonly string[];
  readonly seed: number;
  /** More environment for the run (e.g. SWARM=1). */
  readonly env: Readonly<Record<string, string>>;
  readonly testTimeoutMs: number;
  readonly hookTimeoutMs: number;
}

export type WorkerRequest = CollectRequest | RunRequest;

export interface CollectedTest {
  readonly names: readonly string[];
  readonly mode: 'run' | 'skip' | 'todo' | 'only';
}

export interface RunResult {
  readonly id: number;
  readonly status: 'passed' | 'failed' | 'skipped';
  /** What failed: the error and its stack (failed runs). */
  readonly error?: string;
  /** What the run printed (failed runs). */
  readonly output?: string;
  readonly durationMs: number;
  /** Did the test read SEED (or an alias)? A test that never does cannot depend on it. */
  readonly readSeed: boolean;
  /** From the simulation's report, for simulated tests. */
  readonly traceHash?: string;
  readonly virtualMs?: number;
  /** Events the simulation ran (passed simulated runs). */
  readonly events?: number;
  /** The worker's peak resident memory so far. */
  readonly maxRssBytes: number;
  /**
   * HMAC of the verdict (resultSignature) with the secret the worker read at its start, before any code under
   * test was loaded: code under test that sends a result of its own over the channel cannot sign it.
   */
  readonly signature?: string;
}

/** The signed part of a result: which run, and its verdict. */
export function signedText(result: Pick<RunResult, 'id' | 'status'>, seed: number): string {
  return `${result.id}\u0000${seed}\u0000${result.status}`;
}

/** The file descriptor on which a worker finds its signing secret (then closes it). */
export const SECRET_FD = 4;

export type WorkerReply =
  | { readonly type: 'ready'; readonly pid: number }
  | { readonly type: 'collected'; readonly file: string; readonly tests: CollectedTest[]; readonly error?: string }
  | { readonly type: 'result'; readonly result: RunResult };
