/**
 * A client-side Percolator driver: the part of two-phase commit that TinySQL plays for TinyKV.
 *
 *   begin      start ts from the timestamp oracle
 *   get        read at start ts; a lock in the way is resolved (see resolveLock) and the read retried
 *   commit     prewrite the primary, then the secondaries; take a commit ts; commit the primary (from this
 *              moment the transaction is committed); then commit the secondaries
 *
 * A lock of another transaction is resolved through its primary: CheckTxnStatus says committed (then
 * ResolveLock commits the rest), rolled back or expired (ResolveLock rolls the rest back), or alive. A read
 * waits for a live lock (back off, ask again); a prewrite does not: it aborts its own transaction, since
 * two prewrites waiting on each other's locks would otherwise wait until a TTL ran out. Every loop is bounded.
 *
 * Time comes from an injected Clock; tests use a ManualClock that only moves when someone backs off, so
 * lock expiry depends on the schedule of the run, not on the machine's speed.
 */
import { kvrpcpb } from '#proto';
import type { TxnKv } from './txn-kv.ts';

export interface Clock {
  /** Milliseconds of wall-clock time. */
  nowMs(): number;
}

export const systemClock: Clock = { nowMs: () => Date.now() };

/** A clock that moves only when told to. */
export class ManualClock implements Clock {
  constructor(private ms: number) {}
  nowMs(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

const LOGICAL_BITS = 18n;
const LOGICAL_LIMIT = 1n << LOGICAL_BITS;

/** A local timestamp oracle: (physical ms << 18) | logical, strictly increasing across all its callers. */
export class TimestampOracle {
  private physical = 0n;
  private logical = 0n;

  constructor(private readonly clock: Clock) {}

  next(): bigint {
    const now = BigInt(Math.floor(this.clock.nowMs()));
    if (now > this.physical) {
      this.physical = now;
      this.logical = 0n;
    } else {
      this.logical += 1n;
      if (this.logical === LOGICAL_LIMIT) {
        // Out of logical numbers in this millisecond: borrow the next one.
        this.physical += 1n;
        this.logical = 0n;
      }
    }
    return (this.physical << LOGICAL_BITS) | this.logical;
  }
}

export interface PercolatorOptions {
  /** TTL written into each lock, in ms. */
  lockTtlMs: number;
  /** How many times one read, prewrite or commit goes round a lock before giving up. */
  maxLockRetries: number;
  /** How long to wait for a live lock before asking again, in ms. */
  backoffMs: number;
  /** Wait `ms`; tests pass one that advances a ManualClock. */
  sleep(ms: number): Promise<void>;
}

/** The server answered a region error: this client has no routing, so it gives up. */
class RegionErrorResponse extends Error {}

/** A transaction failed for good (a non-retryable key error on a read). */
export class TxnAbortedError extends Error {}

export type CommitOutcome =
  | { status: 'committed'; startTs: bigint; commitTs: bigint }
  | { status: 'aborted'; startTs: bigint; reason: string }
  /** Stopped on purpose after prewrite (a simulated client crash): its fate is up to the resolvers. */
  | { status: 'abandoned'; startTs: bigint };

/** Where a simulated crash may stop a commit. */
export type CrashPoint = 'none' | 'after-prewrite' | 'after-primary-commit';

function checkRegion(resp: { regionError?: unknown }, what: string): void {
  if (resp.regionError !== undefined) {
    throw new RegionErrorResponse(`${what}: region error ${JSON.stringify(resp.regionError)}`);
  }
}

function describeKeyError(e: kvrpcpb.KeyError): string {
  if (e.conflict) return `write conflict (committed at ${e.conflict.conflictTs})`;
  if (e.abort) return `abort: ${e.abort}`;
  if (e.retryable) return `retryable: ${e.retryable}`;
  if (e.locked) return `locked by txn ${e.locked.lockVersion}`;
  return 'unknown key error';
}

export class PercolatorClient {
  /** Counters, for reports. */
  readonly stats = { lockResolutions: 0, rolledBackOthers: 0, committedOthers: 0, waits: 0 };

  constructor(
    readonly kv: TxnKv,
    readonly tso: TimestampOracle,
    readonly options: PercolatorOptions,
  ) {}

  begin(): PercolatorTxn {
    return new PercolatorTxn(this, this.tso.next());
  }

  /**
   * Settle the transaction that holds `lock` if it is over (committed, rolled back, or expired: then its
   * locks are committed or rolled back). Returns 'alive' when its primary lock is still live.
   */
  async resolveLock(lock: kvrpcpb.LockInfo): Promise<'resolved' | 'alive'> {
    this.stats.lockResolutions += 1;
    const status = await this.kv.kvCheckTxnStatus(
      kvrpcpb.CheckTxnStatusRequest({ primaryKey: lock.primaryLock, lockTs: lock.lockVersion, currentTs: this.tso.next() }),
    );
    checkRegion(status, 'CheckTxnStatus');
    if (status.commitVersion > 0n) {
      this.stats.committedOthers += 1;
      await this.resolve(lock.lockVersion, status.commitVersion);
      return 'resolved';
    }
    if (status.lockTtl > 0) return 'alive';
    this.stats.rolledBackOthers += 1;
    await this.resolve(lock.lockVersion, 0n);
    return 'resolved';
  }

  private async resolve(startVersion: bigint, commitVersion: bigint): Promise<void> {
    const resp = await this.kv.kvResolveLock(kvrpcpb.ResolveLockRequest({ startVersion, commitVersion }));
    checkRegion(resp, 'ResolveLock');
    // An error here means another resolver got there first with the same decision; nothing to do.
  }
}

export class PercolatorTxn {
  /** Buffered writes by key (hex), in first-write order; the first one is the primary. */
  private readonly mutations = new Map<string, kvrpcpb.Mutation>();

  constructor(
    private readonly client: PercolatorClient,
    readonly startTs: bigint,
  ) {}

  /** The value of `key` at this txn's start, or undefined. */
  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const { kv, options } = this.client;
    for (let attempt = 0; attempt < options.maxLockRetries; attempt++) {
      const resp = await kv.kvGet(kvrpcpb.GetRequest({ key, version: this.startTs }));
      checkRegion(resp, 'Get');
      if (resp.error === undefined) return resp.notFound ? undefined : resp.value;
      if (resp.error.locked === undefined) throw new TxnAbortedError(`get: ${describeKeyError(resp.error)}`);
      if ((await this.client.resolveLock(resp.error.locked)) === 'alive') {
        this.client.stats.waits += 1;
        await options.sleep(options.backoffMs);
      }
    }
    throw new TxnAbortedError(`get: key still locked after ${options.maxLockRetries} attempts`);
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.buffer(kvrpcpb.Mutation({ op: kvrpcpb.Op.Put, key, value }));
  }

  delete(key: Uint8Array): void {
    this.buffer(kvrpcpb.Mutation({ op: kvrpcpb.Op.Del, key }));
  }

  /** Two-phase commit. `crash` stops it on purpose at a point, as a client that died there would. */
  async commit(crash: CrashPoint = 'none'): Promise<CommitOutcome> {
    const startTs = this.startTs;
    const all = [...this.mutations.values()];
    if (all.length === 0) return { status: 'committed', startTs, commitTs: startTs };
    const [primary, ...secondaries] = all;
    const keys = all.map((m) => m.key);

    let failure = await this.prewrite([primary], primary.key);
    if (failure === undefined && secondaries.length > 0) failure = await this.prewrite(secondaries, primary.key);
    if (failure !== undefined) {
      await this.rollback(keys);
      return { status: 'aborted', startTs, reason: failure };
    }
    if (crash === 'after-prewrite') return { status: 'abandoned', startTs };

    const commitTs = this.client.tso.next();
    failure = await this.commitKeys([primary.key], commitTs);
    if (failure !== undefined) {
      // Someone rolled us back (our lock expired). Clean up what is left of ours.
      await this.rollback(keys);
      return { status: 'aborted', startTs, reason: `primary commit: ${failure}` };
    }
    // Committed. Secondaries left locked (a crash here) are committed later by whoever meets them.
    if (crash !== 'after-primary-commit' && secondaries.length > 0) {
      await this.commitKeys(
        secondaries.map((m) => m.key),
        commitTs,
      );
    }
    return { status: 'committed', startTs, commitTs };
  }

  private buffer(mutation: kvrpcpb.Mutation): void {
    this.mutations.set(Buffer.from(mutation.key).toString('hex'), mutation);
  }

  /** Prewrite `mutations`; undefined on success, else why it failed. Locks of others are resolved and retried. */
  private async prewrite(mutations: kvrpcpb.Mutation[], primaryLock: Uint8Array): Promise<string | undefined> {
    const { kv, options } = this.client;
    for (let attempt = 0; attempt < options.maxLockRetries; attempt++) {
      const resp = await kv.kvPrewrite(
        kvrpcpb.PrewriteRequest({ mutations, primaryLock, startVersion: this.startTs, lockTtl: options.lockTtlMs }),
      );
      checkRegion(resp, 'Prewrite');
      if (resp.errors.length === 0) return undefined;
      const fatal = resp.errors.find((e) => e.locked === undefined);
      if (fatal !== undefined) return describeKeyError(fatal);
      for (const e of resp.errors) {
        if ((await this.client.resolveLock(e.locked!)) === 'alive') {
          return `key ${Buffer.from(e.locked!.key).toString('hex')} is locked by live txn ${e.locked!.lockVersion}`;
        }
      }
    }
    return `prewrite: keys still locked after ${options.maxLockRetries} attempts`;
  }

  private async commitKeys(keys: Uint8Array[], commitVersion: bigint): Promise<string | undefined> {
    const resp = await this.client.kv.kvCommit(kvrpcpb.CommitRequest({ startVersion: this.startTs, commitVersion, keys }));
    checkRegion(resp, 'Commit');
    return resp.error === undefined ? undefined : describeKeyError(resp.error);
  }

  private async rollback(keys: Uint8Array[]): Promise<void> {
    const resp = await this.client.kv.kvBatchRollback(kvrpcpb.BatchRollbackRequest({ startVersion: this.startTs, keys }));
    checkRegion(resp, 'BatchRollback');
    // An abort error means the txn committed after all; impossible here, since we only roll back before
    // our primary commit succeeds, and a failed primary commit means someone else rolled it back.
  }
}
