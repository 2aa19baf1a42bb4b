/**
 * The transactional API (Project 4): the Percolator handlers behind the TinyKv gRPC service.
 * Server.kvGet etc. delegate here. (Placeholder: bodies are being written.)
 */
import { kvrpcpb } from '#proto';
import type { Storage } from '../storage/storage.ts';
import { NotImplemented } from '../../util/not-implemented.ts';

/** Serializes commands on the same keys (placeholder type until kv/transaction/latches.ts lands). */
export interface LatchesLike {
  acquire(keys: Uint8Array[]): Promise<() => void>;
}

export class TxnApi {
  constructor(
    private readonly storage: Storage,
    private readonly latches?: LatchesLike,
  ) {}

  async kvGet(_req: kvrpcpb.GetRequest): Promise<kvrpcpb.GetResponse> {
    throw new NotImplemented('4B', 'TxnApi.kvGet');
  }
  async kvPrewrite(_req: kvrpcpb.PrewriteRequest): Promise<kvrpcpb.PrewriteResponse> {
    throw new NotImplemented('4B', 'TxnApi.kvPrewrite');
  }
  async kvCommit(_req: kvrpcpb.CommitRequest): Promise<kvrpcpb.CommitResponse> {
    throw new NotImplemented('4B', 'TxnApi.kvCommit');
  }
  async kvScan(_req: kvrpcpb.ScanRequest): Promise<kvrpcpb.ScanResponse> {
    throw new NotImplemented('4C', 'TxnApi.kvScan');
  }
  async kvCheckTxnStatus(_req: kvrpcpb.CheckTxnStatusRequest): Promise<kvrpcpb.CheckTxnStatusResponse> {
    throw new NotImplemented('4C', 'TxnApi.kvCheckTxnStatus');
  }
  async kvBatchRollback(_req: kvrpcpb.BatchRollbackRequest): Promise<kvrpcpb.BatchRollbackResponse> {
    throw new NotImplemented('4C', 'TxnApi.kvBatchRollback');
  }
  async kvResolveLock(_req: kvrpcpb.ResolveLockRequest): Promise<kvrpcpb.ResolveLockResponse> {
    throw new NotImplemented('4C', 'TxnApi.kvResolveLock');
  }
}
