/**
 * KIT-ONLY. The model-based checks of 4A-4C. 4B/4C: each random scenario runs on the implementation's
 * TxnApi (over a MemStorage, with latch validation) and on the executable model (mvcc-model.kit-only.ts);
 * 4A: random sequences of MvccTxn's steps (buffered changes and lookups). After every command or step the
 * answers and the decoded contents of the three families must be equal.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { MemStorage } from '@impl/kv/storage/mem-storage.ts';
import { TS_MAX } from '@impl/kv/transaction/mvcc/codec.ts';
import { Lock } from '@impl/kv/transaction/mvcc/lock.ts';
import { type FoundWrite, MvccTxn } from '@impl/kv/transaction/mvcc/transaction.ts';
import { TxnTestBuilder } from './test-builder.ts';
import { Write, WriteKind } from '@impl/kv/transaction/mvcc/write.ts';
import {
  applyToApi,
  checkRandomScenarios,
  checkShrinking,
  describeCommand,
  earlyRollbacks,
  KEYS,
  plantEarlyRollbacks,
  type Scenario,
  show,
  type Stage,
} from './mvcc-commands.ts';
import { applyToModel, MvccModel } from './mvcc-model.kit-only.ts';
import { describeFamilies, familiesOf, hex, type HexKey, unhex } from './mvcc-view.ts';

async function compareWithModel(scenario: Scenario): Promise<void> {
  const builder = new TxnTestBuilder();
  const model = new MvccModel();
  plantEarlyRollbacks(scenario, builder.mem);
  for (const { key, ts } of earlyRollbacks(scenario)) model.putWrite(key, ts, { startTs: ts, kind: WriteKind.Rollback });
  for (const [i, cmd] of scenario.commands.entries()) {
    const step = `after command ${i + 1} (${describeCommand(cmd)})`;
    const got = await applyToApi(builder.api, scenario.txns, cmd);
    const want = applyToModel(model, scenario.txns, cmd);
    if (!isDeepStrictEqual(got, want)) {
      throw new Error(`${step}: the answer is ${show(got)}, the model answers ${show(want)}`);
    }
    const stored = familiesOf(builder.mem);
    const modelled = model.view();
    if (!isDeepStrictEqual(stored, modelled)) {
      throw new Error(
        `${step}: the store differs from the model.\nstore:\n${describeFamilies(stored)}\nmodel:\n${describeFamilies(modelled)}`,
      );
    }
  }
}

/** Undefined when `runs` random scenarios all agree with the model; else the shrunk failing scenario. */
export function checkAgainstModel(stage: Stage, seed: number, runs: number): Promise<string | undefined> {
  return checkRandomScenarios(stage, seed, runs, compareWithModel);
}

// ------------------------------------------------------------------ 4A: MvccTxn's primitives

type Primitive =
  | { op: 'putLock'; key: HexKey; ts: bigint; kind: WriteKind; primary: HexKey; ttl: number }
  | { op: 'deleteLock'; key: HexKey }
  | { op: 'putValue'; key: HexKey; ts: bigint; value: HexKey }
  | { op: 'deleteValue'; key: HexKey; ts: bigint }
  | { op: 'putWrite'; key: HexKey; commitTs: bigint; startTs: bigint; kind: WriteKind }
  | { op: 'getLock'; key: HexKey }
  | { op: 'getValue'; key: HexKey; ts: bigint }
  | { op: 'currentWrite'; key: HexKey; ts: bigint }
  | { op: 'mostRecentWrite'; key: HexKey };

/** Small timestamps that tie often, and 64-bit ones beyond 2^53 and at the top of the range. */
const TIMESTAMPS = [1n, 2n, 3n, 4n, 5n, 6n, 2n ** 53n + 1n, 2n ** 63n, TS_MAX - 1n, TS_MAX];
const tsArb = fc.constantFrom(...TIMESTAMPS);
const keyArb = fc.constantFrom(...KEYS);
const kindArb = fc.constantFrom(WriteKind.Put, WriteKind.Delete, WriteKind.Rollback);

