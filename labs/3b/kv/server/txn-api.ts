/**
 * The transactional API (Project 4B and 4C): the Percolator handlers behind the TinyKv gRPC service.
 * The Server delegates KvGet, KvPrewrite, KvCommit, KvScan, KvCheckTxnStatus, KvBatchRollback and
 * KvResolveLock here.
 *
 * Every command that writes follows the same shape:
 *   1. latch the user keys it may write (so no other command interleaves on them),
 *   2. open a reader (after latching, so it sees every earlier command's writes),
 *   3. build an MvccTxn, check and buffer changes,
 *   4. write the buffered changes in one atomic batch, or nothing at all if the command failed,
 *   5. release the latches.
 * Problems a client must act on (locked keys, conflicts, aborts) go in the response's error fields; region
 * errors from the storage (not leader, epoch not match, ...) go in regionError.
 */
import { errorpb, kvrpcpb } from '#proto';
import type { Storage, StorageContext, StorageReader } from '../storage/storage.ts';
import { RegionError } from '../storage/errors.ts';
import { NotImplemented } from '../../util/not-implemented.ts';
import { Latches } from '../transaction/latches.ts';
import { compareBytes, hexKey } from '../../util/bytes.ts';
import { physicalTime } from '../transaction/mvcc/codec.ts';
import { Lock, parseLock } from '../transaction/mvcc/lock.ts';
import { Scanner } from '../transaction/mvcc/scanner.ts';
import { allLocksForTxn, MvccTxn } from '../transaction/mvcc/transaction.ts';
import { Write, WriteKind, writeKindFromOp } from '../transaction/mvcc/write.ts';

/**
 * The region error carried by a storage error, if it is one. Raft-backed storage throws RegionError
 * (NotLeader, EpochNotMatch, ...); the client must retry elsewhere, so it goes in the response.
 */
function regionErrorOf(err: unknown): errorpb.Error | undefined {
  return err instanceof RegionError ? err.regionError : undefined;
}

/** The storage context of a request (the wire Context carries region id, epoch and peer). */
function storageContext(ctx: kvrpcpb.Context | undefined): StorageContext | undefined {
  return ctx === undefined ? undefined : { ...ctx };
}

function abortError(message: string): kvrpcpb.KeyError {
  return kvrpcpb.KeyError({ abort: message });
}

export class TxnApi {
  readonly latches: Latches;

  constructor(
    private readonly storage: Storage,
    latches?: Latches,
  ) {
    this.latches = latches ?? new Latches();
  }

  // ---------------------------------------------------------------- 4B

  /** Read `key` as of `version`. A lock at or before `version` blocks the read (its txn may commit before it). */
  async kvGet(req: kvrpcpb.GetRequest): Promise<kvrpcpb.GetResponse> {
    return this.answer(kvrpcpb.GetResponse, async () => {
      // Your code here (4B): open a reader; if key is locked by a txn that started at or before req.version, answer a KeyError with the lock's info; else answer the value visible at req.version, or notFound.
      throw new NotImplemented('4B', 'TxnApi.kvGet');
      // End of your code (4B).
    });
  }

  /**
   * Phase one of two-phase commit: lock every mutated key and write its value, or change nothing.
   * A key fails with a write conflict if some write was committed at or after startVersion, and with a
   * lock error if another transaction holds its lock.
   */
  async kvPrewrite(req: kvrpcpb.PrewriteRequest): Promise<kvrpcpb.PrewriteResponse> {
    return this.answer(kvrpcpb.PrewriteResponse, async () => {
      // Your code here (4B): latch the mutated keys; for each mutation check for a write conflict (a write committed at or after startVersion) and for another txn's lock, collecting key errors; if there are none, lock each key and put (or delete) its value, and write the batch.
      throw new NotImplemented('4B', 'TxnApi.kvPrewrite');
      // End of your code (4B).
    });
  }

  /**
   * Phase two: replace each key's lock by a write record at commitVersion. Committing twice is fine;
   * committing a transaction that was rolled back, or a key another transaction holds, is not.
   */
  async kvCommit(req: kvrpcpb.CommitRequest): Promise<kvrpcpb.CommitResponse> {
    return this.answer(kvrpcpb.CommitResponse, async () => {
      // Your code here (4B): check commitVersion > startVersion; latch the keys; commit each key (its own lock becomes a write record, see commitKey); on the first key error answer it and write nothing.
      throw new NotImplemented('4B', 'TxnApi.kvCommit');
      // End of your code (4B).
    });
  }

