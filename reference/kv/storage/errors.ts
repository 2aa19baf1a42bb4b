/**
 * Errors raised by the storage layer (engine, write batches, iterators, storages).
 * Each names what went wrong and what to do, so a failing test or a server log points at the cause.
 */
import type { errorpb } from '#proto';
import { COLUMN_FAMILIES } from './storage.ts';

/** Base class of every storage-layer error. */
export class StorageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A column family name that is not one of default, lock, write. */
export class UnknownColumnFamilyError extends StorageError {
  readonly cf: string;
  constructor(cf: string) {
    super(`unknown column family ${JSON.stringify(cf)}: expected one of ${COLUMN_FAMILIES.join(', ')}`);
    this.cf = cf;
  }
}

/** The engine could not be opened (bad path, not a directory, locked by another process, corrupt). */
export class EngineOpenError extends StorageError {
  readonly path: string;
  constructor(path: string, cause: unknown) {
    const text = describeCause(cause);
    // LevelDB holds a lock file while a database is open; failing to take it means someone else has it open.
    const hint = /LOCK: Resource temporarily unavailable/.test(text) ? '; is another process (or engine) using this directory?' : '';
    super(`cannot open the storage engine at ${path}: ${text}${hint}`, { cause });
    this.path = path;
  }
}

/** An operation on an engine (or a snapshot of it) that was already closed. */
export class EngineClosedError extends StorageError {
  constructor(what: string) {
    super(`${what}: the engine is closed`);
  }
}

/** A write batch used after it was written: a batch is written once, then thrown away. */
export class WriteBatchUsedError extends StorageError {
  constructor(what: string) {
    super(`${what}: this write batch was already written; build a new WriteBatch for the next write`);
  }
}

/** Misuse of an iterator or reader: item() while not valid, use after close, and the like. */
export class IteratorStateError extends StorageError {}

/** A storage value that is not a byte array where one is required. */
export class InvalidBytesError extends StorageError {
  constructor(what: string, value: unknown) {
    super(`${what} must be a Uint8Array, got ${value === null ? 'null' : typeof value}`);
  }
}

/**
 * The storage cannot serve this request in this region (not the leader, stale epoch, key not in region, ...).
 * Raft storage throws it from write()/reader(); the server's handlers put `regionError` into the response's
 * region_error field so the client can retry elsewhere. Standalone storage never throws it.
 */
export class RegionError extends StorageError {
  readonly regionError: errorpb.Error;
  constructor(regionError: errorpb.Error) {
    super(`region error: ${regionError.message || describeRegionError(regionError)}`);
    this.regionError = regionError;
  }
}

function describeRegionError(e: errorpb.Error): string {
  const kinds = ['notLeader', 'regionNotFound', 'keyNotInRegion', 'epochNotMatch', 'staleCommand', 'storeNotMatch'] as const;
  return kinds.find((kind) => e[kind] !== undefined) ?? 'unknown';
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    // classic-level wraps the LevelDB message in `cause`; show the innermost one, it is the useful one.
    const inner = (cause as { cause?: unknown }).cause;
    return inner instanceof Error ? `${cause.message} (${inner.message})` : cause.message;
  }
  return String(cause);
}
