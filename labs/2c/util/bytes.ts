/**
 * Byte strings (keys and values): their order, equality and printable forms. The one home of these helpers
 * for the raftstore, the storage layers and the transaction layer.
 */

/** Lexicographic order of two byte strings: negative, zero or positive. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareBytes(a, b) === 0;
}

/** A printable form of a key for messages: hex, or "(empty)". */
export function hexKey(key: Uint8Array): string {
  return Buffer.from(key).toString('hex') || '(empty)';
}

/** The smallest key greater than `key`: `key` followed by a zero byte. */
export function nextKey(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out.set(key);
  return out;
}
