/**
 * The TinyKv service's handlers: the raw API (Project 1) here, the transactional API (Project 4) delegated
 * to TxnApi. The handlers talk only to the Storage interface, so the same code runs on standalone storage
 * (Project 1) and on raft storage (Project 2 onwards).
 *
 * Each handler returns its response object. A request the server refuses (bad column family, empty key,
 * zero limit) is answered in the response's `error` field and writes nothing; a region problem reported by
 * the storage (wrong leader, stale epoch, ...) goes in `regionError`. Anything else is a server fault and is
 * thrown; the gRPC layer turns it into a status.
 */
import { kvrpcpb } from '#proto';
import type { Modify, Storage } from '../storage/storage.ts';
import { RegionError } from '../storage/errors.ts';
import { TxnApi } from './txn-api.ts';
import { RequestError, checkKeyLength, requireColumnFamily, requireKey, requireLimit } from './request-checks.ts';
import { NotImplemented } from '../../util/not-implemented.ts';

/** What every raw response has: a text error and a region error. */
interface RawResponse {
  error: string;
  regionError?: kvrpcpb.RawGetResponse['regionError'];
}

/**
 * Run a handler body that fills `resp`; turn a refused request into `resp.error` and a region error into
 * `resp.regionError`. Other errors propagate.
 */
async function answer<R extends RawResponse>(resp: R, body: () => Promise<void>): Promise<R> {
  try {
    await body();
  } catch (err) {
    if (err instanceof RequestError) {
      resp.error = err.message;
    } else if (err instanceof RegionError) {
      resp.regionError = err.regionError;
    } else {
      throw err;
    }
  }
  return resp;
}

export class Server {
  readonly storage: Storage;
  private readonly txn: TxnApi;

  constructor(storage: Storage) {
    this.storage = storage;
    this.txn = new TxnApi(storage);
  }

  // ---- Raw API (Project 1) ----

  async rawGet(req: kvrpcpb.RawGetRequest): Promise<kvrpcpb.RawGetResponse> {
    const resp = kvrpcpb.RawGetResponse();
    return answer(resp, async () => {
      const cf = requireColumnFamily(req.cf);
      const key = requireKey(req.key);
      // Your code here (1): open a reader on the storage, read `key` from family `cf`, and close the reader. Put the value in resp.value, or set resp.notFound when the key is absent.
      const reader = await this.storage.reader(req.context);
      try {
        const value = await reader.getCF(cf, key);
        if (value === undefined) {
          resp.notFound = true;
        } else {
          resp.value = value;
        }
      } finally {
        await reader.close();
      }
      // End of your code (1).
    });
  }

  async rawPut(req: kvrpcpb.RawPutRequest): Promise<kvrpcpb.RawPutResponse> {
    const resp = kvrpcpb.RawPutResponse();
    return answer(resp, async () => {
      const cf = requireColumnFamily(req.cf);
      const key = requireKey(req.key);
      // Your code here (1): write one put Modify of `key` -> req.value in family `cf` through the storage.
      const put: Modify = { type: 'put', cf, key, value: req.value };
      await this.storage.write(req.context, [put]);
      // End of your code (1).
    });
  }

  async rawDelete(req: kvrpcpb.RawDeleteRequest): Promise<kvrpcpb.RawDeleteResponse> {
    const resp = kvrpcpb.RawDeleteResponse();
    return answer(resp, async () => {
      const cf = requireColumnFamily(req.cf);
      const key = requireKey(req.key);
      // Your code here (1): write one delete Modify of `key` in family `cf` through the storage (deleting an absent key is fine).
      const del: Modify = { type: 'delete', cf, key };
      await this.storage.write(req.context, [del]);
      // End of your code (1).
    });
  }

  async rawScan(req: kvrpcpb.RawScanRequest): Promise<kvrpcpb.RawScanResponse> {
    const resp = kvrpcpb.RawScanResponse();
    return answer(resp, async () => {
      const cf = requireColumnFamily(req.cf);
      const startKey = checkKeyLength(req.startKey, 'start key');
      const limit = requireLimit(req.limit);
      // Your code here (1): iterate family `cf` of one reader from startKey; push up to `limit` pairs into resp.kvs (kvrpcpb.KvPair({ key, value })). Close the iterator and the reader.
      const reader = await this.storage.reader(req.context);
      const iter = reader.iterCF(cf);
      try {
        for (await iter.seek(startKey); iter.valid() && resp.kvs.length < limit; await iter.next()) {
          const item = iter.item();
          resp.kvs.push(kvrpcpb.KvPair({ key: item.key, value: item.value }));
        }
      } finally {
        await iter.close();
        await reader.close();
      }
      // End of your code (1).
    });
  }

  // ---- Transactional API (Project 4), in txn-api.ts ----

  kvGet(req: kvrpcpb.GetRequest): Promise<kvrpcpb.GetResponse> {
    return this.txn.kvGet(req);
  }

  kvPrewrite(req: kvrpcpb.PrewriteRequest): Promise<kvrpcpb.PrewriteResponse> {
    return this.txn.kvPrewrite(req);
  }

  kvCommit(req: kvrpcpb.CommitRequest): Promise<kvrpcpb.CommitResponse> {
    return this.txn.kvCommit(req);
  }

  kvScan(req: kvrpcpb.ScanRequest): Promise<kvrpcpb.ScanResponse> {
    return this.txn.kvScan(req);
  }

  kvCheckTxnStatus(req: kvrpcpb.CheckTxnStatusRequest): Promise<kvrpcpb.CheckTxnStatusResponse> {
    return this.txn.kvCheckTxnStatus(req);
  }

  kvBatchRollback(req: kvrpcpb.BatchRollbackRequest): Promise<kvrpcpb.BatchRollbackResponse> {
    return this.txn.kvBatchRollback(req);
  }

  kvResolveLock(req: kvrpcpb.ResolveLockRequest): Promise<kvrpcpb.ResolveLockResponse> {
    return this.txn.kvResolveLock(req);
  }
}

