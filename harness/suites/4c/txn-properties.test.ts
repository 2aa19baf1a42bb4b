/**
 * 4C, property-based: random sequences of the 4C commands (harness/txn/mvcc-commands.ts) must keep the
 * properties of harness/txn/mvcc-properties.ts after every command: all or nothing, repeatable, snapshots
 * hold, committed means visible, a well-formed store, get and scan agree. A failure prints the property,
 * a shrunk scenario (transactions and commands) and the SEED that replays it.
 */
import { expect, test } from 'vitest';
import { testSeed } from '../../raft-testing/helpers.ts';
import { checkTxnProperties } from '../../txn/mvcc-properties.ts';

test('TestCommandProperties4C', async () => {
  const problem = await checkTxnProperties('4c', testSeed(), 300);
  if (problem !== undefined) expect.fail(problem);
});
