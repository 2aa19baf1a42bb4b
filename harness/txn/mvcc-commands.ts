/**
 * Random sequences of transactional commands for the property tests of 4B and 4C (and the kit's
 * model-based tests): four transactions, each with its own start and commit timestamps, TTL and changes
 * (its first key is its primary); the usual lives of some of them (prewrite, commit the primary, commit the
 * rest) interleaved; and stray KvGet, KvPrewrite, KvCommit, KvScan, KvCheckTxnStatus, KvBatchRollback and
 * KvResolveLock commands in between, on a handful of keys.
 *
 * The values are chosen to hit boundaries: keys that are prefixes of each other, reads at exactly a start
 * or commit timestamp, TTLs that run out exactly at the current time, scans that start between keys.
 * Timestamps are unique (as a TSO hands them out), so a start timestamp never equals another
 * transaction's commit timestamp; in half the scenarios the transactions run one after another.
 */
import fc from 'fast-check';
import { kvrpcpb } from '#proto';
import type { TxnApi } from '@impl/kv/server/txn-api.ts';
import type { MemStorage } from '@impl/kv/storage/mem-storage.ts';
import { composeTs, encodeKey, TS_MAX } from '@impl/kv/transaction/mvcc/codec.ts';
import { Write, WriteKind } from '@impl/kv/transaction/mvcc/write.ts';
import {
  type HexKey,
  present,
  readAnswerOf,
  type ReadAnswer,
  type ScanPair,
  scanPairsOf,
  statusOf,
  type TxnStatusAnswer,
  unhex,
} from './mvcc-view.ts';

/** User keys: [1], [1,0] and [1,255] share a prefix. Few keys, so transactions meet on them. */
export const KEYS: readonly HexKey[] = ['01', '0100', '01ff', '02'];
/** Where scans start: before every key, on keys, and between them. */
const SCAN_STARTS: readonly HexKey[] = ['', '00', '01', '0100', '0101', '02', '03'];
const VALUES: readonly HexKey[] = ['0a', '0b', '0c', 'ffff'];
/** TTLs in milliseconds; the timestamps' physical parts are 0-5 ms apart, so some locks expire. */
const TTLS = [0, 1, 3, 1000];
const TXNS = 4;

/** One transaction: its timestamps, its TTL and the changes it makes (the first key is its primary). */
export interface TxnPlan {
  startTs: bigint;
  commitTs: bigint;
  ttl: number;
  mutations: MutationPlan[];
}

export interface MutationPlan {
  key: HexKey;
  op: 'put' | 'del';
  value: HexKey;
}

/** Which keys of its transaction a command names: all, the primary, the others, or a key it never wrote. */
export type Part = 'all' | 'primary' | 'secondaries' | { stray: HexKey };

/** A read's version: just before, at or just after one transaction's start or commit, or TS_MAX. */
export type Version = { txn: number; at: 'start' | 'commit'; delta: -1 | 0 | 1 } | 'max';

export function versionOf(txns: TxnPlan[], v: Version): bigint {
  if (v === 'max') return TS_MAX;
  return (v.at === 'start' ? txns[v.txn].startTs : txns[v.txn].commitTs) + BigInt(v.delta);
}

export type Command =
  | { op: 'get'; key: HexKey; version: Version }
  | { op: 'prewrite'; txn: number; part: Part }
  | { op: 'commit'; txn: number; part: Part }
  | { op: 'scan'; startKey: HexKey; limit: number; version: Version }
  | { op: 'checkTxnStatus'; txn: number; currentTs: bigint }
  | { op: 'rollback'; txn: number; part: Part }
  | { op: 'resolve'; txn: number; commit: boolean };

export const primaryOf = (txn: TxnPlan): HexKey => txn.mutations[0].key;

/** The mutations of txn that a command's part names (a stray key is never prewritten). */
export function mutationsOf(txn: TxnPlan, part: Part): MutationPlan[] {
  if (part === 'all') return txn.mutations;
  if (part === 'primary') return txn.mutations.slice(0, 1);
  if (part === 'secondaries') return txn.mutations.slice(1);
  return [];
}

export function keysOf(txn: TxnPlan, part: Part): HexKey[] {
  return typeof part === 'object' ? [part.stray] : mutationsOf(txn, part).map((m) => m.key);
}

export interface Scenario {
  txns: TxnPlan[];
  /** Transactions rolled back before the first command: a rollback record at their start on each of their keys. */
  rolledBackEarly: number[];
  commands: Command[];
}

