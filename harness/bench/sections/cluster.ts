/**
 * RawPut through a real 3-store cluster (tinyscheduler-server and three tinykv-server processes on loopback,
 * every put replicated by raft) beside the standalone server, in the same run: 64 concurrent clients in
 * closed loops, 100-byte values. The cluster's clients route through ClusterClient (region cache, one
 * region: the regions are set too large to split). Figures are printed, never asserted. BENCH_MS (default
 * 2000) sets the length of one measurement.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { kvrpcpb } from '#proto';
import { ClusterClient } from '@impl/kv/client/cluster-client.ts';
import { RawClient } from '@impl/kv/server/raw-client.ts';
import { RealRuntime } from '@impl/runtime/real-runtime.ts';
import { SchedulerRpcClient } from '@impl/scheduler/client/scheduler-rpc-client.ts';
import { startServer, stopAll, type ServerProcess } from '../../real-cluster/processes.ts';
import type { BenchSection } from '../run.ts';

const MEASURE_MS = Number(process.env.BENCH_MS ?? 2000);
const WARMUP_MS = 500;
const CLIENTS = 64;
const VALUE = new Uint8Array(100).fill(0x61);
const IMPL = path.resolve(process.env.IMPL ?? 'reference');

async function closedLoop(ms: number, op: (worker: number, i: number) => Promise<void>): Promise<number> {
  let ops = 0;
  const start = performance.now();
  const end = start + ms;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, worker) => {
      for (let i = 0; performance.now() < end; i++) {
        await op(worker, i);
        ops++;
      }
    }),
  );
  return ops / ((performance.now() - start) / 1000);
}

const key = (worker: number, i: number) => new TextEncoder().encode(`bench-${String(worker).padStart(2, '0')}-${i}`);

async function standalone(dir: string, servers: ServerProcess[]): Promise<number> {
  const server = await startServer('standalone', IMPL, 'tinykv-server.ts', ['--path', path.join(dir, 'standalone'), '--addr', '127.0.0.1:0']);
  servers.push(server);
  const clients = Array.from({ length: CLIENTS }, () => new RawClient(server.address, { 'grpc.use_local_subchannel_pool': 1 }));
  const put = async (w: number, i: number) => {
    const resp = await clients[w]!.rawPut(kvrpcpb.RawPutRequest({ key: key(w, i), value: VALUE, cf: 'default' }));
    if (resp.error !== '' || resp.regionError !== undefined) throw new Error(`RawPut refused: ${resp.error}`);
  };
  try {
    await closedLoop(WARMUP_MS, put);
    return await closedLoop(MEASURE_MS, put);
  } finally {
    for (const c of clients) c.close();
    await stopAll([server]);
  }
}

async function cluster(dir: string, servers: ServerProcess[]): Promise<number> {
  const scheduler = await startServer('scheduler', IMPL, 'tinyscheduler-server.ts', ['--path', path.join(dir, 'scheduler'), '--addr', '127.0.0.1:0']);
  servers.push(scheduler);
  const big = ['--test-config', '--region-max-size', String(1 << 30), '--region-split-size', String(1 << 29)];
  for (let i = 1; i <= 3; i++) {
    servers.push(await startServer(`store-${i}`, IMPL, 'tinykv-server.ts', ['--scheduler', scheduler.address, '--path', path.join(dir, `store-${i}`), '--addr', '127.0.0.1:0', ...big]));
  }
  const runtime = new RealRuntime({ name: 'bench' });
  const sched = new SchedulerRpcClient(scheduler.address, { runtime });
  await sched.connect(10_000);
  const client = new ClusterClient(sched, { runtime });
  try {
    // Wait for the first region to have its 3 members (the replica checker adds them).
    const deadline = performance.now() + 30_000;
    while ((await sched.scanRegions(new Uint8Array(0), new Uint8Array(0), 0)).some((r) => r.region.peers.length < 3)) {
      if (performance.now() > deadline) throw new Error('the first region did not get 3 members in 30 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const put = (w: number, i: number) => client.rawPut(key(w, i), VALUE);
    await closedLoop(WARMUP_MS, put);
    return await closedLoop(MEASURE_MS, put);
  } finally {
    client.close();
    sched.close();
    await runtime.shutdown();
  }
}

export const section: BenchSection = {
  name: 'cluster',
  description: `RawPut at ${CLIENTS} clients through a 3-store cluster, as a share of the standalone server`,
  async run() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinykv-bench-cluster-'));
    const servers: ServerProcess[] = [];
    try {
      const alone = await standalone(dir, servers);
      console.log(`cluster: standalone server  RawPut ${CLIENTS} clients ${Math.round(alone).toLocaleString('en-US').padStart(8)} ops/s`);
      const three = await cluster(dir, servers);
      console.log(`cluster: 3-store cluster    RawPut ${CLIENTS} clients ${Math.round(three).toLocaleString('en-US').padStart(8)} ops/s`);
      const share = three / alone;
      console.log(`cluster: the cluster does ${(share * 100).toFixed(0)}% of the standalone server's rate (aim: 40% or more)`);
      return { name: 'cluster', standaloneOpsPerSecond: alone, clusterOpsPerSecond: three, share };
    } finally {
      await stopAll(servers);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
