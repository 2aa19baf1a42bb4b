/**
 * An empty peer's vote survives a restart of its store, even over the tombstone of an older peer of the same
 * region (found by a grading sweep of the reference: seed 2444640215 of TestConfChangeUnreliable3B).
 *
 * Store 5's peer of region 1 is removed (its region state becomes a Tombstone), then a new peer is added on
 * store 5, but no snapshot reaches it: it stays empty. An election makes it vote, so its raft state (term
 * and vote) is on disk beside the tombstone. That is legitimate, not a destroy's leftover: the store's
 * invariants hold, and after a restart of store 5 the vote is still there, so the peer, created again by
 * the next message, cannot vote twice in that term.
 */
import { expect, test } from 'vitest';
import { eraftpb, metapb } from '#proto';
import { getRaftLocalState } from '@impl/kv/raftstore/meta.ts';
import { bytes, runClusterTest } from '../../cluster/index.ts';
import { checkStoreInvariants } from '../../cluster/invariants.ts';
import type { RaftMessage } from '../../cluster/raft-network.ts';
import { dropWhere } from '../../sim/index.ts';

const newPeer = (storeId: number, id: number) => metapb.Peer({ id, storeId });

test('an empty peer keeps its vote across a restart, over the tombstone of an older peer of its region', () =>
  runClusterTest(
    { stores: 5 },
    async (cluster, sim) => {
      await cluster.mustTransferLeader(1, newPeer(1, 1));
      await cluster.mustRemovePeer(1, newPeer(5, 5));
      await cluster.mustPut(bytes('k'), bytes('v'));
      // No snapshot reaches store 5: its next peer of region 1 stays empty.
      cluster.addFilter(dropWhere<RaftMessage>('snapshots to store 5', ({ to, msg }) => to === 5 && msg.message?.msgType === eraftpb.MessageType.MsgSnapshot));
      const fresh = cluster.allocPeer(5);
      await cluster.mustAddPeer(1, fresh);
      // An election: the leader hands over, the candidate asks every member for its vote, the empty one too.
      await cluster.mustTransferLeader(1, newPeer(2, 2));
      await sim.sleep(500);
      const voted = await getRaftLocalState(cluster.engines(5)!.raft, 1);
      expect(voted?.hardState?.vote, "store 5's empty peer voted in the election").toBe(2);
      expect(voted?.lastIndex).toBe(0);
      await checkStoreInvariants(cluster);

      await cluster.restartStore(5);
      const after = await getRaftLocalState(cluster.engines(5)!.raft, 1);
      expect(after?.hardState?.term).toBe(voted!.hardState!.term);
      expect(after?.hardState?.vote).toBe(voted!.hardState!.vote);
      await checkStoreInvariants(cluster);
    },
    { maxVirtualMs: 120_000, seed: 1 },
  ));
