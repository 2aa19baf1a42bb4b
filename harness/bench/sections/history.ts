/**
 * The linearizability checker's speed (harness/history/linearizability.ts): generated linearizable
 * histories (harness/history/generate.ts) of 10,000 operations, over 100 keys (the aim: under 2 s) and over
 * 10 busier keys, 1-2% of them timed out. Best of three rounds per shape; printed and returned, never asserted.
 */
import { performance } from 'node:perf_hooks';
import { checkKvHistory } from '../../history/linearizability.ts';
import { linearizableHistory } from '../../history/generate.ts';
import { SeededRandom } from '@impl/util/prng.ts';
import type { BenchSection } from '../run.ts';

interface HistoryFigure {
  label: string;
  operations: number;
  keys: number;
  verdict: string;
  steps: number;
  bestMs: number;
}

const SHAPES = [
  { label: '10,000 ops, 100 keys, 8 clients', operations: 10_000, keys: 100, clients: 8, timeoutRate: 0.01 },
  { label: '10,000 ops, 10 keys, 16 clients', operations: 10_000, keys: 10, clients: 16, timeoutRate: 0.02 },
];

export const section: BenchSection = {
  name: 'history',
  description: 'linearizability checker: 10,000-operation histories (aim: < 2 s over 100 keys)',
  async run(): Promise<HistoryFigure[]> {
    const figures: HistoryFigure[] = [];
    for (const [i, shape] of SHAPES.entries()) {
      const rng = new SeededRandom(1000 + i);
      const history = linearizableHistory({ ...shape, random: () => rng.nextFloat() });
      let bestMs = Infinity;
      let result = checkKvHistory(history);
      for (let round = 0; round < 3; round++) {
        const started = performance.now();
        result = checkKvHistory(history);
        bestMs = Math.min(bestMs, performance.now() - started);
      }
      const figure = { label: shape.label, operations: shape.operations, keys: shape.keys, verdict: result.verdict, steps: result.steps, bestMs };
      figures.push(figure);
      console.log(`${shape.label.padEnd(34)} ${result.verdict.padEnd(9)} ${String(result.steps).padStart(8)} steps  ${bestMs.toFixed(0).padStart(6)} ms`);
    }
    return figures;
  },
};
