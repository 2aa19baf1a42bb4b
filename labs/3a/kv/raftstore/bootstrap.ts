/**
 * Bootstrap: giving a fresh store its identity, and writing the first region's state before the stores start.
 *
 * A cluster starts with one region covering every key, with a peer on each store. Each store's engines get
 * that region's local state and its initial raft and apply states (the log starts at RAFT_INIT_LOG_INDEX), so
 * when the stores start they load the region from disk like any other — never from configuration.
 */
import { decode, encode, metapb, raft_serverpb } from '#proto';
import { WriteBatch, type Engine } from '../storage/engine.ts';
import { COLUMN_FAMILIES } from '../storage/storage.ts';
import type { Engines } from './engines.ts';
import { applyStateKey, PREPARE_BOOTSTRAP_KEY, raftStateKey, regionStateKey, STORE_IDENT_KEY } from './keys.ts';
import {
  getRegionLocalState,
  getStoreIdent,
  INIT_EPOCH_CONF_VER,
  INIT_EPOCH_VER,
  initialApplyState,
  initialRaftState,
  writeApplyState,
  writeRaftState,
  writeRegionState,
} from './meta.ts';
import { cloneRegion } from './region-util.ts';

export class BootstrapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BootstrapError';
  }
}

/** True when the engine holds no key at all (meta range and every column family). */
async function isEngineEmpty(engine: Engine): Promise<boolean> {
  const iterators = [engine.iterMeta(), ...COLUMN_FAMILIES.map((cf) => engine.iterCF(cf))];
  try {
    for (const it of iterators) {
      await it.seek(new Uint8Array(0));
      if (it.valid()) return false;
    }
    return true;
  } finally {
    for (const it of iterators) await it.close();
  }
}

/** Writes the store ident. Fails if the store is already bootstrapped or either engine holds any data. */
export async function bootstrapStore(engines: Engines, clusterId: number, storeId: number): Promise<void> {
  if (!Number.isInteger(storeId) || storeId <= 0) throw new BootstrapError(`store id must be a positive integer, got ${storeId}`);
  if (!Number.isInteger(clusterId) || clusterId < 0) throw new BootstrapError(`cluster id must be a non-negative integer, got ${clusterId}`);
  const ident = await getStoreIdent(engines.kv);
  if (ident !== undefined) {
    throw new BootstrapError(`the store is already bootstrapped (cluster ${ident.clusterId}, store ${ident.storeId})`);
  }
  if (!(await isEngineEmpty(engines.kv))) throw new BootstrapError('cannot bootstrap a store: the kv engine is not empty');
  if (!(await isEngineEmpty(engines.raft))) throw new BootstrapError('cannot bootstrap a store: the raft engine is not empty');
  const wb = new WriteBatch();
  wb.putMeta(STORE_IDENT_KEY, encode('raft_serverpb.StoreIdent', raft_serverpb.StoreIdent({ clusterId, storeId })));
  await engines.kv.write(wb);
}

/** True once bootstrapStore has written the store ident. */
export async function isBootstrapped(engines: Engines): Promise<boolean> {
  return (await getStoreIdent(engines.kv)) !== undefined;
}

/**
 * Writes the first region's local state, apply state and raft state. The store must be bootstrapped, must
 * have a peer in `region`, and must not know the region yet.
 */
export async function prepareBootstrapRegion(engines: Engines, region: metapb.Region): Promise<void> {
  const ident = await getStoreIdent(engines.kv);
  if (ident === undefined) throw new BootstrapError('bootstrapStore must run before prepareBootstrapRegion');
  if (!Number.isInteger(region.id) || region.id <= 0) throw new BootstrapError(`region id must be a positive integer, got ${region.id}`);
  if (!region.peers.some((p) => p.storeId === ident.storeId)) {
    throw new BootstrapError(`region ${region.id} has no peer on store ${ident.storeId}`);
  }
  const ids = region.peers.map((p) => p.id);
  if (ids.some((id) => !Number.isInteger(id) || id <= 0) || new Set(ids).size !== ids.length) {
    throw new BootstrapError(`region ${region.id} needs distinct positive peer ids, got [${ids.join(', ')}]`);
  }
  if ((await getRegionLocalState(engines.kv, region.id)) !== undefined) {
    throw new BootstrapError(`region ${region.id} already exists on store ${ident.storeId}`);
  }
  const kvWB = new WriteBatch();
  writeRegionState(kvWB, cloneRegion(region), raft_serverpb.PeerState.Normal);
  writeApplyState(kvWB, region.id, initialApplyState());
  const raftWB = new WriteBatch();
  writeRaftState(raftWB, region.id, initialRaftState());
  // Raft state first: a region state without its raft state would be loaded as a broken peer.
  await engines.raft.write(raftWB);
  await engines.kv.write(kvWB);
}

/** The first region of a new cluster: id 1, every key, one peer per store (peer id = store id, as TinyKV's tests). */
export function firstRegion(storeIds: number[], regionId = 1): metapb.Region {
  return metapb.Region({
    id: regionId,
    startKey: new Uint8Array(0),
    endKey: new Uint8Array(0),
    regionEpoch: metapb.RegionEpoch({ version: INIT_EPOCH_VER, confVer: INIT_EPOCH_CONF_VER }),
    peers: storeIds.map((id) => metapb.Peer({ id, storeId: id })),
  });
}

// ---------------------------------------------------------------------------------------------------------
// A real cluster's first region. The first store to start finds the scheduler not bootstrapped: it prepares
// a region of its own (one peer) with a marker, then asks the scheduler to bootstrap. If another store won the
// race, it removes what it prepared; if it crashed in between, the marker tells it, at the next start, to
// settle the matter (settleBootstrap in kv/server/store-node.ts).

/** Prepares `region` as prepareBootstrapRegion does, and marks it as not yet settled with the scheduler. */
export async function prepareClusterBootstrap(engines: Engines, region: metapb.Region): Promise<void> {
  const marker = new WriteBatch();
  marker.putMeta(PREPARE_BOOTSTRAP_KEY, encode('metapb.Region', region));
  await engines.kv.write(marker);
  await prepareBootstrapRegion(engines, region);
}

/** The region prepareClusterBootstrap marked, if it is not settled yet. */
export async function preparedBootstrapRegion(engines: Engines): Promise<metapb.Region | undefined> {
  const bytes = await engines.kv.getMeta(PREPARE_BOOTSTRAP_KEY);
  return bytes === undefined ? undefined : decode('metapb.Region', bytes);
}

/** This store bootstrapped the cluster: the region stays, the marker goes. */
export async function keepPreparedRegion(engines: Engines): Promise<void> {
  await engines.kv.write(new WriteBatch().deleteMeta(PREPARE_BOOTSTRAP_KEY));
}

/** Another store bootstrapped the cluster: the prepared region and the marker go. */
export async function dropPreparedRegion(engines: Engines, regionId: number): Promise<void> {
  await engines.raft.write(new WriteBatch().deleteMeta(raftStateKey(regionId)));
  await engines.kv.write(new WriteBatch().deleteMeta(regionStateKey(regionId)).deleteMeta(applyStateKey(regionId)).deleteMeta(PREPARE_BOOTSTRAP_KEY));
}
