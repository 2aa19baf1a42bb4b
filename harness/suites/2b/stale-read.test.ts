/**
 * A leader cut off from the majority may go on believing it leads (nothing tells it otherwise), but it must
 * not answer a read from its own engine: a new leader on the other side may have committed a newer value
 * meanwhile. A read must go through the log (or a ReadIndex round, or a lease that cannot overlap a new
 * leader's term). The old leader gets no client write here, so an implementation that reads locally "when
 * nothing is pending" is caught too.
 */
import { expect, test } from 'vitest';
import { getRequest } from '../../cluster/requests.ts';
import { bytes, putRequest, runClusterTest, text } from '../../cluster/index.ts';
import { WaitTimeoutError } from '../../sim/index.ts';

const REGION = 1;

test('TestStaleReadFromDeposedLeader2B', () =>
  runClusterTest(
    { stores: 5 },
    async (cluster, sim) => {
      const old = await cluster.waitForLeaderStore(REGION, cluster.storeIds(), 5000);
      await cluster.mustPut(bytes('k'), bytes('v1'));
      // Let every member apply it.
      await sim.sleep(500);

      // The old leader and one follower on one side, the majority on the other.
      const others = cluster.storeIds().filter((id) => id !== old);
      const minority = [old, others[0]!];
      const majority = others.slice(1);
      cluster.partition(minority, majority);
      const fresh = await cluster.waitForLeaderStore(REGION, majority, 10_000);

      // A newer value, committed by the majority's leader (sent to it directly: the old leader must see no
      // client request at all).
      const put = await sim.waitFor(cluster.sendToStore(fresh, REGION, [putRequest(bytes('k'), bytes('v2'))]), {
        timeoutMs: 5000,
        label: 'the new leader commits k = v2',
      });
      expect(put.response.header?.error).toBeUndefined();

      // Now a read at the old leader: no answer, or an error, but never the old value.
      let answer: string;
      try {
        const got = await sim.waitFor(cluster.sendToStore(old, REGION, [getRequest(bytes('k'))]), { timeoutMs: 3000, label: 'the old leader answers a read' });
        const error = got.response.header?.error;
        answer = error !== undefined ? 'an error' : `value ${JSON.stringify(text(got.response.responses[0]?.get?.value ?? new Uint8Array(0)))}`;
      } catch (err) {
        if (!(err instanceof WaitTimeoutError)) throw err;
        answer = 'no answer';
      }
      expect(answer, `store ${old}, the deposed leader, answered a read of k with ${answer} after store ${fresh} committed k = "v2"`).not.toBe('value "v1"');
    },
    { maxVirtualMs: 60_000 },
  ));
