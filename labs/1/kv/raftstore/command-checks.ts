/**
 * The checks a command must pass against its region, when it is proposed and again when its entry is
 * applied (the region may have changed in between): its epoch (epochMismatch) and its requests (well
 * formed, keys inside the region: checkRequests).
 */
import { raft_cmdpb, type errorpb, type metapb } from '#proto';
import { isColumnFamily } from '../storage/storage.ts';
import { keyNotInRegionError, otherError } from './cmd-resp.ts';
import { cfKeyInRegion, cloneEpoch } from './region-util.ts';

const { CmdType } = raft_cmdpb;

/**
 * Which epoch counters a command must match: data commands and splits depend on the range (version),
 * membership changes and splits on the members (conf_ver); a log compaction depends on neither.
 */
function epochChecksFor(req: raft_cmdpb.RaftCmdRequest): { version: boolean; confVer: boolean } {
  const admin = req.adminRequest;
  if (admin === undefined) return { version: true, confVer: false };
  switch (admin.cmdType) {
    case raft_cmdpb.AdminCmdType.ChangePeer:
      return { version: false, confVer: true };
    case raft_cmdpb.AdminCmdType.Split:
    case raft_cmdpb.AdminCmdType.TransferLeader:
      return { version: true, confVer: true };
    default:
      return { version: false, confVer: false };
  }
}

/** True when the command's epoch does not match the region's in a counter the command depends on. */
export function epochMismatch(req: raft_cmdpb.RaftCmdRequest, region: metapb.Region): boolean {
  const checks = epochChecksFor(req);
  if (!checks.version && !checks.confVer) return false;
  const from = cloneEpoch(req.header?.regionEpoch);
  const current = cloneEpoch(region.regionEpoch);
  return (checks.confVer && from.confVer !== current.confVer) || (checks.version && from.version !== current.version);
}

/** The key a data request touches (undefined for Snap, which reads the whole region). */
function keyOf(req: raft_cmdpb.Request): Uint8Array | undefined {
  switch (req.cmdType) {
    case CmdType.Get:
      return req.get?.key;
    case CmdType.Put:
      return req.put?.key;
    case CmdType.Delete:
      return req.delete?.key;
    default:
      return undefined;
  }
}

function cfOf(req: raft_cmdpb.Request): string | undefined {
  switch (req.cmdType) {
    case CmdType.Get:
      return req.get?.cf;
    case CmdType.Put:
      return req.put?.cf;
    case CmdType.Delete:
      return req.delete?.cf;
    default:
      return undefined;
  }
}

/**
 * Checks data requests against `region`: each is well formed (its body present, a known column family)
 * and its key lies in the region. Returns the first problem as a region error, or undefined.
 */
export function checkRequests(requests: raft_cmdpb.Request[], region: metapb.Region): errorpb.Error | undefined {
  for (const r of requests) {
    switch (r.cmdType) {
      case CmdType.Get:
      case CmdType.Put:
      case CmdType.Delete: {
        const key = keyOf(r);
        const cf = cfOf(r);
        if (key === undefined || cf === undefined) return otherError(`${CmdType[r.cmdType]} request without its body`);
        if (!isColumnFamily(cf)) return otherError(`unknown column family ${JSON.stringify(cf)}`);
        if (r.cmdType === CmdType.Put && r.put!.value === undefined) return otherError('Put request without a value');
        if (!cfKeyInRegion(cf, key, region)) return keyNotInRegionError(key, region);
        break;
      }
      case CmdType.Snap:
        break; // no key: a Snap reads the whole region
      default:
        return otherError(`unknown request type ${String(r.cmdType)}`);
    }
  }
  return undefined;
}
