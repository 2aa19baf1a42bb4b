/**
 * The seven transactional RPCs as an interface, so the Percolator client can drive either a TxnApi in
 * process or a TinyKV server over gRPC (GrpcTxnKv).
 */
import * as grpc from '@grpc/grpc-js';
import { kvrpcpb } from '#proto';
import { callUnary, clientConstructor, clientOptions, type ServiceClient } from '#proto/grpc.ts';

export interface TxnKv {
  kvGet(req: kvrpcpb.GetRequest): Promise<kvrpcpb.GetResponse>;
  kvPrewrite(req: kvrpcpb.PrewriteRequest): Promise<kvrpcpb.PrewriteResponse>;
  kvCommit(req: kvrpcpb.CommitRequest): Promise<kvrpcpb.CommitResponse>;
  kvScan(req: kvrpcpb.ScanRequest): Promise<kvrpcpb.ScanResponse>;
  kvCheckTxnStatus(req: kvrpcpb.CheckTxnStatusRequest): Promise<kvrpcpb.CheckTxnStatusResponse>;
  kvBatchRollback(req: kvrpcpb.BatchRollbackRequest): Promise<kvrpcpb.BatchRollbackResponse>;
  kvResolveLock(req: kvrpcpb.ResolveLockRequest): Promise<kvrpcpb.ResolveLockResponse>;
}

const SERVICE = 'tinykvpb.TinyKv';

/** A call that failed on the wire (unreachable server, or a gRPC error status). */
class TxnCallError extends Error {
  constructor(method: string, addr: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(`${method} to ${addr} failed: ${detail}`, { cause });
    this.name = 'TxnCallError';
  }
}

/** TxnKv over gRPC: one channel to one TinyKV server. */
export class GrpcTxnKv implements TxnKv {
  private readonly client: ServiceClient<typeof SERVICE>;

  /** `channelOptions` e.g. { 'grpc.use_local_subchannel_pool': 1 } for a connection of its own. */
  constructor(
    readonly addr: string,
    channelOptions: Partial<grpc.ChannelOptions> = {},
  ) {
    const Client = clientConstructor(SERVICE);
    this.client = new Client(addr, grpc.credentials.createInsecure(), clientOptions(channelOptions));
  }

  kvGet(req: kvrpcpb.GetRequest): Promise<kvrpcpb.GetResponse> {
    return this.call('KvGet', callUnary(this.client, 'KvGet', req));
  }
  kvPrewrite(req: kvrpcpb.PrewriteRequest): Promise<kvrpcpb.PrewriteResponse> {
    return this.call('KvPrewrite', callUnary(this.client, 'KvPrewrite', req));
  }
  kvCommit(req: kvrpcpb.CommitRequest): Promise<kvrpcpb.CommitResponse> {
    return this.call('KvCommit', callUnary(this.client, 'KvCommit', req));
  }
  kvScan(req: kvrpcpb.ScanRequest): Promise<kvrpcpb.ScanResponse> {
    return this.call('KvScan', callUnary(this.client, 'KvScan', req));
  }
  kvCheckTxnStatus(req: kvrpcpb.CheckTxnStatusRequest): Promise<kvrpcpb.CheckTxnStatusResponse> {
    return this.call('KvCheckTxnStatus', callUnary(this.client, 'KvCheckTxnStatus', req));
  }
  kvBatchRollback(req: kvrpcpb.BatchRollbackRequest): Promise<kvrpcpb.BatchRollbackResponse> {
    return this.call('KvBatchRollback', callUnary(this.client, 'KvBatchRollback', req));
  }
  kvResolveLock(req: kvrpcpb.ResolveLockRequest): Promise<kvrpcpb.ResolveLockResponse> {
    return this.call('KvResolveLock', callUnary(this.client, 'KvResolveLock', req));
  }

  close(): void {
    this.client.close();
  }

  private async call<T>(method: string, pending: Promise<T>): Promise<T> {
    try {
      return await pending;
    } catch (err) {
      throw new TxnCallError(method, this.addr, err);
    }
  }
}