const primitiveArb: fc.Arbitrary<Primitive> = fc.oneof(
  fc.record({
    op: fc.constant('putLock' as const),
    key: keyArb,
    ts: tsArb,
    kind: kindArb,
    primary: keyArb,
    ttl: fc.constantFrom(0, 3000),
  }),
  fc.record({ op: fc.constant('deleteLock' as const), key: keyArb }),
  fc.record({ op: fc.constant('putValue' as const), key: keyArb, ts: tsArb, value: fc.constantFrom('0a', '0b', 'ffff') }),
  fc.record({ op: fc.constant('deleteValue' as const), key: keyArb, ts: tsArb }),
  {
    // Twice as likely as each other kind of step: reads need write records to look at.
    arbitrary: fc
      .record({ op: fc.constant('putWrite' as const), key: keyArb, a: tsArb, b: tsArb, kind: kindArb })
      .map(({ op, key, a, b, kind }): Primitive => {
        // A commit is never before its start; a rollback sits at the start.
        const [startTs, commitTs] = a <= b ? [a, b] : [b, a];
        return { op, key, startTs, commitTs: kind === WriteKind.Rollback ? startTs : commitTs, kind };
      }),
    weight: 2,
  },
  fc.record({ op: fc.constant('getLock' as const), key: keyArb }),
  fc.record({ op: fc.constant('getValue' as const), key: keyArb, ts: tsArb }),
  fc.record({ op: fc.constant('currentWrite' as const), key: keyArb, ts: tsArb }),
  fc.record({ op: fc.constant('mostRecentWrite' as const), key: keyArb }),
);

function describePrimitive(p: Primitive): string {
  const { op, ...args } = p;
  return `${op} ${show(args)}`;
}

/** Run one primitive on an MvccTxn over `mem` (writes are written at once) and on the model; both answers. */
async function applyPrimitive(mem: MemStorage, model: MvccModel, p: Primitive): Promise<[unknown, unknown]> {
  const txn = new MvccTxn(await mem.reader(undefined), 'ts' in p ? p.ts : 'startTs' in p ? p.startTs : 0n);
  const key = unhex(p.key);
  const found = (f: FoundWrite | undefined) =>
    f === undefined ? undefined : { commitTs: f.commitTs, write: { startTs: f.write.startTs, kind: f.write.kind } };
  const lockOf = (l: Lock | undefined) =>
    l === undefined ? undefined : { primary: hex(l.primary), ts: l.ts, ttl: l.ttl, kind: l.kind };
  let answers: [unknown, unknown] = [undefined, undefined];
  switch (p.op) {
    case 'putLock':
      txn.putLock(key, new Lock(unhex(p.primary), p.ts, p.ttl, p.kind));
      model.putLock(p.key, { primary: p.primary, ts: p.ts, ttl: p.ttl, kind: p.kind });
      break;
    case 'deleteLock':
      txn.deleteLock(key);
      model.deleteLock(p.key);
      break;
    case 'putValue':
      txn.putValue(key, unhex(p.value));
      model.putValue(p.key, p.ts, p.value);
      break;
    case 'deleteValue':
      txn.deleteValue(key);
      model.deleteValue(p.key, p.ts);
      break;
    case 'putWrite':
      txn.putWrite(key, p.commitTs, new Write(p.startTs, p.kind));
      model.putWrite(p.key, p.commitTs, { startTs: p.startTs, kind: p.kind });
      break;
    case 'getLock':
      answers = [lockOf(await txn.getLock(key)), model.locks.get(p.key)];
      break;
    case 'getValue': {
      const value = await txn.getValue(key);
      answers = [value === undefined ? undefined : hex(value), model.valueAt(p.key, p.ts)];
      break;
    }
    case 'currentWrite':
      answers = [found(await txn.currentWrite(key)), model.currentWrite(p.key, p.ts)];
      break;
    case 'mostRecentWrite':
      answers = [found(await txn.mostRecentWrite(key)), model.mostRecentWrite(p.key)];
      break;
  }
  await txn.reader.close();
  if (txn.writes.length > 0) await mem.write(undefined, [...txn.writes]);
  return answers;
}

async function comparePrimitives(primitives: Primitive[]): Promise<void> {
  const mem = new MemStorage();
  const model = new MvccModel();
  for (const [i, p] of primitives.entries()) {
    const step = `after step ${i + 1} (${describePrimitive(p)})`;
    const [got, want] = await applyPrimitive(mem, model, p);
    if (!isDeepStrictEqual(got, want)) throw new Error(`${step}: MvccTxn answers ${show(got)}, the model ${show(want)}`);
    const stored = familiesOf(mem);
    const modelled = model.view();
    if (!isDeepStrictEqual(stored, modelled)) {
      throw new Error(
        `${step}: the store differs from the model.\nstore:\n${describeFamilies(stored)}\nmodel:\n${describeFamilies(modelled)}`,
      );
    }
  }
}

/** Undefined when `runs` random sequences of MvccTxn steps agree with the model; else the shrunk one. */
export function checkPrimitivesAgainstModel(seed: number, runs: number): Promise<string | undefined> {
  const sequences = fc.array(primitiveArb, { minLength: 1, maxLength: 40, size: 'max' });
  return checkShrinking(sequences, comparePrimitives, seed, runs, (steps) =>
    `shrunk sequence (${steps.length} steps, each on a fresh MvccTxn whose start is the step's ts):\n` +
    steps.map((p, i) => `${i + 1}. ${describePrimitive(p)}`).join('\n'),
  );
}
