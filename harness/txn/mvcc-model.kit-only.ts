/**
 * An executable model of the MVCC store and the Percolator commands (Projects 4A-4C), for model-based
 * tests: the same operations as MvccTxn and TxnApi, written over plain maps with no key encoding, no
 * iterators and no latches, so each rule reads as one short function.
 *
 * KIT-ONLY: this file is close to a solution of stages 4A-4C. Files named `*.kit-only.*` stay in the kit
 * and are left out of student handouts; students get the model-free properties (txn-properties tests).
 *
 * Keys are user keys as hex strings (see mvcc-view.ts).
 */
import { physicalTime } from '@impl/kv/transaction/mvcc/codec.ts';
import { WriteKind } from '@impl/kv/transaction/mvcc/write.ts';
import { type Answer, type Command, keysOf, mutationsOf, primaryOf, type TxnPlan, versionOf } from './mvcc-commands.ts';
import {
  type FamiliesView,
  type HexKey,
  lockInfoOf,
  type LockView,
  type ReadAnswer,
  type ScanPair,
  type TxnStatusAnswer,
  type WriteView,
} from './mvcc-view.ts';

export interface ModelMutation {
  key: HexKey;
  kind: WriteKind.Put | WriteKind.Delete;
  value: HexKey;
}

/** What the model answers to a command (and how its state changes). */
export function applyToModel(model: MvccModel, txns: TxnPlan[], cmd: Command): Answer {
  switch (cmd.op) {
    case 'get':
      return { read: model.get(cmd.key, versionOf(txns, cmd.version)) };
    case 'prewrite': {
      const txn = txns[cmd.txn];
      const mutations = mutationsOf(txn, cmd.part).map(
        (m): ModelMutation => ({ key: m.key, kind: m.op === 'put' ? WriteKind.Put : WriteKind.Delete, value: m.value }),
      );
      return { failed: model.prewrite(txn.startTs, primaryOf(txn), txn.ttl, mutations) };
    }
    case 'commit':
      return { failed: model.commit(txns[cmd.txn].startTs, txns[cmd.txn].commitTs, keysOf(txns[cmd.txn], cmd.part)) };
    case 'scan':
      return { scan: model.scan(cmd.startKey, cmd.limit, versionOf(txns, cmd.version)) };
    case 'checkTxnStatus':
      return { status: model.checkTxnStatus(primaryOf(txns[cmd.txn]), txns[cmd.txn].startTs, cmd.currentTs) };
    case 'rollback':
      return { failed: model.batchRollback(txns[cmd.txn].startTs, keysOf(txns[cmd.txn], cmd.part)) };
    case 'resolve':
      return { failed: model.resolveLock(txns[cmd.txn].startTs, cmd.commit ? txns[cmd.txn].commitTs : 0n) };
  }
}

/** The state: one map per family. Commands that fail change nothing (they work on a copy). */
export class MvccModel {
  locks = new Map<HexKey, LockView>();
  /** key -> start ts -> value */
  values = new Map<HexKey, Map<bigint, HexKey>>();
  /** key -> commit ts -> write record */
  writes = new Map<HexKey, Map<bigint, WriteView>>();

  clone(): MvccModel {
    const copy = new MvccModel();
    copy.locks = new Map(this.locks);
    for (const [key, versions] of this.values) copy.values.set(key, new Map(versions));
    for (const [key, versions] of this.writes) copy.writes.set(key, new Map(versions));
    return copy;
  }

  view(): FamiliesView {
    const sortedKeys = <T>(m: Map<HexKey, T>) => [...m.keys()].sort();
    // Within a key, newest first, as the encoded keys sort.
    const newestFirst = (m: Map<bigint, unknown>) => [...m.keys()].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
    return {
      lock: sortedKeys(this.locks).map((k) => [k, this.locks.get(k)!]),
      default: sortedKeys(this.values).flatMap((k) => {
        const versions = this.values.get(k)!;
        return newestFirst(versions).map((ts): [HexKey, bigint, HexKey] => [k, ts, versions.get(ts)!]);
      }),
      write: sortedKeys(this.writes).flatMap((k) => {
        const versions = this.writes.get(k)!;
        return newestFirst(versions).map((ts): [HexKey, bigint, WriteView] => [k, ts, versions.get(ts)!]);
      }),
    };
  }

