/**
 * Latches (given code): make each transactional command atomic with respect to the others.
 *
 * A command reads the store, decides, then writes one batch. Between its read and its write it awaits, and
 * another command on the same keys could run in that gap and write something the first did not see (two
 * prewrites both finding a key unlocked, say). A latch is a per-user-key mutex held from before the command
 * opens its reader until after its batch is written. A command latches all its keys at once, or waits.
 *
 * Latches are not Percolator locks: they are in memory, invisible to clients, and held for one command only.
 */
import type { Modify } from '../storage/storage.ts';
import { TxnError } from './mvcc/errors.ts';

/** Misuse of latches: releasing keys that are not latched. */
export class LatchError extends TxnError {}

/** A check run on every batch before it is written (tests use it to catch writes to unlatched keys). */
export type LatchValidation = (writes: readonly Modify[], latchedKeys: readonly Uint8Array[]) => void;

function latchName(key: Uint8Array): string {
  return Buffer.from(key).toString('latin1');
}

export class Latches {
  /** Held latches: key -> the promise that resolves when its holder releases it. */
  private readonly held = new Map<string, Promise<void>>();
  /** The resolver of each held key's promise (shared by all keys latched together). */
  private readonly releasers = new Map<string, () => void>();
  /** Optional check of written batches, for tests. */
  validation: LatchValidation | undefined;

  /** Latch every key in `keys` (duplicates allowed), waiting while any of them is held by another command. */
  async acquire(keys: readonly Uint8Array[]): Promise<void> {
    const names = [...new Set(keys.map(latchName))];
    for (;;) {
      const busy = names.find((name) => this.held.has(name));
      if (busy === undefined) break;
      await this.held.get(busy);
    }
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    for (const name of names) {
      this.held.set(name, released);
      this.releasers.set(name, release);
    }
  }

  /** Release latches taken together by one acquire(keys). */
  release(keys: readonly Uint8Array[]): void {
    const names = new Set(keys.map(latchName));
    const wake = new Set<() => void>();
    for (const name of names) {
      const release = this.releasers.get(name);
      if (release === undefined) throw new LatchError(`release of key ${Buffer.from(name, 'latin1').toString('hex')} that is not latched`);
      wake.add(release);
      this.held.delete(name);
      this.releasers.delete(name);
    }
    for (const release of wake) release();
  }

  /** Run `command` holding the latches of `keys`; they are released however it ends. */
  async withLatches<T>(keys: readonly Uint8Array[], command: () => Promise<T>): Promise<T> {
    await this.acquire(keys);
    try {
      return await command();
    } finally {
      this.release(keys);
    }
  }

  /** Run the validation hook, if any, on a batch about to be written under `latchedKeys`. */
  validate(writes: readonly Modify[], latchedKeys: readonly Uint8Array[]): void {
    this.validation?.(writes, latchedKeys);
  }

  /** Number of keys latched now (for tests and diagnostics). */
  get size(): number {
    return this.held.size;
  }
}
