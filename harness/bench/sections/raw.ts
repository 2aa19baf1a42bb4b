/**
 * Raw API throughput over gRPC on loopback, beside two ceilings measured in the same run:
 *
 *   engine   the storage engine's own put (one-key WriteBatch) and get rate, in process, no gRPC;
 *   no-op    a gRPC server with the same service definition and codec whose RawPut/RawGet answer an empty
 *            response at once: the cost of the wire alone.
 *   server   the real Server on StandaloneStorage.
 *
 * Each is measured with 1 client and with 64 concurrent clients (each its own channel, a closed loop:
 * the next request goes out when the previous answer is in). The gRPC servers run in a child process, so
 * clients and server each get a core. Both gRPC servers run side by side and their measurements alternate
 * (best of BENCH_ROUNDS kept), so a change in machine load hits both alike.
 *
 * Besides ops/s, each gRPC figure carries the server process's CPU time per request (all threads, LevelDB's
 * included). When the load generator is the bottleneck (likely on a 2-core machine) ops/s says little about
 * the server; CPU per request still gives its capacity, and the "server CPU capacity" ratios compare those.
 * Figures are printed, never asserted. BENCH_MS (default 2000) sets the length of one measurement.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Engine, WriteBatch } from '@impl/kv/storage/engine.ts';
import { RawClient } from '@impl/kv/server/raw-client.ts';
import { SeededRandom } from '@impl/util/prng.ts';

const MEASURE_MS = Number(process.env.BENCH_MS ?? 2000);
const WARMUP_MS = 400;
/** Alternating rounds per gRPC measurement; the best of them is kept. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONCURRENCY = [1, 64] as const;
const VALUE = new Uint8Array(100).fill(0x61);
/** Keys preloaded for the get measurements. */
const GET_KEYS = 10_000;

const SERVER_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'raw-server.ts');

interface RawFigure {
  target: 'engine' | 'no-op' | 'server';
  op: 'put' | 'get';
  clients: number;
  ops: number;
  seconds: number;
  opsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** gRPC targets: CPU time the server process spent per request (all its threads), in µs. */
  serverCpuUsPerOp?: number;
}

interface RawBenchResult {
  name: 'raw';
  figures: RawFigure[];
  ratios: Record<string, number>;
}

const key = (n: number): Uint8Array => new TextEncoder().encode(`key-${String(n).padStart(10, '0')}`);

