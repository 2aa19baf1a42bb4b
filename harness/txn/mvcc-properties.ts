/**
 * Properties of the transactional commands that need no model of them, checked after every command of
 * random scenarios (mvcc-commands.ts) in the 4B and 4C suites:
 *
 *  - all or nothing: a command that answers an error leaves the three families as they were;
 *  - repeatable: the same command sent again at once changes nothing (clients retry);
 *  - snapshots hold: reads at a version below every timestamp of a command answer the same before and
 *    after it (a transaction's writes are invisible below its timestamps);
 *  - committed means visible: right after a commit turns a transaction's lock on a key into a write
 *    record, a read at the commit timestamp sees that transaction's change (or another's blocking lock);
 *  - a well-formed store: a put's lock and commit record have their value in `default`, a rollback record
 *    sits at its transaction's start, a commit record after it, and no key keeps the lock of a transaction
 *    that has already committed it;
 *  - (4C) get and scan agree: a scan from a key reports that key exactly as a get at the same version does.
 */
import { isDeepStrictEqual } from 'node:util';
import { kvrpcpb } from '#proto';
import type { TxnApi } from '@impl/kv/server/txn-api.ts';
import { WriteKind } from '@impl/kv/transaction/mvcc/write.ts';
import { TxnTestBuilder } from './test-builder.ts';
import {
  type Answer,
  applyToApi,
  checkRandomScenarios,
  type Command,
  commandTimestamps,
  describeCommand,
  KEYS,
  plantEarlyRollbacks,
  type Scenario,
  show,
  type Stage,
  type TxnPlan,
  versionOf,
} from './mvcc-commands.ts';
import {
  describeFamilies,
  type FamiliesView,
  familiesOf,
  type HexKey,
  readAnswerOf,
  type ReadAnswer,
  scanPairsOf,
  unhex,
} from './mvcc-view.ts';

class PropertyViolation extends Error {}

function violated(property: string, detail: string): never {
  throw new PropertyViolation(`${property}: ${detail}`);
}

async function readAt(api: TxnApi, key: HexKey, version: bigint): Promise<ReadAnswer> {
  return readAnswerOf(await api.kvGet(kvrpcpb.GetRequest({ key: unhex(key), version })));
}

/** What a reader at `version` sees: every key's get, and (4C) a scan over all of them. */
async function snapshotAt(api: TxnApi, stage: Stage, version: bigint): Promise<unknown> {
  const gets = [];
  for (const key of KEYS) gets.push(await readAt(api, key, version));
  if (stage === '4b') return gets;
  const scan = scanPairsOf(await api.kvScan(kvrpcpb.ScanRequest({ startKey: new Uint8Array(0), limit: 10, version })));
  return { gets, scan };
}

function checkWellFormed(view: FamiliesView, txn: (startTs: bigint) => string): void {
  const hasValue = (key: HexKey, ts: bigint) => view.default.some(([k, t]) => k === key && t === ts);
  for (const [key, lock] of view.lock) {
    if (lock.kind === WriteKind.Put && !hasValue(key, lock.ts)) {
      violated('a well-formed store', `key ${key} has a put lock of ${txn(lock.ts)} but no value at ${lock.ts} in default`);
    }
    const committed = view.write.find(([k, , w]) => k === key && w.startTs === lock.ts && w.kind !== WriteKind.Rollback);
    if (committed !== undefined) {
      violated('a well-formed store', `key ${key} is still locked by ${txn(lock.ts)}, which committed it at ${committed[1]}`);
    }
  }
  for (const [key, commitTs, w] of view.write) {
    if (w.kind === WriteKind.Rollback && commitTs !== w.startTs) {
      violated('a well-formed store', `the rollback record of ${txn(w.startTs)} on key ${key} sits at ${commitTs}, not at its start`);
    }
    if (w.kind !== WriteKind.Rollback && commitTs <= w.startTs) {
      violated('a well-formed store', `${txn(w.startTs)} committed key ${key} at ${commitTs}, not after its start`);
    }
    if (w.kind === WriteKind.Put && !hasValue(key, w.startTs)) {
      violated('a well-formed store', `${txn(w.startTs)} committed a put of key ${key} but default has no value at ${w.startTs}`);
    }
  }
}