  // ------------------------------------------------------------ 4A: MvccTxn's primitives

  putLock(key: HexKey, lock: LockView): void {
    this.locks.set(key, lock);
  }

  deleteLock(key: HexKey): void {
    this.locks.delete(key);
  }

  putValue(key: HexKey, startTs: bigint, value: HexKey): void {
    versionsOf(this.values, key).set(startTs, value);
  }

  deleteValue(key: HexKey, startTs: bigint): void {
    this.values.get(key)?.delete(startTs);
    if (this.values.get(key)?.size === 0) this.values.delete(key);
  }

  putWrite(key: HexKey, commitTs: bigint, write: WriteView): void {
    versionsOf(this.writes, key).set(commitTs, write);
  }

  /** The value visible at ts: the newest commit at or before ts that is not a rollback decides. */
  valueAt(key: HexKey, ts: bigint): HexKey | undefined {
    const deciding = this.writesOf(key).find(([commitTs, w]) => commitTs <= ts && w.kind !== WriteKind.Rollback);
    if (deciding === undefined || deciding[1].kind === WriteKind.Delete) return undefined;
    return this.values.get(key)?.get(deciding[1].startTs);
  }

  /** The write record the txn that started at startTs left on key, with its commit ts. */
  currentWrite(key: HexKey, startTs: bigint): { write: WriteView; commitTs: bigint } | undefined {
    const found = this.writesOf(key).find(([commitTs, w]) => commitTs >= startTs && w.startTs === startTs);
    return found === undefined ? undefined : { commitTs: found[0], write: found[1] };
  }

  mostRecentWrite(key: HexKey): { write: WriteView; commitTs: bigint } | undefined {
    const newest = this.writesOf(key)[0];
    return newest === undefined ? undefined : { commitTs: newest[0], write: newest[1] };
  }

  /** key's write records, newest commit first. */
  private writesOf(key: HexKey): [bigint, WriteView][] {
    const versions = this.writes.get(key);
    if (versions === undefined) return [];
    return [...versions.entries()].sort((a, b) => (a[0] > b[0] ? -1 : a[0] < b[0] ? 1 : 0));
  }

  // ------------------------------------------------------------ 4B: get, prewrite, commit

  get(key: HexKey, version: bigint): ReadAnswer {
    const lock = this.locks.get(key);
    if (lock !== undefined && lock.ts <= version) return { locked: lockInfoOf(key, lock) };
    const value = this.valueAt(key, version);
    return value === undefined ? { notFound: true } : { value };
  }

  /** True when the prewrite failed (then nothing changed). */
  prewrite(startTs: bigint, primary: HexKey, ttl: number, mutations: ModelMutation[]): boolean {
    const next = this.clone();
    let failed = false;
    for (const m of mutations) {
      const lock = next.locks.get(m.key);
      const newest = next.mostRecentWrite(m.key);
      if ((lock !== undefined && lock.ts !== startTs) || (newest !== undefined && newest.commitTs >= startTs)) {
        failed = true;
        continue;
      }
      next.putLock(m.key, { primary, ts: startTs, ttl, kind: m.kind });
      if (m.kind === WriteKind.Put) next.putValue(m.key, startTs, m.value);
      else next.deleteValue(m.key, startTs);
    }
    if (!failed) this.adopt(next);
    return failed;
  }

  /** True when the commit failed (then nothing changed). */
  commit(startTs: bigint, commitTs: bigint, keys: HexKey[]): boolean {
    if (commitTs <= startTs) return true;
    const next = this.clone();
    for (const key of keys) {
      if (!next.commitKey(key, startTs, commitTs)) return true;
    }
    this.adopt(next);
    return false;
  }

