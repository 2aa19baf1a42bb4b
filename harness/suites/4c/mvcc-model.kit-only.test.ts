/**
 * 4C, model-based (kit-only: the model is close to a solution, so handouts leave this file out): random
 * sequences of every transactional command, compared after each command with an executable model of the
 * Percolator rules, answers and stored families both. A failure prints a shrunk scenario; SEED replays it.
 */
import { expect, test } from 'vitest';
import { testSeed } from '../../raft-testing/helpers.ts';
import { checkAgainstModel } from '../../txn/model-check.kit-only.ts';

test('TestCommandsMatchModel4C', async () => {
  const problem = await checkAgainstModel('4c', testSeed(), 1000);
  if (problem !== undefined) expect.fail(problem);
});
