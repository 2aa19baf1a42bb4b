/**
 * Raft storage (TinyKV's kv/storage/raft_storage): the Storage interface over a raftstore, so the raw and
 * transactional handlers of the server work unchanged on a cluster. A write becomes one raft command of
 * Put/Delete requests, a reader one Snap command; both go to the region the request's context names (its
 * id, epoch and the peer the client believes leads), and a region error in the answer (NotLeader,
 * EpochNotMatch, RegionNotFound, KeyNotInRegion, StaleCommand, StoreNotMatch) is thrown as a RegionError, which
 * the handlers put in the response's region_error for the client to retry elsewhere.
 */
import { raft_cmdpb } from '#proto';
import type { CommandResult } from '../raftstore/callback.ts';
import type { Modify, Storage, StorageContext, StorageReader } from './storage.ts';
import { RegionError } from './errors.ts';

/** What raft storage needs of the raftstore: sendCommand. */
export interface CommandSender {
  sendCommand(req: raft_cmdpb.RaftCmdRequest): Promise<CommandResult>;
}

export class RaftStorage implements Storage {
  constructor(private readonly raftstore: CommandSender) {}

  async start(): Promise<void> {
    // the raftstore is started (and stopped) by the server that owns it
  }

  async stop(): Promise<void> {
    // idem
  }

  async write(ctx: StorageContext | undefined, batch: Modify[]): Promise<void> {
    const requests = batch.map((m) =>
      m.type === 'put'
        ? raft_cmdpb.Request({ cmdType: raft_cmdpb.CmdType.Put, put: raft_cmdpb.PutRequest({ cf: m.cf, key: m.key, value: m.value }) })
        : raft_cmdpb.Request({ cmdType: raft_cmdpb.CmdType.Delete, delete: raft_cmdpb.DeleteRequest({ cf: m.cf, key: m.key }) }),
    );
    const result = await this.raftstore.sendCommand(raft_cmdpb.RaftCmdRequest({ header: header(ctx), requests }));
    await check(result);
  }

  async reader(ctx: StorageContext | undefined): Promise<StorageReader> {
    const snap = raft_cmdpb.Request({ cmdType: raft_cmdpb.CmdType.Snap, snap: raft_cmdpb.SnapRequest() });
    const result = await this.raftstore.sendCommand(raft_cmdpb.RaftCmdRequest({ header: header(ctx), requests: [snap] }));
    await check(result);
    if (result.reader === undefined) throw new Error(`region ${ctx?.regionId ?? 0}: a Snap command answered without a reader`);
    return result.reader;
  }
}

function header(ctx: StorageContext | undefined): raft_cmdpb.RaftRequestHeader {
  return raft_cmdpb.RaftRequestHeader({ regionId: ctx?.regionId ?? 0, peer: ctx?.peer, regionEpoch: ctx?.regionEpoch, term: ctx?.term ?? 0 });
}

async function check(result: CommandResult): Promise<void> {
  const error = result.response.header?.error;
  if (error === undefined) return;
  await result.reader?.close();
  throw new RegionError(error);
}