  private commitKey(key: HexKey, startTs: bigint, commitTs: bigint): boolean {
    const lock = this.locks.get(key);
    if (lock !== undefined && lock.ts === startTs) {
      this.putWrite(key, commitTs, { startTs, kind: lock.kind });
      this.deleteLock(key);
      return true;
    }
    const found = this.currentWrite(key, startTs);
    if (found !== undefined) return found.write.kind !== WriteKind.Rollback;
    return lock === undefined; // another txn's lock: error; nothing at all: nothing to do
  }

  // ------------------------------------------------------------ 4C: scan, check-txn-status, rollback, resolve

  /** Keys from startKey in order, each with its visible value or its blocking lock; at most limit. */
  scan(startKey: HexKey, limit: number, version: bigint): ScanPair[] {
    const keys = new Set<HexKey>([...this.writes.keys(), ...this.locks.keys()]);
    const pairs: ScanPair[] = [];
    for (const key of [...keys].filter((k) => k >= startKey).sort()) {
      if (pairs.length >= limit) break;
      const answer = this.get(key, version);
      if ('locked' in answer) pairs.push({ key, locked: answer.locked });
      else if ('value' in answer) pairs.push({ key, value: answer.value });
    }
    return pairs;
  }

  checkTxnStatus(primary: HexKey, lockTs: bigint, currentTs: bigint): TxnStatusAnswer {
    const lock = this.locks.get(primary);
    if (lock !== undefined && lock.ts === lockTs) {
      if (physicalTime(currentTs) >= physicalTime(lock.ts) + BigInt(lock.ttl)) {
        this.rollbackOwnLock(primary, lock);
        return { action: 'TTLExpireRollback', lockTtl: 0, commitVersion: 0n };
      }
      return { action: 'NoAction', lockTtl: lock.ttl, commitVersion: 0n };
    }
    const found = this.currentWrite(primary, lockTs);
    if (found !== undefined) {
      const committed = found.write.kind !== WriteKind.Rollback;
      return { action: 'NoAction', lockTtl: 0, commitVersion: committed ? found.commitTs : 0n };
    }
    this.putWrite(primary, lockTs, { startTs: lockTs, kind: WriteKind.Rollback });
    return { action: 'LockNotExistRollback', lockTtl: 0, commitVersion: 0n };
  }

  /** True when the rollback failed (a key was committed; then nothing changed). */
  batchRollback(startTs: bigint, keys: HexKey[]): boolean {
    const next = this.clone();
    for (const key of keys) {
      if (!next.rollbackKey(key, startTs)) return true;
    }
    this.adopt(next);
    return false;
  }

  /** Commit (commitTs > 0) or roll back every key locked by startTs. True when it failed. */
  resolveLock(startTs: bigint, commitTs: bigint): boolean {
    const keys = [...this.locks.entries()].filter(([, lock]) => lock.ts === startTs).map(([key]) => key);
    const next = this.clone();
    for (const key of keys) {
      const ok = commitTs === 0n ? next.rollbackKey(key, startTs) : next.commitKey(key, startTs, commitTs);
      if (!ok) return true;
    }
    this.adopt(next);
    return false;
  }

  private rollbackKey(key: HexKey, startTs: bigint): boolean {
    const found = this.currentWrite(key, startTs);
    if (found !== undefined) return found.write.kind === WriteKind.Rollback;
    const lock = this.locks.get(key);
    if (lock !== undefined && lock.ts === startTs) this.rollbackOwnLock(key, lock);
    else this.putWrite(key, startTs, { startTs, kind: WriteKind.Rollback });
    return true;
  }

  private rollbackOwnLock(key: HexKey, lock: LockView): void {
    this.deleteLock(key);
    if (lock.kind === WriteKind.Put) this.deleteValue(key, lock.ts);
    this.putWrite(key, lock.ts, { startTs: lock.ts, kind: WriteKind.Rollback });
  }

  private adopt(next: MvccModel): void {
    this.locks = next.locks;
    this.values = next.values;
    this.writes = next.writes;
  }
}

function versionsOf<T>(m: Map<HexKey, Map<bigint, T>>, key: HexKey): Map<bigint, T> {
  let versions = m.get(key);
  if (versions === undefined) {
    versions = new Map();
    m.set(key, versions);
  }
  return versions;
}
