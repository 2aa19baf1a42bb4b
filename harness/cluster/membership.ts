/**
 * Membership and leadership of regions for tests (3B): new peers, adding and removing them through
 * scheduler operators, and leader transfers; each waits, in virtual time, until the scheduler's view shows
 * the change done (TinyKV's MustAddPeer, MustRemovePeer, MustTransferLeader...).
 */
import { metapb, raft_cmdpb } from '#proto';
import { findPeerOnStore } from '@impl/kv/raftstore/region-util.ts';
import type { Cluster } from './cluster.ts';
import { ClusterCheckError } from './errors.ts';
import { samePeer, showRegion } from './keys.ts';
import { LEADER_POLL_MS, leaderOfRegion } from './regions.ts';

const { AdminCmdType } = raft_cmdpb;

/** How long a membership change may take by default (TinyKV: 500 polls 10 ms apart). */
const MEMBERSHIP_WAIT_MS = 5000;

/** A new peer on `storeId` with a fresh id (TinyKV's AllocPeer). */
export function allocPeer(cluster: Cluster, storeId: number): metapb.Peer {
  return metapb.Peer({ id: cluster.scheduler.allocId(), storeId });
}

/** Ask the region's leader to hand leadership to `peer` (an admin TransferLeader command). */
export async function transferLeader(cluster: Cluster, regionId: number, peer: metapb.Peer): Promise<void> {
  const admin = raft_cmdpb.AdminRequest({
    cmdType: AdminCmdType.TransferLeader,
    transferLeader: raft_cmdpb.TransferLeaderRequest({ peer }),
  });
  const result = await cluster.adminRequest(regionId, admin);
  const type = result.response.adminResponse?.cmdType;
  if (type !== AdminCmdType.TransferLeader) {
    throw new ClusterCheckError(`transfer leader of region ${regionId}: the response's admin type is ${type === undefined ? 'missing' : AdminCmdType[type]}`);
  }
}

/** Transfer leadership until the scheduler reports `peer` as leader, within 5 virtual seconds. */
export async function mustTransferLeader(cluster: Cluster, regionId: number, peer: metapb.Peer): Promise<void> {
  const started = cluster.sim.now();
  for (;;) {
    const current = await leaderOfRegion(cluster, regionId);
    if (samePeer(current, peer)) return;
    if (cluster.sim.now() - started > 5000) {
      throw new ClusterCheckError(`failed to transfer the leadership of region ${regionId} to peer ${peer.id} on store ${peer.storeId}`);
    }
    await transferLeader(cluster, regionId, peer);
    await cluster.sim.sleep(50);
  }
}

/**
 * Schedule adding `peer` (a scheduler operator) and wait until the scheduler's region has it, for up to
 * `timeoutMs` virtual ms (default 5 s, as TinyKV's tests; under partitions a correct cluster may need longer).
 */
export async function mustAddPeer(cluster: Cluster, regionId: number, peer: metapb.Peer, timeoutMs = MEMBERSHIP_WAIT_MS): Promise<void> {
  cluster.scheduler.addPeer(regionId, peer);
  await mustHavePeer(cluster, regionId, peer, timeoutMs);
}

/** Schedule removing `peer` and wait until the scheduler's region no longer has it (timeout as mustAddPeer). */
export async function mustRemovePeer(cluster: Cluster, regionId: number, peer: metapb.Peer, timeoutMs = MEMBERSHIP_WAIT_MS): Promise<void> {
  cluster.scheduler.removePeer(regionId, peer);
  await mustNonePeer(cluster, regionId, peer, timeoutMs);
}

export async function mustHavePeer(cluster: Cluster, regionId: number, peer: metapb.Peer, timeoutMs = MEMBERSHIP_WAIT_MS): Promise<void> {
  await pollMembership(
    cluster,
    regionId,
    timeoutMs,
    (region) => findPeerOnStore(region, peer.storeId)?.id === peer.id,
    `still has no peer ${peer.id} on store ${peer.storeId}`,
  );
}

export async function mustNonePeer(cluster: Cluster, regionId: number, peer: metapb.Peer, timeoutMs = MEMBERSHIP_WAIT_MS): Promise<void> {
  await pollMembership(
    cluster,
    regionId,
    timeoutMs,
    (region) => findPeerOnStore(region, peer.storeId)?.id !== peer.id,
    `still has peer ${peer.id} on store ${peer.storeId}`,
  );
}

/** Poll the scheduler's region every 10 virtual ms until `done` holds; after `timeoutMs`, fail with `problem`. */
async function pollMembership(
  cluster: Cluster,
  regionId: number,
  timeoutMs: number,
  done: (region: metapb.Region) => boolean,
  problem: string,
): Promise<void> {
  const started = cluster.sim.now();
  for (;;) {
    const region = cluster.regionById(regionId);
    if (region !== undefined && done(region)) return;
    if (cluster.sim.now() - started >= timeoutMs) {
      const op = cluster.scheduler.describeOperator(regionId);
      throw new ClusterCheckError(
        `region ${regionId} ${problem} after ${timeoutMs} ms (the scheduler knows ${region === undefined ? 'no such region' : showRegion(region)}` +
          `${op === undefined ? '' : `; its operator: ${op}`})`,
      );
    }
    await cluster.sim.sleep(LEADER_POLL_MS);
  }
}
