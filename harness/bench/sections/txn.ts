/**
 * Transactions over gRPC on loopback: committed transfer transactions per second.
 *
 * The real Server on StandaloneStorage runs in a child process (harness/bench/raw-server.ts). Clients run
 * the Percolator driver (harness/txn/percolator-client.ts): each transfer reads two accounts at its start ts,
 * then prewrites both (primary first), takes a commit ts and commits both: 6 RPCs when nothing is in the
 * way. A transfer that aborts (write conflict) is retried as a new transaction. Measured with 1 and 8
 * closed-loop clients, over 1000 accounts (little contention) and over 10 (much). Figures only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { SeededRandom } from '@impl/util/prng.ts';
import { PercolatorClient, systemClock, TimestampOracle, TxnAbortedError } from '../../txn/percolator-client.ts';
import { GrpcTxnKv } from '../../txn/txn-kv.ts';

const MEASURE_MS = Number(process.env.BENCH_MS ?? 2000);
const WARMUP_MS = 300;
const CLIENTS = [1, 8] as const;
const ACCOUNT_COUNTS = [1000, 10] as const;
const SERVER_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'raw-server.ts');

interface TxnFigure {
  accounts: number;
  clients: number;
  committed: number;
  aborted: number;
  seconds: number;
  committedPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const accountKey = (accounts: number, i: number) => encoder.encode(`bench-${accounts}-${String(i).padStart(6, '0')}`);

async function startServer(dir: string): Promise<{ address: string; stop: () => Promise<void> }> {
  const proc: ChildProcess = spawn(process.execPath, ['--import', 'tsx', SERVER_SCRIPT, 'standalone', dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    exited.then(() => reject(new Error('bench server exited before listening')));
  });
  return {
    address,
    stop: async () => {
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

function newClient(kv: GrpcTxnKv, tso: TimestampOracle): PercolatorClient {
  return new PercolatorClient(kv, tso, {
    lockTtlMs: 1000,
    maxLockRetries: 400,
    backoffMs: 5,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  });
}

/** One transfer, retried as new transactions until it commits; returns the aborts on the way. */
async function transfer(client: PercolatorClient, accounts: number, rng: SeededRandom): Promise<number> {
  const from = rng.nextInt(accounts);
  const to = (from + 1 + rng.nextInt(accounts - 1)) % accounts;
  for (let aborts = 0; aborts <= 1000; aborts++) {
    const txn = client.begin();
    try {
      const a = Number(decoder.decode((await txn.get(accountKey(accounts, from)))!));
      const b = Number(decoder.decode((await txn.get(accountKey(accounts, to)))!));
      txn.put(accountKey(accounts, from), encoder.encode(String(a - 1)));
      txn.put(accountKey(accounts, to), encoder.encode(String(b + 1)));
    } catch (err) {
      if (err instanceof TxnAbortedError) continue; // waited too long on a lock: start over
      throw err;
    }
    if ((await txn.commit()).status === 'committed') return aborts;
  }
  throw new Error('bench transfer: more than 1000 aborts in a row');
}

async function measure(kvs: GrpcTxnKv[], tso: TimestampOracle, accounts: number, clients: number): Promise<TxnFigure> {
  const run = async (ms: number) => {
    const latencies: number[] = [];
    let aborted = 0;
    const start = performance.now();
    await Promise.all(
      kvs.slice(0, clients).map(async (kv, w) => {
        const client = newClient(kv, tso);
        const rng = new SeededRandom(1000 * accounts + w);
        while (performance.now() < start + ms) {
          const t0 = performance.now();
          aborted += await transfer(client, accounts, rng);
          latencies.push(performance.now() - t0);
        }
      }),
    );
    return { latencies, aborted, seconds: (performance.now() - start) / 1000 };
  };
  await run(WARMUP_MS);
  const { latencies, aborted, seconds } = await run(MEASURE_MS);
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    accounts,
    clients,
    committed: latencies.length,
    aborted,
    seconds,
    committedPerSecond: latencies.length / seconds,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}

async function runTxnBench(): Promise<{ name: 'txn'; figures: TxnFigure[] }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tinykv-bench-txn-'));
  const server = await startServer(path.join(dir, 'server'));
  const kvs = Array.from({ length: Math.max(...CLIENTS) }, () => new GrpcTxnKv(server.address, { 'grpc.use_local_subchannel_pool': 1 }));
  const tso = new TimestampOracle(systemClock);
  const figures: TxnFigure[] = [];
  try {
    for (const accounts of ACCOUNT_COUNTS) {
      const setup = newClient(kvs[0], tso).begin();
      for (let i = 0; i < accounts; i++) setup.put(accountKey(accounts, i), encoder.encode('1000000'));
      if ((await setup.commit()).status !== 'committed') throw new Error('bench setup transaction did not commit');
      for (const clients of CLIENTS) {
        const f = await measure(kvs, tso, accounts, clients);
        figures.push(f);
        console.log(
          `transfer txns  accounts ${String(accounts).padStart(5)}  clients ${String(clients).padStart(2)}: ` +
            `${f.committedPerSecond.toFixed(0).padStart(6)} committed/s  ` +
            `(${f.committed} committed, ${f.aborted} aborted attempts, p50 ${f.p50Ms.toFixed(2)} ms, p99 ${f.p99Ms.toFixed(2)} ms)`,
        );
      }
    }
  } finally {
    for (const kv of kvs) kv.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return { name: 'txn', figures };
}

export const section = {
  name: 'txn',
  description: 'committed Percolator transfer transactions/s over gRPC on loopback (1 and 8 clients; 1000 and 10 accounts)',
  run: runTxnBench,
};
