/**
 * Responses to raft commands, and the region errors a store answers with (errorpb, as TinyKV's). A client
 * reads `response.header.error` and retries: elsewhere (NotLeader, RegionNotFound, StoreNotMatch), after
 * refreshing its view of the region (EpochNotMatch, KeyNotInRegion), or simply again (StaleCommand).
 */
import { errorpb, metapb, raft_cmdpb } from '#proto';
import { clonePeer, cloneRegion } from './region-util.ts';

type RaftCmdResponse = raft_cmdpb.RaftCmdResponse;

/** A response carrying `error` and, when known, the current term. */
export function errorResponse(error: errorpb.Error, term = 0): RaftCmdResponse {
  return raft_cmdpb.RaftCmdResponse({ header: raft_cmdpb.RaftResponseHeader({ error, currentTerm: term }) });
}

/** An empty successful response. */
export function newCmdResponse(term = 0): RaftCmdResponse {
  return raft_cmdpb.RaftCmdResponse({ header: raft_cmdpb.RaftResponseHeader({ currentTerm: term }) });
}

export function notLeaderError(regionId: number, leader: metapb.Peer | undefined): errorpb.Error {
  const hint = leader ? ` (the leader is peer ${leader.id} on store ${leader.storeId})` : ' (no leader known)';
  return errorpb.Error({
    message: `this peer of region ${regionId} is not the leader${hint}`,
    notLeader: errorpb.NotLeader({ regionId, leader: leader ? clonePeer(leader) : undefined }),
  });
}

export function regionNotFoundError(regionId: number): errorpb.Error {
  return errorpb.Error({
    message: `region ${regionId} is not found on this store`,
    regionNotFound: errorpb.RegionNotFound({ regionId }),
  });
}

export function storeNotMatchError(requestStoreId: number, actualStoreId: number): errorpb.Error {
  return errorpb.Error({
    message: `the request is for store ${requestStoreId} but reached store ${actualStoreId}`,
    storeNotMatch: errorpb.StoreNotMatch({ requestStoreId, actualStoreId }),
  });
}

export function keyNotInRegionError(key: Uint8Array, region: metapb.Region): errorpb.Error {
  return errorpb.Error({
    message: `key ${Buffer.from(key).toString('hex')} is not in region ${region.id}`,
    keyNotInRegion: errorpb.KeyNotInRegion({
      key: Uint8Array.from(key),
      regionId: region.id,
      startKey: Uint8Array.from(region.startKey),
      endKey: Uint8Array.from(region.endKey),
    }),
  });
}

/** `regions`: what the store knows now (cloned here), so the client can refresh its cache. */
export function epochNotMatchError(message: string, regions: metapb.Region[]): errorpb.Error {
  return errorpb.Error({
    message,
    epochNotMatch: errorpb.EpochNotMatch({ currentRegions: regions.map(cloneRegion) }),
  });
}

export function staleCommandError(reason = 'the command was dropped (the leader changed or its log entry was replaced); retry'): errorpb.Error {
  return errorpb.Error({ message: reason, staleCommand: errorpb.StaleCommand() });
}

/** A refusal that fits none of the specific kinds (bad request, unsupported command). */
export function otherError(message: string): errorpb.Error {
  return errorpb.Error({ message });
}