/** Run `op` in `clients` closed loops for `ms`; count completions and latencies. */
async function closedLoop(clients: number, ms: number, op: (worker: number, i: number) => Promise<void>) {
  const latencies: number[] = [];
  const start = performance.now();
  const end = start + ms;
  await Promise.all(
    Array.from({ length: clients }, async (_, worker) => {
      for (let i = 0; performance.now() < end; i++) {
        const t0 = performance.now();
        await op(worker, i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { ops: latencies.length, seconds, p50Ms: at(0.5), p99Ms: at(0.99) };
}

async function measure(
  target: RawFigure['target'],
  op: RawFigure['op'],
  clients: number,
  body: (worker: number, i: number) => Promise<void>,
  serverCpu?: () => Promise<number>,
): Promise<RawFigure> {
  await closedLoop(clients, WARMUP_MS, body);
  const cpuBefore = await serverCpu?.();
  const r = await closedLoop(clients, MEASURE_MS, body);
  const cpuAfter = await serverCpu?.();
  const figure: RawFigure = { target, op, clients, ...r, opsPerSecond: r.ops / r.seconds };
  if (cpuBefore !== undefined && cpuAfter !== undefined) figure.serverCpuUsPerOp = (cpuAfter - cpuBefore) / r.ops;
  console.log(
    `raw: ${`${target} ${op}`.padEnd(12)} ${String(clients).padStart(2)} client(s) ` +
      `${Math.round(figure.opsPerSecond).toLocaleString('en-US').padStart(9)} ops/s  ` +
      `p50 ${figure.p50Ms.toFixed(2)} ms  p99 ${figure.p99Ms.toFixed(2)} ms` +
      (figure.serverCpuUsPerOp === undefined ? '' : `  server CPU ${figure.serverCpuUsPerOp.toFixed(0)} µs/op`),
  );
  return figure;
}

interface BenchServer {
  address: string;
  /** CPU time the server process has used so far, in µs. */
  cpu: () => Promise<number>;
  stop: () => Promise<void>;
}

/** Start raw-server.ts in a child process and wait for its address. */
async function startServer(args: string[]): Promise<BenchServer> {
  const proc: ChildProcess = spawn(process.execPath, ['--import', 'tsx', SERVER_SCRIPT, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  // stdout lines go to whoever waits for them: first the "listening" line, then "cpu" answers.
  const waiting: ((line: string) => boolean)[] = [];
  let pendingOut = '';
  proc.stdout!.on('data', (d: Buffer) => {
    pendingOut += d.toString();
    const lines = pendingOut.split('\n');
    pendingOut = lines.pop()!;
    for (const line of lines) {
      const at = waiting.findIndex((take) => take(line));
      if (at >= 0) waiting.splice(at, 1);
    }
  });
  const nextLine = (pattern: RegExp) =>
    new Promise<string>((resolve, reject) => {
      waiting.push((line) => {
        const m = pattern.exec(line);
        if (m) resolve(m[1]);
        return m !== null;
      });
      exited.then(() => reject(new Error(`bench server ${args.join(' ')} exited`)));
    });
  const address = await nextLine(/^listening on (\S+)/);
  return {
    address,
    cpu: async () => {
      const answer = nextLine(/^cpu (\d+)/);
      proc.stdin!.write('cpu\n');
      return Number(await answer);
    },
    stop: async () => {
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** Clients of one gRPC server, with the keys the gets read preloaded (harmless for the no-op server). */
interface Connected {
  target: 'no-op' | 'server';
  server: BenchServer;
  clients: RawClient[];
}

async function connect(target: 'no-op' | 'server', server: BenchServer): Promise<Connected> {
  const address = server.address;
  // Separate channels; grpc-js multiplexes channels to one address over one connection, as a real client
  // library does (BENCH_CONNECTIONS=each gives every client its own connection instead).
  const own = process.env.BENCH_CONNECTIONS === 'each' ? { 'grpc.use_local_subchannel_pool': 1 } : {};
  const clients = Array.from({ length: Math.max(...CONCURRENCY) }, () => new RawClient(address, own));
  for (let n = 0; n < GET_KEYS; n += clients.length) {
    await Promise.all(clients.map((c, w) => (n + w < GET_KEYS ? c.rawPut({ key: key(n + w), value: VALUE, cf: 'default' }) : undefined)));
  }
  return { target, server, clients };
}

/** One measurement of `op` at `n` clients against one server. */
function measureGrpc(connected: Connected, op: 'put' | 'get', n: number, round: number): Promise<RawFigure> {
  const { target, clients, server } = connected;
  if (op === 'put') {
    return measure(target, 'put', n, async (w, i) => {
      // Fresh keys every round and worker: each put inserts.
      const resp = await clients[w].rawPut({ key: key(GET_KEYS + round * 1_000_000_000 + w * 10_000_000 + i), value: VALUE, cf: 'default' });
      if (resp.error !== '') throw new Error(`RawPut failed: ${resp.error}`);
    }, server.cpu);
  }
  const rng = new SeededRandom(7 + round);
  return measure(target, 'get', n, async (w) => {
    const resp = await clients[w].rawGet({ key: key(rng.nextInt(GET_KEYS)), cf: 'default' });
    if (resp.error !== '') throw new Error(`RawGet failed: ${resp.error}`);
    if (target === 'server' && resp.notFound) throw new Error('RawGet: a preloaded key is missing');
  }, server.cpu);
}

async function measureEngine(dir: string): Promise<RawFigure[]> {
  const engine = await Engine.open(path.join(dir, 'engine'));
  const figures: RawFigure[] = [];
  try {
    for (let n = 0; n < GET_KEYS; n += 1000) {
      const wb = new WriteBatch();
      for (let k = n; k < n + 1000; k++) wb.putCF('default', key(k), VALUE);
      await engine.write(wb);
    }
    for (const n of CONCURRENCY) {
      figures.push(
        await measure('engine', 'put', n, (w, i) =>
          engine.write(new WriteBatch().putCF('default', key(GET_KEYS + w * 10_000_000 + i), VALUE)),
        ),
      );
    }
    const rng = new SeededRandom(7);
    for (const n of CONCURRENCY) {
      figures.push(
        await measure('engine', 'get', n, async () => {
          if ((await engine.getCF('default', key(rng.nextInt(GET_KEYS)))) === undefined) throw new Error('engine get: key missing');
        }),
      );
    }
  } finally {
    await engine.close();
  }
  return figures;
}

async function runRawBench(): Promise<RawBenchResult> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tinykv-bench-raw-'));
  const figures: RawFigure[] = [];
  try {
    figures.push(...(await measureEngine(dir)));

    // Both servers run side by side and their measurements alternate, so a change in the machine's load
    // during the run hits both alike; each figure kept is the best of ROUNDS.
    const noop = await startServer(['noop']);
    const real = await startServer(['standalone', path.join(dir, 'server')]);
    const servers = [await connect('no-op', noop), await connect('server', real)];
    try {
      for (const op of ['put', 'get'] as const) {
        for (const n of CONCURRENCY) {
          const best = new Map<string, RawFigure>();
          for (let round = 0; round < ROUNDS; round++) {
            for (const server of servers) {
              const f = await measureGrpc(server, op, n, round);
              if ((best.get(f.target)?.opsPerSecond ?? -1) < f.opsPerSecond) best.set(f.target, f);
            }
          }
          figures.push(...best.values());
        }
      }
    } finally {
      for (const server of servers) for (const c of server.clients) c.close();
      await noop.stop();
      await real.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const find = (target: RawFigure['target'], op: RawFigure['op'], clients: number) =>
    figures.find((f) => f.target === target && f.op === op && f.clients === clients)!;
  const ratios: Record<string, number> = {};
  for (const op of ['put', 'get'] as const) {
    const Op = op === 'put' ? 'RawPut' : 'RawGet';
    for (const n of CONCURRENCY) {
      const server = find('server', op, n);
      const noop = find('no-op', op, n);
      ratios[`${Op}@${n} / no-op@${n}`] = server.opsPerSecond / noop.opsPerSecond;
      // Capacity: requests per server CPU-second. Unlike ops/s it does not depend on the load generator
      // keeping up (on a small machine the clients, not the server, often run out of CPU first).
      if (server.serverCpuUsPerOp !== undefined && noop.serverCpuUsPerOp !== undefined) {
        ratios[`${Op}@${n} / no-op@${n} (server CPU capacity)`] = noop.serverCpuUsPerOp / server.serverCpuUsPerOp;
      }
      ratios[`${Op}@${n} / engine ${op}@${n}`] = server.opsPerSecond / find('engine', op, n).opsPerSecond;
    }
  }
  console.log('raw: best figures:');
  for (const f of figures) {
    const cpu = f.serverCpuUsPerOp === undefined ? '' : `   server CPU ${f.serverCpuUsPerOp.toFixed(0).padStart(4)} µs/op`;
    console.log(`raw:   ${`${f.target} ${f.op} @${f.clients}`.padEnd(18)} ${Math.round(f.opsPerSecond).toLocaleString('en-US').padStart(9)} ops/s${cpu}`);
  }
  for (const [label, value] of Object.entries(ratios)) {
    console.log(`raw: ${label.padEnd(50)} ${(value * 100).toFixed(0).padStart(4)} %`);
  }
  return { name: 'raw', figures, ratios };
}

export const section = {
  name: 'raw',
  description: 'RawPut/RawGet over gRPC (1 and 64 clients) beside the engine and a no-op gRPC handler',
  run: runRawBench,
};