/** A command's answer, reduced to what a client acts on. */
export type Answer =
  | { failed: boolean }
  | { read: ReadAnswer }
  | { scan: ScanPair[] }
  | { status: TxnStatusAnswer };

export type Stage = '4b' | '4c';

/** Timestamp number n (0-23) as a TSO value: physical ms n/4, logical 1-4. Order is kept. */
function tsOf(n: number): bigint {
  return composeTs(BigInt(Math.floor(n / 4)), BigInt((n % 4) + 1));
}

const txnArb = fc.nat(TXNS - 1);
const versionArb: fc.Arbitrary<Version> = fc.oneof(
  {
    weight: 9,
    arbitrary: fc.record({
      txn: txnArb,
      at: fc.constantFrom('start' as const, 'commit' as const),
      delta: fc.constantFrom(-1 as const, 0 as const, 1 as const),
    }),
  },
  { weight: 1, arbitrary: fc.constant('max' as const) },
);
const partArb = (stray: boolean): fc.Arbitrary<Part> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant('all' as const) },
    { weight: 2, arbitrary: fc.constant('primary' as const) },
    { weight: 2, arbitrary: fc.constant('secondaries' as const) },
    { weight: stray ? 1 : 0, arbitrary: fc.constantFrom(...KEYS).map((key) => ({ stray: key })) },
  );
const mutationsArb = fc.uniqueArray(
  fc.record({
    key: fc.constantFrom(...KEYS),
    op: fc.constantFrom('put' as const, 'put' as const, 'del' as const),
    value: fc.constantFrom(...VALUES),
  }),
  { minLength: 1, maxLength: 3, selector: (m) => m.key },
);

const commandArbs = {
  get: fc.record({ op: fc.constant('get' as const), key: fc.constantFrom(...KEYS), version: versionArb }),
  prewrite: fc.record({ op: fc.constant('prewrite' as const), txn: txnArb, part: partArb(false) }),
  commit: fc.record({ op: fc.constant('commit' as const), txn: txnArb, part: partArb(true) }),
  scan: fc.record({
    op: fc.constant('scan' as const),
    startKey: fc.constantFrom(...SCAN_STARTS),
    limit: fc.integer({ min: 1, max: 4 }),
    version: versionArb,
  }),
  checkTxnStatus: fc.record({
    op: fc.constant('checkTxnStatus' as const),
    txn: txnArb,
    currentTs: fc.integer({ min: 0, max: 23 }).map(tsOf),
  }),
  rollback: fc.record({ op: fc.constant('rollback' as const), txn: txnArb, part: partArb(true) }),
  resolve: fc.record({ op: fc.constant('resolve' as const), txn: txnArb, commit: fc.boolean() }),
};

/**
 * The commands of each stage (4B's suite uses only what 4B students have written), with weights: writes
 * come often enough that later reads find data, and rollbacks rarely enough that not every key is blocked.
 */
const STAGE_COMMANDS: Record<Stage, [keyof typeof commandArbs, number][]> = {
  '4b': [
    ['get', 3],
    ['prewrite', 4],
    ['commit', 4],
  ],
  '4c': [
    ['get', 4],
    ['prewrite', 8],
    ['commit', 8],
    ['scan', 3],
    ['checkTxnStatus', 1],
    ['rollback', 1],
    ['resolve', 1],
  ],
};

/** The usual life of a transaction: prewrite every key, commit the primary, then the others. */
function lifecycle(txn: number): Command[] {
  return [
    { op: 'prewrite', txn, part: 'all' },
    { op: 'commit', txn, part: 'primary' },
    { op: 'commit', txn, part: 'secondaries' },
  ];
}

/**
 * Four transactions with unique timestamps (start < commit), the usual lives of some of them interleaved
 * (so reads find committed data and locks of unfinished transactions), and random commands of the stage
 * mixed in between (rollbacks, status checks, commits of keys never written, reads at boundaries).
 */
