/**
 * Looking into a store from a test, past raft: reading its kv engine directly (TinyKV's MustGetCfEqual,
 * MustGetCfNone), its raft log's applied and truncated indexes, and which store leads a region.
 */
import type { ColumnFamily } from '@impl/kv/storage/storage.ts';
import { bytesEqual } from '@impl/util/bytes.ts';
import type { Cluster } from './cluster.ts';
import { ClusterCheckError } from './errors.ts';
import { showKey, showRegion } from './keys.ts';

/** Polls of a store's engine: up to 6 virtual seconds, as TinyKV. */
const ENGINE_POLLS = 300;
const ENGINE_POLL_MS = 20;

/** The raft log of a region on a store, as the raftstore reports it. */
export interface ApplyStateView {
  appliedIndex: number;
  truncatedIndex: number;
  truncatedTerm: number;
}

/** Read `key` of `cf` straight from store `id`'s kv engine; undefined when absent or the store is down. */
export async function engineGetCF(cluster: Cluster, id: number, cf: ColumnFamily, key: Uint8Array): Promise<Uint8Array | undefined> {
  const engines = cluster.engines(id);
  if (engines === undefined) return undefined;
  return engines.kv.getCF(cf, key);
}

/** Poll store `id`'s engine until `key` of `cf` holds `value` (up to 6 virtual seconds, as TinyKV). */
export async function mustGetCfEqual(cluster: Cluster, id: number, cf: ColumnFamily, key: Uint8Array, value: Uint8Array): Promise<void> {
  let last: Uint8Array | undefined;
  for (let i = 0; i < ENGINE_POLLS; i++) {
    last = await engineGetCF(cluster, id, cf, key);
    if (last !== undefined && bytesEqual(last, value)) return;
    await cluster.sim.sleep(ENGINE_POLL_MS);
  }
  throw new ClusterCheckError(
    `store ${id}: ${cf} ${showKey(key)} should be ${showKey(value)} but is ${last === undefined ? 'absent' : showKey(last)} ` +
      `after ${ENGINE_POLLS * ENGINE_POLL_MS} ms`,
  );
}

/** Poll store `id`'s engine until `key` of `cf` is absent (up to 6 virtual seconds). */
export async function mustGetCfNone(cluster: Cluster, id: number, cf: ColumnFamily, key: Uint8Array): Promise<void> {
  let last: Uint8Array | undefined;
  for (let i = 0; i < ENGINE_POLLS; i++) {
    if (cluster.engines(id) !== undefined) {
      last = await engineGetCF(cluster, id, cf, key);
      if (last === undefined) return;
    }
    await cluster.sim.sleep(ENGINE_POLL_MS);
  }
  throw new ClusterCheckError(
    `store ${id}: ${cf} ${showKey(key)} should be absent but is ${last === undefined ? 'unreadable (store down)' : showKey(last)} ` +
      `after ${ENGINE_POLLS * ENGINE_POLL_MS} ms`,
  );
}

/** Applied and truncated index of region `regionId` on store `id` (undefined: down, or no such peer). */
export function applyState(cluster: Cluster, id: number, regionId: number): ApplyStateView | undefined {
  if (!cluster.isUp(id)) return undefined;
  return cluster.raftstore(id).applyStateOf(regionId);
}

/** Entries kept in the raft log of region `regionId` on store `id`: applied index - truncated index. */
export function raftLogSize(cluster: Cluster, id: number, regionId: number): number | undefined {
  const state = applyState(cluster, id, regionId);
  return state === undefined ? undefined : state.appliedIndex - state.truncatedIndex;
}

/**
 * The store among `among` whose peer of region `regionId` leads at the highest term, if any (a cut-off
 * old leader may still think it leads; the highest term is the one that counts).
 */
export function leaderStore(cluster: Cluster, regionId: number, among: readonly number[]): number | undefined {
  let best: number | undefined;
  let bestTerm = -1;
  for (const id of among) {
    if (!cluster.isUp(id)) continue;
    const store = cluster.raftstore(id);
    const term = store.raftStatusOf(regionId)?.term ?? -1;
    if (store.isLeader(regionId) && term > bestTerm) {
      best = id;
      bestTerm = term;
    }
  }
  return best;
}

/** Wait, in virtual time, until a store among `among` leads region `regionId` (see leaderStore); its id. */
export async function waitForLeaderStore(cluster: Cluster, regionId: number, among: readonly number[], timeoutMs: number): Promise<number> {
  await cluster.sim.waitUntil(`a leader of region ${regionId}`, () => leaderStore(cluster, regionId, among) !== undefined, { timeoutMs });
  const leader = leaderStore(cluster, regionId, among);
  if (leader === undefined) throw new ClusterCheckError(`no leader of region ${regionId} among stores ${among.join(', ')} after ${timeoutMs} virtual ms`);
  return leader;
}

/**
 * Every store's raft state at this moment, for a failure block: per store, up or down, and per peer its
 * role, term, leader, commit, applied and last index, and its region (range, epoch, members).
 */
export function describeClusterState(cluster: Cluster): string {
  const lines: string[] = [];
  for (const id of cluster.storeIds()) {
    if (!cluster.isUp(id)) {
      lines.push(`  store ${id}: down`);
      continue;
    }
    const store = cluster.raftstore(id);
    const peers = store.metaView().peers;
    lines.push(`  store ${id}: ${peers.length} peer(s)`);
    for (const { region, peerId, initialized } of peers) {
      const s = store.raftStatusOf(region.id);
      const raft =
        s === undefined
          ? 'no raft state'
          : `${s.role.toLowerCase()} term ${s.term} leader ${s.leaderId === 0 ? 'none' : s.leaderId} commit ${s.commit} applied ${s.applied} last ${s.lastIndex}`;
      lines.push(`    peer ${peerId}: ${raft}; ${initialized ? showRegion(region) : `region ${region.id} (not initialized: no data yet)`}`);
    }
  }
  return lines.join('\n');
}
