// Project 2B, cluster level: power cuts in the middle of a store's work, and a deposed leader's proposals.
//
// A crash between two events only ever shows a store whose handling of a Ready ran to its end, so the order
// inside that handling (persist the log and hard state, THEN send, THEN apply) goes untested. Here a store
// loses power just before one of its raft-engine writes (harness/cluster/power-cut.ts): what it sent or
// applied before that point survives, the write does not. Every scenario is seeded (SEED; printed by
// runClusterTest) and replays exactly.
import { expect, test } from 'vitest';
import { WaitTimeoutError, type Sim } from '../../sim/index.ts';
import { bytes, putRequest, runClusterTest } from '../../cluster/index.ts';
import { cutPowerBeforeRaftWrite } from '../../cluster/power-cut.ts';
import type { CommandResult } from '@impl/kv/raftstore/raftstore.ts';

const REGION = 1;

/** The answer to `pending` if it comes within `timeoutMs` virtual ms, else undefined. */
async function answerWithin(sim: Sim, pending: Promise<CommandResult>, timeoutMs: number, label: string): Promise<CommandResult | undefined> {
  try {
    return await sim.waitFor(pending, { timeoutMs, label });
  } catch (err) {
    if (err instanceof WaitTimeoutError) return undefined;
    throw err;
  }
}

// catches known bug 20: committed entries applied before the Ready's entries and hard state are persisted
// (20-apply-before-persist). The power goes just before a follower's raft write that follows an apply; with
// the bug the kv engine then holds an applied index beyond the commit the raft engine knows, and the store
// cannot start again (or starts on a log that lacks what it applied).
test('TestPowerCutBeforeLogWriteAfterApply2B', () =>
  runClusterTest(
    { stores: 3 },
    async (cluster, sim) => {
      for (let i = 0; i < 3; i++) await cluster.mustPut(bytes(`k${i}`), bytes(`v${i}`));
      const leader = await cluster.waitForLeaderStore(REGION);
      const follower = cluster.storeIds().find((id) => id !== leader)!;

      // Cut the follower's power before the first raft write that comes after an apply (a kv batch written
      // since its previous raft write).
      const kv = cluster.engines(follower)!.kv;
      let kvBatchesAtLastRaftWrite = kv.stats.batches;
      const cut = cutPowerBeforeRaftWrite(sim, follower, cluster.engines(follower)!, {
        reason: 'before the raft write that follows an apply',
        when: () => {
          const appliedSince = kv.stats.batches > kvBatchesAtLastRaftWrite;
          kvBatchesAtLastRaftWrite = kv.stats.batches;
          return appliedSince;
        },
      });
      for (let i = 3; i < 8; i++) await cluster.mustPut(bytes(`k${i}`), bytes(`v${i}`));
      const fired = await sim.waitUntil('the power cut of the follower', () => cut.fired, { timeoutMs: 5000 });
      expect(fired).toBe(true);
      expect(cluster.isUp(follower)).toBe(false);

      // The cluster goes on with two stores; then the follower must start again from what it had on disk.
      await cluster.mustPut(bytes('k8'), bytes('v8'));
      await cluster.startStore(follower);
      expect(cluster.raftstore(follower).regionIds()).toEqual([REGION]);
      await cluster.mustPut(bytes('k9'), bytes('v9'));

      // Every acknowledged write is there, on the restarted follower too (it catches up).
      for (let i = 0; i < 10; i++) await cluster.mustGet(bytes(`k${i}`), bytes(`v${i}`));
      for (let i = 0; i < 10; i++) await cluster.mustGetEqual(follower, bytes(`k${i}`), bytes(`v${i}`));
    },
    { maxVirtualMs: 120_000 },
  ));