export function scenarioArbitrary(stage: Stage, maxExtraCommands = 30): fc.Arbitrary<Scenario> {
  const timestamps = fc.uniqueArray(fc.integer({ min: 0, max: 23 }), { minLength: 2 * TXNS, maxLength: 2 * TXNS });
  const perTxn = <T>(arb: fc.Arbitrary<T>) => fc.array(arb, { minLength: TXNS, maxLength: TXNS });
  const command = fc.oneof(
    ...STAGE_COMMANDS[stage].map(([name, weight]) => ({ weight, arbitrary: commandArbs[name] as fc.Arbitrary<Command> })),
  );
  const position = fc.nat(999);
  return fc
    .record({
      ts: timestamps,
      // Serial: each transaction starts after the one before committed (no write conflicts among them).
      serial: fc.boolean(),
      mutations: perTxn(mutationsArb),
      ttls: perTxn(fc.constantFrom(...TTLS)),
      // Where each step of a transaction's usual life falls, or null: that transaction has no usual life.
      lives: perTxn(fc.option(fc.tuple(position, position, position), { freq: 4 })),
      rolledBack: perTxn(fc.nat(4).map((n) => n === 4)),
      extra: fc.array(fc.tuple(position, command), { maxLength: maxExtraCommands, size: 'max' }),
    })
    .map(({ ts, serial, mutations, ttls, lives, rolledBack, extra }) => {
      const order = serial ? [...ts].sort((x, y) => x - y) : ts;
      const txns = mutations.map((changes, i): TxnPlan => {
        const [a, b] = [order[2 * i], order[2 * i + 1]].sort((x, y) => x - y);
        return { startTs: tsOf(a), commitTs: tsOf(b), ttl: ttls[i], mutations: changes };
      });
      const placed: [number, Command][] = [...extra];
      lives.forEach((life, txn) => {
        if (life === null) return;
        const steps = lifecycle(txn);
        [...life].sort((x, y) => x - y).forEach((at, k) => placed.push([at, steps[k]]));
      });
      // A stable sort: equal positions keep the order above (a life's steps stay in order).
      const commands = placed.sort((x, y) => x[0] - y[0]).map(([, cmd]) => cmd);
      const rolledBackEarly = rolledBack.flatMap((early, txn) => (early ? [txn] : []));
      return { txns, rolledBackEarly, commands };
    });
}

const bytesOf = (keys: HexKey[]) => keys.map(unhex);

/** The rollback records a scenario starts with: (key, start ts) for each key of each txn rolled back early. */
export function earlyRollbacks(scenario: Scenario): { key: HexKey; ts: bigint }[] {
  return scenario.rolledBackEarly.flatMap((i) =>
    keysOf(scenario.txns[i], 'all').map((key) => ({ key, ts: scenario.txns[i].startTs })),
  );
}

/** Put a scenario's starting rollback records into a MemStorage, as stored bytes. */
export function plantEarlyRollbacks(scenario: Scenario, mem: MemStorage): void {
  for (const { key, ts } of earlyRollbacks(scenario)) {
    mem.set('write', encodeKey(unhex(key), ts), new Write(ts, WriteKind.Rollback).toBytes());
  }
}

/** Run one command through the implementation's TxnApi. */
export async function applyToApi(api: TxnApi, txns: TxnPlan[], cmd: Command): Promise<Answer> {
  switch (cmd.op) {
    case 'get':
      return { read: readAnswerOf(await api.kvGet(kvrpcpb.GetRequest({ key: unhex(cmd.key), version: versionOf(txns, cmd.version) }))) };
    case 'prewrite': {
      const txn = txns[cmd.txn];
      const mutations = mutationsOf(txn, cmd.part).map((m) =>
        kvrpcpb.Mutation({
          key: unhex(m.key),
          value: m.op === 'put' ? unhex(m.value) : new Uint8Array(0),
          op: m.op === 'put' ? kvrpcpb.Op.Put : kvrpcpb.Op.Del,
        }),
      );
      const resp = await api.kvPrewrite(
        kvrpcpb.PrewriteRequest({ primaryLock: unhex(primaryOf(txn)), startVersion: txn.startTs, lockTtl: txn.ttl, mutations }),
      );
      return { failed: resp.errors.length > 0 || present(resp.regionError) };
    }
    case 'commit': {
      const txn = txns[cmd.txn];
      const resp = await api.kvCommit(
        kvrpcpb.CommitRequest({ startVersion: txn.startTs, commitVersion: txn.commitTs, keys: bytesOf(keysOf(txn, cmd.part)) }),
      );
      return { failed: present(resp.error) || present(resp.regionError) };
    }
    case 'scan':
      return {
        scan: scanPairsOf(
          await api.kvScan(kvrpcpb.ScanRequest({ startKey: unhex(cmd.startKey), limit: cmd.limit, version: versionOf(txns, cmd.version) })),
        ),
      };
    case 'checkTxnStatus': {
      const txn = txns[cmd.txn];
      const resp = await api.kvCheckTxnStatus(
        kvrpcpb.CheckTxnStatusRequest({ primaryKey: unhex(primaryOf(txn)), lockTs: txn.startTs, currentTs: cmd.currentTs }),
      );
      return { status: statusOf(resp) };
    }
    case 'rollback': {
      const txn = txns[cmd.txn];
      const resp = await api.kvBatchRollback(
        kvrpcpb.BatchRollbackRequest({ startVersion: txn.startTs, keys: bytesOf(keysOf(txn, cmd.part)) }),
      );
      return { failed: present(resp.error) || present(resp.regionError) };
    }
    case 'resolve': {
      const txn = txns[cmd.txn];
      const resp = await api.kvResolveLock(
        kvrpcpb.ResolveLockRequest({ startVersion: txn.startTs, commitVersion: cmd.commit ? txn.commitTs : 0n }),
      );
      return { failed: present(resp.error) || present(resp.regionError) };
    }
  }
}

