/**
 * A command sees the writes that come before it in the log, even those applied in the same batch: the
 * requests of one command in their order (a Put then a Get of the same key), and proposals committed in
 * the same Ready (a Get right behind a Put of another client). Applying entries in batches is where the
 * bug hides: a Get or a Snap that reads the engine before the batch holding the earlier writes is written
 * sees the old value.
 */
import { describe, expect, test } from 'vitest';
import type { raft_cmdpb } from '#proto';
import type { CommandResult } from '@impl/kv/raftstore/raftstore.ts';
import { deleteRequest, getRequest } from '../../cluster/requests.ts';
import { bytes, putRequest, runClusterTest, snapRequest, text, type Cluster } from '../../cluster/index.ts';

const REGION = 1;

/** Send `reqs` as one command to the leader and wait for the answer, which must carry no error. */
async function command(cluster: Cluster, leader: number, reqs: raft_cmdpb.Request[]): Promise<CommandResult> {
  const result = await cluster.sim.waitFor(cluster.sendToStore(leader, REGION, reqs), { timeoutMs: 5000, label: 'the command is answered' });
  expect(result.response.header?.error).toBeUndefined();
  return result;
}

/** The value a Get response carries, as text ('' when the key is absent). */
function gotText(result: CommandResult, at: number): string {
  return text(result.response.responses[at]!.get!.value);
}

/** Every key of the default family through a Snap answer's reader (the reader is closed). */
async function scannedKeys(result: CommandResult): Promise<string[]> {
  const reader = result.reader!;
  const keys: string[] = [];
  const it = reader.iterCF('default');
  for (await it.seek(new Uint8Array(0)); it.valid(); await it.next()) keys.push(text(it.item().key));
  await it.close();
  await reader.close();
  return keys;
}

describe('a command sees the writes before it', () => {
  // The requests of one command, in their order.
  test('TestOwnWritesInOneCommand2B', () =>
    runClusterTest(
      { stores: 3 },
      async (cluster) => {
        const leader = await cluster.waitForLeaderStore(REGION, cluster.storeIds(), 5000);
        await cluster.mustPut(bytes('k'), bytes('old'));

        const putGet = await command(cluster, leader, [putRequest(bytes('k'), bytes('v1')), getRequest(bytes('k'))]);
        expect(gotText(putGet, 1)).toBe('v1');

        const overwritten = await command(cluster, leader, [
          putRequest(bytes('k'), bytes('v2')),
          getRequest(bytes('k')),
          deleteRequest(bytes('k')),
          getRequest(bytes('k')),
        ]);
        expect([gotText(overwritten, 1), gotText(overwritten, 3)]).toEqual(['v2', '']);

        const putsThenSnap = await command(cluster, leader, [putRequest(bytes('a'), bytes('1')), putRequest(bytes('b'), bytes('2')), snapRequest()]);
        expect(await scannedKeys(putsThenSnap)).toEqual(['a', 'b']);
      },
      { maxVirtualMs: 30_000 },
    ));

  // Commands proposed together, committed and applied in one batch.
  test('TestOwnWritesInOneReady2B', () =>
    runClusterTest(
      { stores: 3 },
      async (cluster, sim) => {
        const leader = await cluster.waitForLeaderStore(REGION, cluster.storeIds(), 5000);
        await cluster.mustPut(bytes('k'), bytes('old'));
        // Handed to the leader in one instant: they are proposed back to back, committed by the same
        // acknowledgements and applied in one batch.
        const sent = [
          cluster.sendToStore(leader, REGION, [putRequest(bytes('k'), bytes('x'))]),
          cluster.sendToStore(leader, REGION, [getRequest(bytes('k'))]),
          cluster.sendToStore(leader, REGION, [putRequest(bytes('k'), bytes('y'))]),
          cluster.sendToStore(leader, REGION, [snapRequest()]),
          cluster.sendToStore(leader, REGION, [deleteRequest(bytes('k'))]),
          cluster.sendToStore(leader, REGION, [getRequest(bytes('k'))]),
        ];
        const results = await sim.waitFor(Promise.all(sent), { timeoutMs: 5000, label: 'every command is answered' });
        for (const result of results) expect(result.response.header?.error).toBeUndefined();
        expect(gotText(results[1]!, 0)).toBe('x');
        const reader = results[3]!.reader!;
        expect(text((await reader.getCF('default', bytes('k'))) ?? new Uint8Array(0))).toBe('y');
        await reader.close();
        expect(gotText(results[5]!, 0)).toBe('');
      },
      { maxVirtualMs: 30_000 },
    ));
});
