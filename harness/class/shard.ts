/**
 * Sharding a class grading: the work is every (submission, test, run); shard i of n takes the items whose
 * place in one fixed order is i modulo n. The order (submissions by name, tests as the suites list them, runs
 * in turn) depends only on the inputs, and a run's seed only on the seed base, the test and the run number,
 * so the shards together do exactly the runs of one unsharded grading, with the same seeds.
 */
import type { GradedTest } from '../grader/plan.ts';

export interface Shard {
  /** 0-based: 0 .. count-1 (a Kubernetes Indexed Job's completion index). */
  index: number;
  count: number;
}

export class ShardError extends Error {}

/** "i/n" (0 <= i < n); empty or undefined: the whole work (0/1). */
export function parseShard(text: string | undefined): Shard {
  if (text === undefined || text.trim() === '') return { index: 0, count: 1 };
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new ShardError(`SHARD must look like i/n (for example 0/3), got "${text}"`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index >= count) throw new ShardError(`SHARD=${text}: the index must be 0 .. n-1 and n at least 1`);
  return { index, count };
}

/** For each submission, the run numbers of each test (by test key) that belong to the shard. */
export function shardRuns(shard: Shard, submissions: readonly string[], tests: readonly GradedTest[], runs: number): Map<string, Map<string, number[]>> {
  const out = new Map<string, Map<string, number[]>>();
  let place = 0;
  for (const name of [...submissions].sort()) {
    const perTest = new Map<string, number[]>();
    for (const test of tests) {
      const mine: number[] = [];
      for (let run = 0; run < runs; run++, place++) if (place % shard.count === shard.index) mine.push(run);
      perTest.set(test.key, mine);
    }
    out.set(name, perTest);
  }
  return out;
}