/** The timestamps a command writes at: reads at a version below all of them must not see it. */
export function commandTimestamps(txns: TxnPlan[], cmd: Command): bigint[] {
  switch (cmd.op) {
    case 'get':
    case 'scan':
      return [];
    case 'commit':
    case 'resolve':
      return [txns[cmd.txn].startTs, txns[cmd.txn].commitTs];
    default:
      return [txns[cmd.txn].startTs];
  }
}

export function describeTxns(txns: TxnPlan[]): string {
  const change = (m: MutationPlan) => (m.op === 'put' ? `put ${m.key}=${m.value}` : `delete ${m.key}`);
  return txns
    .map((t, i) => {
      const changes = t.mutations.map(change).join(', ');
      return `txn${i}: start ${t.startTs}, commit ${t.commitTs}, ttl ${t.ttl} ms, ${changes} (primary ${primaryOf(t)})`;
    })
    .join('\n');
}

function describeVersion(v: Version): string {
  if (v === 'max') return 'TS_MAX';
  return `${v.at}(txn${v.txn})${v.delta === 0 ? '' : v.delta > 0 ? '+1' : '-1'}`;
}

function describePart(part: Part): string {
  return typeof part === 'object' ? `key ${part.stray}` : part === 'all' ? 'all keys' : part;
}

export function describeCommand(cmd: Command): string {
  switch (cmd.op) {
    case 'get':
      return `get ${cmd.key} @${describeVersion(cmd.version)}`;
    case 'prewrite':
    case 'commit':
    case 'rollback':
      return `${cmd.op} txn${cmd.txn} (${describePart(cmd.part)})`;
    case 'scan':
      return `scan from '${cmd.startKey}' limit ${cmd.limit} @${describeVersion(cmd.version)}`;
    case 'checkTxnStatus':
      return `check-txn-status txn${cmd.txn} now ${cmd.currentTs}`;
    case 'resolve':
      return `resolve-lock txn${cmd.txn} ${cmd.commit ? 'commit' : 'rollback'}`;
  }
}

/** JSON with bigints as plain numbers, for failure messages. */
export function show(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

/**
 * Run `runs` random scenarios of a stage through `check` (which throws on the first problem). On a
 * failure: the problem, the shrunk scenario (fast-check keeps removing commands while it still fails) and
 * the seed that replays it.
 */
export async function checkRandomScenarios(
  stage: Stage,
  seed: number,
  runs: number,
  check: (scenario: Scenario) => Promise<void>,
): Promise<string | undefined> {
  return checkShrinking(scenarioArbitrary(stage), check, seed, runs, (scenario) =>
    `shrunk scenario (${scenario.commands.length} commands):\n${describeTxns(scenario.txns)}\n` +
    scenario.rolledBackEarly.map((i) => `txn${i} was rolled back before the first command\n`).join('') +
    scenario.commands.map((c, i) => `${i + 1}. ${describeCommand(c)}`).join('\n'),
  );
}

/**
 * Check `runs` values of `arbitrary` with `check` (which throws on a problem), seeded by `seed`. Undefined when
 * all pass; else the problem, the shrunk value as `describe` prints it, and the seed that replays it.
 */
export async function checkShrinking<T>(
  arbitrary: fc.Arbitrary<T>,
  check: (value: T) => Promise<void>,
  seed: number,
  runs: number,
  describe: (value: T) => string,
): Promise<string | undefined> {
  const result = await fc.check(fc.asyncProperty(arbitrary, check), { seed, numRuns: runs });
  if (!result.failed) return undefined;
  const error = result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance);
  if (result.counterexample === null) return error;
  const [value] = result.counterexample;
  return `${error}\n\n${describe(value)}\n\nreplay: SEED=${seed} (fast-check path ${result.counterexamplePath})`;
}
