/**
 * 4A, model-based (kit-only: the model is close to a solution, so handouts leave this file out): random
 * sequences of MvccTxn's steps (locks, values and write records put and deleted, then looked up at tied,
 * neighbouring and 64-bit timestamps), compared after each step with an executable model, answers and
 * stored families both. A failure prints a shrunk sequence; SEED replays it.
 */
import { expect, test } from 'vitest';
import { testSeed } from '../../raft-testing/helpers.ts';
import { checkPrimitivesAgainstModel } from '../../txn/model-check.kit-only.ts';

test('TestMvccTxnMatchesModel4A', async () => {
  const problem = await checkPrimitivesAgainstModel(testSeed(), 1000);
  if (problem !== undefined) expect.fail(problem);
});
