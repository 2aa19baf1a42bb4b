/**
 * 4B, property-based: random sequences of the 4B commands (harness/txn/mvcc-commands.ts) must keep the
 * properties of harness/txn/mvcc-properties.ts after every command: all or nothing, repeatable, snapshots
 * hold, committed means visible, a well-formed store. A failure prints the property, a shrunk scenario
 * (transactions and commands) and the SEED that replays it.
 */
import { expect, test } from 'vitest';
import { testSeed } from '../../raft-testing/helpers.ts';
import { checkTxnProperties } from '../../txn/mvcc-properties.ts';

test('TestCommandProperties4B', async () => {
  const problem = await checkTxnProperties('4b', testSeed(), 300);
  if (problem !== undefined) expect.fail(problem);
});
