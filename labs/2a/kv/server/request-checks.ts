/**
 * Argument checks shared by the server's handlers (given code). A request that fails a check is answered with
 * the response's `error` field and changes nothing; a check never throws past the handler.
 */
import { isColumnFamily, COLUMN_FAMILIES, type ColumnFamily } from '../storage/storage.ts';

/** Longest user key the raw API accepts (TiKV's default limit). Longer keys slow every index block they land in. */
export const MAX_KEY_BYTES = 8 * 1024;

/** A request the server refuses; its message goes back to the client in the response's `error` field. */
export class RequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RequestError';
  }
}

/**
 * The column family a request names. An empty name means `default` (as in TiKV, so a client that leaves
 * the field unset reads and writes the default family); any other name must be one of the three families.
 */
export function requireColumnFamily(cf: string): ColumnFamily {
  if (cf === '') return 'default';
  if (!isColumnFamily(cf)) {
    throw new RequestError(`unknown column family ${JSON.stringify(cf)}: use one of ${COLUMN_FAMILIES.join(', ')}`);
  }
  return cf;
}

/** A key that must be present: not empty, not longer than MAX_KEY_BYTES. */
export function requireKey(key: Uint8Array, what = 'key'): Uint8Array {
  if (key.length === 0) throw new RequestError(`${what} must not be empty`);
  return checkKeyLength(key, what);
}

/** A key that may be empty (a scan's start key: empty means from the first key). */
export function checkKeyLength(key: Uint8Array, what = 'key'): Uint8Array {
  if (key.length > MAX_KEY_BYTES) {
    throw new RequestError(`${what} is ${key.length} bytes long; the limit is ${MAX_KEY_BYTES} bytes`);
  }
  return key;
}

/** A scan limit: at least 1. */
export function requireLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit <= 0) throw new RequestError(`limit must be positive, got ${limit}`);
  return limit;
}
