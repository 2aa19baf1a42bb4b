/**
 * runSimTest: the frame of a simulated test under vitest.
 *
 *   test('TestBasic2B', () =>
 *     runSimTest(async (sim) => {
 *       ... build nodes, run clients, assert ...
 *     }, { maxVirtualMs: 60_000 }));
 *
 * It picks the seed (SEED or fresh, printed), streams the full trace to .tmp/traces/<test>-<seed>.jsonl,
 * runs the body as the simulation's main client actor, and prints the seed and trace hash. On failure the
 * error's message gains the failure block (seed, replay command, last events, trace file) and the trace file
 * is kept; on success it is deleted unless KEEP_TRACE is set.
 */
import { rmSync } from 'node:fs';
import { expect } from 'vitest';
import { LAST_EVENTS_HEADING, SimError } from './errors.ts';
import { basename, dirname } from 'node:path';
import { RETENTION, prune } from '../retention.ts';
import { formatFailure, testSeed, tracePath } from './report.ts';
import { Sim, type SimOptions } from './sim.ts';

export interface SimTestOptions extends Omit<SimOptions, 'seed' | 'traceFile'> {
  /** Virtual time budget of the whole test body. */
  maxVirtualMs: number;
  /** Use this seed instead of SEED / a fresh one (for the kit's own tests). */
  seed?: number;
  /** Write the full trace file (default true). */
  traceToFile?: boolean;
  /** On failure, the state of the system under test, for the failure block (see formatFailure's `state`). */
  describeState?: () => string;
}

/** What a finished simulated test reports. */
export interface SimTestResult<T> {
  value: T;
  seed: number;
  traceHash: string;
  events: number;
  virtualMs: number;
}

export async function runSimTest<T>(body: (sim: Sim) => Promise<T>, options: SimTestOptions): Promise<SimTestResult<T>> {
  const state = expect.getState();
  const testName = state.currentTestName ?? 'unnamed test';
  const testFile = state.testPath ?? 'unknown-file';
  const seed = options.seed ?? testSeed(testName);
  const traceFile = options.traceToFile === false ? undefined : tracePath(testName, seed);
  const { maxVirtualMs, seed: _seed, traceToFile: _toFile, describeState, ...simOptions } = options;
  const sim = new Sim({ ...simOptions, seed, traceFile });
  try {
    const value = await sim.main(() => body(sim), { maxVirtualMs });
    sim.close();
    const result = { value, seed, traceHash: sim.traceHash(), events: sim.trace.count, virtualMs: sim.now() };
    console.log(`[sim] ${testName}: passed; seed ${seed}, trace hash ${result.traceHash}, ${result.events} events, ${result.virtualMs} virtual ms`);
    if (traceFile !== undefined) {
      // A passing run keeps its trace only when asked (KEEP_TRACE=1), and then within the same bound.
      if (process.env.KEEP_TRACE) prune(dirname(traceFile), RETENTION.traces, [basename(traceFile)]);
      else rmSync(traceFile, { force: true });
    }
    return result;
  } catch (err) {
    // Read before anything is closed: the stores are still as they were when the test failed.
    let state: string | undefined;
    try {
      state = describeState?.();
    } catch (describeErr) {
      state = `  (could not describe the state: ${describeErr instanceof Error ? describeErr.message : String(describeErr)})`;
    }
    sim.close();
    if (err instanceof SimError) {
      // The block below lists the last events; drop the shorter list the error's message carries.
      err.message = err.message.split(LAST_EVENTS_HEADING)[0]!;
    }
    const block = formatFailure({
      testFile,
      testName,
      seed,
      error: err,
      traceHash: sim.traceHash(),
      lastEvents: sim.lastEvents(),
      traceFile,
      virtualTime: sim.now(),
      state,
      omitError: err instanceof Error,
    });
    // The failure's trace is kept; older ones go (harness/retention.ts).
    if (traceFile !== undefined) prune(dirname(traceFile), RETENTION.traces, [basename(traceFile)]);
    if (err instanceof Error) {
      // Keep the original error (vitest shows its diff); add the replay block to its message.
      err.message = `${err.message}\n\n${block}`;
      throw err;
    }
    throw new Error(`${String(err)}\n\n${block}`, { cause: err });
  }
}
