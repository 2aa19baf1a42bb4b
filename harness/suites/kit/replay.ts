/**
 * The determinism check the kit runs on whole cluster scenarios: a run replays from its seed (same trace hash,
 * same number of events, same virtual time) and another seed gives another run.
 */
import { expect } from 'vitest';
import { testSeed, type SimTestResult } from '../../sim/index.ts';

/** Runs `run` twice with the seed for `label` and once with the next seed; returns the first result. */
export async function expectReplaysFromSeed<T>(label: string, run: (seed: number) => Promise<SimTestResult<T>>): Promise<SimTestResult<T>> {
  const seed = testSeed(label);
  const first = await run(seed);
  const again = await run(seed);
  const different = await run((seed + 1) >>> 0);
  expect(again.traceHash).toBe(first.traceHash);
  expect(again.events).toBe(first.events);
  expect(again.virtualMs).toBe(first.virtualMs);
  expect(again.value).toEqual(first.value);
  expect(different.traceHash).not.toBe(first.traceHash);
  return first;
}