/** After a commit (or resolve) of txn: each key whose lock became a write record reads as the txn's change. */
async function checkCommittedVisible(
  api: TxnApi,
  txn: TxnPlan,
  name: string,
  before: FamiliesView,
  after: FamiliesView,
): Promise<void> {
  for (const m of txn.mutations) {
    const wasLocked = before.lock.some(([k, l]) => k === m.key && l.ts === txn.startTs);
    const nowWritten = after.write.some(([k, ts, w]) => k === m.key && ts === txn.commitTs && w.startTs === txn.startTs);
    if (!wasLocked || !nowWritten) continue;
    const got = await readAt(api, m.key, txn.commitTs);
    const want: ReadAnswer = m.op === 'put' ? { value: m.value } : { notFound: true };
    const blockedByOther = 'locked' in got && got.locked.ts !== txn.startTs;
    if (!blockedByOther && !isDeepStrictEqual(got, want)) {
      violated(
        'committed means visible',
        `${name} committed key ${m.key} at ${txn.commitTs}; a get at ${txn.commitTs} answers ${show(got)}, not ${show(want)}`,
      );
    }
  }
}

/** 4C: for each key, a scan starting at it agrees with a get of it. */
async function checkScanAgreesWithGet(api: TxnApi, version: bigint): Promise<void> {
  for (const key of KEYS) {
    const got = await readAt(api, key, version);
    const scan = scanPairsOf(await api.kvScan(kvrpcpb.ScanRequest({ startKey: unhex(key), limit: 1, version })));
    const first = scan[0];
    const scanSays: ReadAnswer =
      first === undefined || first.key !== key
        ? { notFound: true }
        : 'locked' in first
          ? { locked: first.locked }
          : { value: first.value };
    if (!isDeepStrictEqual(got, scanSays)) {
      violated('get and scan agree', `at ${version}, a get of key ${key} answers ${show(got)} but a scan from it ${show(scan)}`);
    }
  }
}

function beforeAndAfter(before: FamiliesView, after: FamiliesView): string {
  return `before:\n${describeFamilies(before)}\nafter:\n${describeFamilies(after)}`;
}

const isWrite = (cmd: Command) => cmd.op !== 'get' && cmd.op !== 'scan';

async function checkScenario(stage: Stage, scenario: Scenario): Promise<void> {
  const builder = new TxnTestBuilder();
  const api = builder.api;
  plantEarlyRollbacks(scenario, builder.mem);
  // Transactions are named as the scenario lists them (txn0..txn3), found by their start timestamp.
  const txnName = (startTs: bigint) => {
    const i = scenario.txns.findIndex((t) => t.startTs === startTs);
    return i < 0 ? `the txn that started at ${startTs}` : `txn${i}`;
  };
  for (const [i, cmd] of scenario.commands.entries()) {
    const step = `command ${i + 1} (${describeCommand(cmd)})`;
    try {
      const before = familiesOf(builder.mem);
      const timestamps = commandTimestamps(scenario.txns, cmd);
      const below = timestamps.length > 0 ? timestamps.reduce((a, b) => (a < b ? a : b)) - 1n : undefined;
      const seenBelow = below === undefined ? undefined : await snapshotAt(api, stage, below);

      const answer: Answer = await applyToApi(api, scenario.txns, cmd);
      const after = familiesOf(builder.mem);

      if ('failed' in answer && answer.failed && !isDeepStrictEqual(before, after)) {
        violated('all or nothing', `it answered an error but changed the store:\n${beforeAndAfter(before, after)}`);
      }
      if (below !== undefined && !isDeepStrictEqual(await snapshotAt(api, stage, below), seenBelow)) {
        violated('snapshots hold', `reads at ${below}, below every timestamp of the command, changed`);
      }
      checkWellFormed(after, txnName);
      if (cmd.op === 'commit' || (cmd.op === 'resolve' && cmd.commit)) {
        await checkCommittedVisible(api, scenario.txns[cmd.txn], `txn${cmd.txn}`, before, after);
      }
      if (stage === '4c' && (cmd.op === 'get' || cmd.op === 'scan')) {
        await checkScanAgreesWithGet(api, versionOf(scenario.txns, cmd.version));
      }
      if (isWrite(cmd)) {
        await applyToApi(api, scenario.txns, cmd);
        const again = familiesOf(builder.mem);
        if (!isDeepStrictEqual(after, again)) {
          violated('repeatable', `sent again, it changed the store:\n${beforeAndAfter(after, again)}`);
        }
      }
    } catch (err) {
      if (err instanceof PropertyViolation) throw new Error(`${step}: ${err.message}`);
      throw err;
    }
  }
}

/** Undefined when `runs` random scenarios of the stage keep every property; else the shrunk failing one. */
export function checkTxnProperties(stage: Stage, seed: number, runs: number): Promise<string | undefined> {
  return checkRandomScenarios(stage, seed, runs, (scenario) => checkScenario(stage, scenario));
}
