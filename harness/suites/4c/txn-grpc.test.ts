/**
 * Project 4C, end to end: concurrent Percolator transactions over real gRPC against one TinyKV server
 * (Server on MemStorage). Eight clients move money between ten accounts; some clients "crash" after
 * prewrite or after committing the primary, leaving locks for the others to resolve.
 *
 * Checked at the end:
 *   - the sum of the balances is unchanged;
 *   - replaying the transfers the driver reported committed, in commit-ts order, over the initial balances
 *     gives exactly the final balances (nothing committed is lost, nothing uncommitted shows);
 *   - every committed transfer read the balances that the transfers committed before its start left
 *     (snapshot reads);
 *   - a final scan sees no lock and the same balances.
 * The interleaving over gRPC varies from run to run; the checks hold for every interleaving.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kvrpcpb } from '#proto';
import { MemStorage } from '@impl/kv/storage/mem-storage.ts';
import { Server } from '@impl/kv/server/server.ts';
import { TinyKvGrpcServer } from '@impl/kv/server/grpc-server.ts';
import { SeededRandom } from '@impl/util/prng.ts';
import {
  ManualClock,
  PercolatorClient,
  TimestampOracle,
  TxnAbortedError,
  type CrashPoint,
} from '../../txn/percolator-client.ts';
import { GrpcTxnKv } from '../../txn/txn-kv.ts';

const ACCOUNTS = 10;
const INITIAL_BALANCE = 1000;
const CLIENTS = 8;
const TRANSFERS_PER_CLIENT = 25;
const ATTEMPTS_PER_TRANSFER = 30;
const LOCK_TTL_MS = 200;
/** The workload's seed: SEED, as for every suite, else 4242. Read when the test runs, not when the file loads. */
function workloadSeed(): number {
  const raw = process.env.SEED;
  return raw === undefined || raw === '' ? 4242 : Number(raw);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const accountKey = (i: number) => encoder.encode(`acct-${String(i).padStart(3, '0')}`);
const encodeBalance = (n: number) => encoder.encode(String(n));
const decodeBalance = (v: Uint8Array | undefined) => {
  if (v === undefined) throw new Error('account has no balance');
  return Number(decoder.decode(v));
};

interface CommittedTransfer {
  from: number;
  to: number;
  amount: number;
  startTs: bigint;
  commitTs: bigint;
  readFrom: number;
  readTo: number;
}

describe('4C transactions over gRPC', () => {
  let server: TinyKvGrpcServer;
  const kvs: GrpcTxnKv[] = [];

  beforeAll(async () => {
    server = await TinyKvGrpcServer.start(new Server(new MemStorage()), { addr: '127.0.0.1:0' });
  });

  afterAll(async () => {
    for (const kv of kvs) kv.close();
    await server?.stop();
  });

  it('TestConcurrentTransfersGrpc4C', async () => {
    // A clock that moves only when a client backs off: lock TTLs expire after enough waiting, whatever the machine.
    const clock = new ManualClock(1_700_000_000_000);
    const tso = new TimestampOracle(clock);
    const options = {
      lockTtlMs: LOCK_TTL_MS,
      maxLockRetries: 50,
      backoffMs: 10,
      sleep: async (ms: number) => {
        clock.advance(ms);
        await new Promise((resolve) => setTimeout(resolve, 1));
      },
    };
    const newClient = () => {
      const kv = new GrpcTxnKv(server.address);
      kvs.push(kv);
      return new PercolatorClient(kv, tso, options);
    };

    // Initial balances, in one transaction.
    const seed = workloadSeed();
    const setup = newClient().begin();
    for (let i = 0; i < ACCOUNTS; i++) setup.put(accountKey(i), encodeBalance(INITIAL_BALANCE));
    const setupOutcome = await setup.commit();
    expect(setupOutcome.status).toBe('committed');

    const committed: CommittedTransfer[] = [];
    const outcomes = { committed: 0, aborted: 0, abandoned: 0, crashedAfterPrimary: 0, gaveUp: 0 };
    const clients = Array.from({ length: CLIENTS }, newClient);

    await Promise.all(
      clients.map(async (client, worker) => {
        const rng = new SeededRandom(seed * 31 + worker);
        for (let t = 0; t < TRANSFERS_PER_CLIENT; t++) {
          const from = rng.nextInt(ACCOUNTS);
          const to = (from + 1 + rng.nextInt(ACCOUNTS - 1)) % ACCOUNTS;
          const amount = 1 + rng.nextInt(20);
          let done = false;
          for (let attempt = 0; attempt < ATTEMPTS_PER_TRANSFER && !done; attempt++) {
            const roll = rng.nextInt(100);
            const crash: CrashPoint = roll < 3 ? 'after-prewrite' : roll < 6 ? 'after-primary-commit' : 'none';
            const txn = client.begin();
            let readFrom: number;
            let readTo: number;
            try {
              readFrom = decodeBalance(await txn.get(accountKey(from)));
              readTo = decodeBalance(await txn.get(accountKey(to)));
            } catch (err) {
              if (!(err instanceof TxnAbortedError)) throw err;
              outcomes.aborted += 1; // waited too long on live locks: start over
              continue;
            }
            txn.put(accountKey(from), encodeBalance(readFrom - amount));
            txn.put(accountKey(to), encodeBalance(readTo + amount));
            const outcome = await txn.commit(crash);
            if (outcome.status === 'committed') {
              committed.push({ from, to, amount, startTs: outcome.startTs, commitTs: outcome.commitTs, readFrom, readTo });
              outcomes.committed += 1;
              if (crash === 'after-primary-commit') outcomes.crashedAfterPrimary += 1;
              done = true;
            } else if (outcome.status === 'abandoned') {
              outcomes.abandoned += 1; // never committed: the resolvers must roll it back
            } else {
              outcomes.aborted += 1;
            }
          }
          if (!done) outcomes.gaveUp += 1;
        }
      }),
    );

    // Let every abandoned lock expire, then read everything with a fresh transaction (resolving as it goes).
    clock.advance(10 * LOCK_TTL_MS);
    const reader = newClient();
    const finalTxn = reader.begin();
    const final: number[] = [];
    for (let i = 0; i < ACCOUNTS; i++) final.push(decodeBalance(await finalTxn.get(accountKey(i))));

    // 1. Money is neither created nor destroyed.
    expect(final.reduce((a, b) => a + b, 0)).toBe(ACCOUNTS * INITIAL_BALANCE);

    // 2. The committed transfers, replayed in commit order, explain the final state exactly.
    committed.sort((a, b) => (a.commitTs < b.commitTs ? -1 : a.commitTs > b.commitTs ? 1 : 0));
    const commitTimes = new Set(committed.map((c) => c.commitTs));
    expect(commitTimes.size).toBe(committed.length);
    const replay = Array.from({ length: ACCOUNTS }, () => INITIAL_BALANCE);
    for (const c of committed) {
      replay[c.from] -= c.amount;
      replay[c.to] += c.amount;
    }
    expect(final).toEqual(replay);

    // 3. Each committed transfer read what the transfers committed before its start had left.
    const state = Array.from({ length: ACCOUNTS }, () => INITIAL_BALANCE);
    const byStart = [...committed].sort((a, b) => (a.startTs < b.startTs ? -1 : 1));
    let applied = 0;
    for (const c of byStart) {
      while (applied < committed.length && committed[applied].commitTs < c.startTs) {
        const earlier = committed[applied++];
        state[earlier.from] -= earlier.amount;
        state[earlier.to] += earlier.amount;
      }
      expect({ startTs: c.startTs, from: c.readFrom, to: c.readTo }).toEqual({
        startTs: c.startTs,
        from: state[c.from],
        to: state[c.to],
      });
    }

    // 4. No lock is left on any account, and a scan agrees with the reads.
    const scan = await reader.kv.kvScan(
      kvrpcpb.ScanRequest({ startKey: accountKey(0), limit: ACCOUNTS + 5, version: reader.tso.next() }),
    );
    expect(scan.regionError).toBeUndefined();
    expect(scan.pairs.map((p) => p.error)).toEqual(Array.from({ length: ACCOUNTS }, () => undefined));
    expect(scan.pairs.map((p) => decodeBalance(p.value))).toEqual(final);

    if (process.env.TXN_STATS) {
      const resolver = clients.reduce(
        (sum, c) => ({
          lockResolutions: sum.lockResolutions + c.stats.lockResolutions,
          rolledBackOthers: sum.rolledBackOthers + c.stats.rolledBackOthers,
          committedOthers: sum.committedOthers + c.stats.committedOthers,
          waits: sum.waits + c.stats.waits,
        }),
        { lockResolutions: 0, rolledBackOthers: 0, committedOthers: 0, waits: 0 },
      );
      console.log(JSON.stringify({ seed, outcomes, resolver, final: reader.stats }));
    }
    expect(outcomes.committed).toBeGreaterThan(0);
    expect(outcomes.committed + outcomes.gaveUp).toBe(CLIENTS * TRANSFERS_PER_CLIENT);
  });
});