// catches known bug 20: a Ready's messages sent before its entries and hard state are persisted
// (20-send-before-persist). A follower acknowledges an entry, then loses power before writing it; the leader
// counts that acknowledgement, commits and answers the client, then dies. The two survivors never had the
// entry: an acknowledged write is lost.
test('TestAckedEntryLostWhenSentBeforePersist2B', () =>
  runClusterTest(
    { stores: 3 },
    async (cluster, sim) => {
      await cluster.mustPut(bytes('a'), bytes('1'));
      const leader = await cluster.waitForLeaderStore(REGION);
      const [f1, f2] = cluster.storeIds().filter((id) => id !== leader) as [number, number];

      // Only f1 can make a majority with the leader, and f1 loses power before writing the next entries it
      // receives (a write carrying entries: the entries plus the raft state, more than one change).
      const cutOff = cluster.partition([f2], [leader, f1]);
      const cut = cutPowerBeforeRaftWrite(sim, f1, cluster.engines(f1)!, {
        reason: 'before writing received entries',
        when: (batch) => batch.count > 1,
      });
      const pending = cluster.sendToStore(leader, REGION, [putRequest(bytes('x'), bytes('acked'))]);
      const fired = await sim.waitUntil('the power cut of f1', () => cut.fired, { timeoutMs: 5000 });
      expect(fired).toBe(true);
      // Correct stores cannot commit x now (f1 never acknowledged it, f2 is cut off): no answer comes.
      const answer = await answerWithin(sim, pending, 2000, 'the answer to put x');
      const acknowledged = answer !== undefined && answer.response.header?.error === undefined;

      // The leader dies; f1 comes back and the two survivors elect a leader between them.
      await cluster.stopStore(leader);
      cutOff.remove();
      await cluster.startStore(f1);
      await cluster.waitForLeaderStore(REGION, [f1, f2]);
      await cluster.mustPut(bytes('b'), bytes('2'));
      await cluster.mustGet(bytes('a'), bytes('1'));
      if (acknowledged) await cluster.mustGet(bytes('x'), bytes('acked'));
      else await cluster.mustGetNone(bytes('x')); // only the dead leader ever had x in its log

      // The old leader comes back and agrees.
      await cluster.startStore(leader);
      await cluster.mustGetEqual(leader, bytes('b'), bytes('2'));
      if (acknowledged) await cluster.mustGetEqual(leader, bytes('x'), bytes('acked'));
    },
    { maxVirtualMs: 120_000 },
  ));

// catches known bug 22: a proposal matched to the applied entry by its index only, not index and term
// (22-proposal-matched-by-index). A leader cut off from the majority takes three proposals; the majority's new
// leader fills those indexes with its own no-op and data entries. When the old leader applies them, each of its
// proposals must be answered StaleCommand, never with the answer of the entry that took its place.
test('TestStaleProposalMatchedByTerm2B', () =>
  runClusterTest(
    { stores: 3 },
    async (cluster, sim) => {
      await cluster.mustPut(bytes('a'), bytes('1'));
      const oldLeader = await cluster.waitForLeaderStore(REGION);
      const others = cluster.storeIds().filter((id) => id !== oldLeader);
      const cutOff = cluster.partition([oldLeader], others);

      // The cut-off leader still takes proposals (at the next three indexes of its term) but cannot commit them.
      const lost = [0, 1, 2].map((i) => cluster.sendToStore(oldLeader, REGION, [putRequest(bytes(`lost${i}`), bytes('never'))]));
      // The majority elects a new leader, whose no-op and puts take those indexes in a later term.
      const newLeader = await cluster.waitForLeaderStore(REGION, others);
      for (let i = 0; i < 4; i++) await cluster.mustPut(bytes(`b${i}`), bytes(`${i}`));
      expect(cluster.leaderStore(REGION)).toBe(newLeader);
      cutOff.remove();

      for (const [i, pending] of lost.entries()) {
        const result = await sim.waitFor(pending, { timeoutMs: 10_000, label: `the answer to put lost${i}` });
        const error = result.response.header?.error;
        expect(error, `put lost${i} of the deposed leader was answered as a success`).toBeDefined();
        expect(error?.staleCommand, `put lost${i}: expected StaleCommand`).toBeDefined();
      }
      for (let i = 0; i < 3; i++) await cluster.mustGetNone(bytes(`lost${i}`));
      for (let i = 0; i < 4; i++) await cluster.mustGetEqual(oldLeader, bytes(`b${i}`), bytes(`${i}`));
      await cluster.mustGetNoneOnStore(oldLeader, bytes('lost1'));
    },
    { maxVirtualMs: 120_000 },
  ));