  // Your code here (4B): helpers for prewrite and commit.
  // Helpers of your own may go here.
  // End of your code (4B).

  // ---------------------------------------------------------------- 4C

  /** Read up to `limit` consecutive keys from startKey as of `version`; a locked key gives a pair with an error. */
  async kvScan(req: kvrpcpb.ScanRequest): Promise<kvrpcpb.ScanResponse> {
    return this.answer(kvrpcpb.ScanResponse, async () => {
      // Your code here (4C): collect up to limit pairs with a Scanner at req.version; a key locked at or before req.version gives a pair carrying the lock error instead of a value.
      throw new NotImplemented('4C', 'TxnApi.kvScan');
      // End of your code (4C).
    });
  }

  /**
   * Report the fate of the transaction whose primary key is primaryKey and start is lockTs, acting on it:
   * a primary lock whose TTL ran out (by the physical time of currentTs) is rolled back; a transaction with
   * no lock and no record is rolled back so it can never commit later.
   */
  async kvCheckTxnStatus(req: kvrpcpb.CheckTxnStatusRequest): Promise<kvrpcpb.CheckTxnStatusResponse> {
    return this.answer(kvrpcpb.CheckTxnStatusResponse, async () => {
      // Your code here (4C): latch the primary key; if it holds this txn's lock: roll it back when its TTL has expired (TTLExpireRollback), else report its TTL (NoAction); with no such lock: report a commit's timestamp, or a rollback, or write a rollback record (LockNotExistRollback).
      throw new NotImplemented('4C', 'TxnApi.kvCheckTxnStatus');
      // End of your code (4C).
    });
  }

  /** Roll back the given keys of a transaction: remove its locks and values, leave rollback records. */
  async kvBatchRollback(req: kvrpcpb.BatchRollbackRequest): Promise<kvrpcpb.BatchRollbackResponse> {
    return this.answer(kvrpcpb.BatchRollbackResponse, async () => {
      // Your code here (4C): latch the keys; roll back each key (see rollbackKey); a key already committed by this txn aborts the whole request, writing nothing.
      throw new NotImplemented('4C', 'TxnApi.kvBatchRollback');
      // End of your code (4C).
    });
  }

  /** Commit (commitVersion > 0) or roll back (commitVersion == 0) every key still locked by startVersion. */
  async kvResolveLock(req: kvrpcpb.ResolveLockRequest): Promise<kvrpcpb.ResolveLockResponse> {
    return this.answer(kvrpcpb.ResolveLockResponse, async () => {
      // Your code here (4C): find the keys locked by startVersion (allLocksForTxn); latch them; commit or roll back each one as for KvCommit / KvBatchRollback.
      throw new NotImplemented('4C', 'TxnApi.kvResolveLock');
      // End of your code (4C).
    });
  }

  // Your code here (4C): helpers for scan and rollback.
  // Helpers of your own may go here.
  // End of your code (4C).

  // ---------------------------------------------------------------- plumbing (given)

  /** Run a handler; a region error from the storage becomes a response carrying only that error. */
  private async answer<R extends { regionError?: errorpb.Error }>(empty: () => R, handler: () => Promise<R>): Promise<R> {
    try {
      return await handler();
    } catch (err) {
      const regionError = regionErrorOf(err);
      if (regionError === undefined) throw err;
      const resp = empty();
      resp.regionError = regionError;
      return resp;
    }
  }

  /** Open a reader for the request, run `use` on it, and close it. */
  private async withReader<T>(ctx: kvrpcpb.Context | undefined, use: (reader: StorageReader) => Promise<T>): Promise<T> {
    const reader = await this.storage.reader(storageContext(ctx));
    try {
      return await use(reader);
    } finally {
      await reader.close();
    }
  }

  /** Write txn's buffered changes in one batch (nothing when there are none). */
  private async writeTxn(ctx: kvrpcpb.Context | undefined, txn: MvccTxn, latchedKeys: readonly Uint8Array[]): Promise<void> {
    if (txn.writes.length === 0) return;
    this.latches.validate(txn.writes, latchedKeys);
    await this.storage.write(storageContext(ctx), [...txn.writes]);
  }
}

// Your code here (4C): more helpers for scan.
// Helpers of your own may go here.
// End of your code (4C).
